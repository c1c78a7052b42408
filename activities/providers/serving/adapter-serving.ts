// One interface for making a trained LoRA adapter callable, whatever engine serves it, and the HTTP plumbing the
// runtime-loading engines (vLLM, SGLang, llama.cpp's server) share.
import type { OpenAiCompatibleProviderConfig } from '../../../core/config';
import { ProviderHttpError, serverMessage } from '../errors';

/** An adapter an engine currently serves; `path` is null when the engine does not say which file is behind it. */
export interface ServedAdapter {
  name: string;
  path: string | null;
}

/** What a chat request must carry to go through the adapter, beyond naming it as the model. */
export interface AdapterSelection {
  /** llama.cpp server: the preloaded adapter's id, selected per request. */
  loraId?: number;
}

export interface AdapterServing {
  /**
   * False where adapters exist only from the server's start (llama.cpp server): `load` then only finds the adapter
   * among those and says how to select it, and there is nothing to unload.
   */
  readonly loadsAtRuntime: boolean;
  /** Loads the adapter under `name`; returns how requests select it. */
  load(name: string, path: string): Promise<AdapterSelection>;
  /** Unloads `name`; an adapter already gone is not an error (a restarted server forgot it). */
  unload(name: string): Promise<void>;
  listServed(): Promise<ServedAdapter[]>;
  /** One small chat request through the adapter: proof that it answers. */
  probe(name: string, selection: AdapterSelection): Promise<void>;
}

/** Plain JSON over HTTP to one serving server, failing as ProviderHttpError so errors.ts decides on retries. */
export class ServingHttp {
  constructor(
    readonly provider: OpenAiCompatibleProviderConfig,
    private readonly apiKey: string | undefined,
  ) {}

  /** The provider's OpenAI-compatible base URL (ending in /v1 for vLLM and SGLang). */
  get baseURL(): string {
    if (!this.provider.baseURL) throw new Error('Adapter serving needs the provider to set its baseURL.');
    return this.provider.baseURL.replace(/\/+$/, '');
  }

  /** The server root, where SGLang and llama.cpp keep their admin routes: the base URL without its /v1. */
  get rootURL(): string {
    return this.baseURL.replace(/\/v1$/, '');
  }

  async request(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ text: string; json: () => unknown }> {
    const response = await fetch(url, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.provider.requestTimeoutSeconds * 1000),
    });
    const text = await response.text();
    if (!response.ok) {
      const headers = Object.fromEntries(response.headers.entries());
      throw new ProviderHttpError(`${method} ${url}: ${serverMessage(text)}`, response.status, headers);
    }
    return { text, json: () => JSON.parse(text) };
  }

  /** A one-token chat through `model`, with any extra body fields the engine needs to select the adapter. */
  async probe(model: string, extra: Record<string, unknown> = {}): Promise<void> {
    const reply = await this.request('POST', `${this.baseURL}/chat/completions`, {
      model,
      messages: [{ role: 'user', content: 'Say OK.' }],
      max_tokens: 1,
      temperature: 0,
      ...extra,
    });
    if (!Array.isArray((reply.json() as { choices?: unknown })?.choices))
      throw new SyntaxError(`Malformed probe reply from ${model}: no choices`);
  }
}
