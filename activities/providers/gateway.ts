// Every model call of the worker passes through here: the response cache, the per-provider rate and
// concurrency limits shared by all activities of this worker, and token/cost accounting.
import Bottleneck from 'bottleneck';
import type { ProviderConfig, ProvidersConfig } from '../../core/config';
import type { ChatRequest, ChatResponse, StageUsage, Usage } from '../../core/types';
import { ResponseCache } from '../../lib/response-cache';
import type { ChatBackend } from './chat';
import { EmbeddingBackend, OpenAiCompatibleChat, OpenAiCompatibleEmbeddings } from './openai-compatible';

interface Limiters {
  fingerprint: string;
  requests: Bottleneck;
  tokens?: Bottleneck;
}

export interface ChatCall {
  response: ChatResponse;
  usage: StageUsage;
}

function provider(providers: ProvidersConfig, name: string): ProviderConfig {
  const config = providers[name];
  if (!config) throw new Error(`Unknown provider "${name}": expected one of ${Object.keys(providers).join(', ') || '(none configured)'}.`);
  return config;
}

/** Identifies the endpoint a response came from, without the key: part of every cache key. */
function endpointIdentity(config: ProviderConfig): string {
  return config.kind === 'llama-cpp' ? `llama-cpp:${config.modelPath}` : `openai-compatible:${config.baseURL ?? 'https://api.openai.com/v1'}`;
}

export function costOf(config: ProviderConfig, usage: Usage): number {
  if (config.kind !== 'openai-compatible') return 0;
  return (usage.prompt_tokens * config.prices.inputPerMillionTokens + usage.completion_tokens * config.prices.outputPerMillionTokens) / 1e6;
}

function estimateTokens(request: ChatRequest): number {
  const promptChars = request.messages.reduce((sum, m) => sum + m.content.length, 0);
  return Math.ceil(promptChars / 4) + (request.max_tokens ?? 256) * (request.n ?? 1);
}

export class ModelGateway {
  private readonly chatBackends = new Map<string, { fingerprint: string; backend: ChatBackend }>();
  private readonly limiters = new Map<string, Limiters>();

  constructor(
    private readonly cache: ResponseCache,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async chat(providers: ProvidersConfig, providerName: string, request: ChatRequest, signal?: AbortSignal): Promise<ChatCall> {
    const config = provider(providers, providerName);
    const key = ResponseCache.key({ endpoint: endpointIdentity(config), request });
    const cached = await this.cache.get<ChatResponse>(key);
    if (cached) return { response: cached, usage: { calls: 0, cachedCalls: 1, promptTokens: 0, completionTokens: 0, costUsd: 0 } };

    const backend = await this.chatBackend(providerName, config);
    const response = await this.limited(providerName, config, estimateTokens(request), () => {
      signal?.throwIfAborted();
      return backend.complete(request, signal);
    });
    await this.cache.set(key, response);
    return {
      response,
      usage: {
        calls: 1,
        cachedCalls: 0,
        promptTokens: response.usage.prompt_tokens,
        completionTokens: response.usage.completion_tokens,
        costUsd: costOf(config, response.usage),
      },
    };
  }

  embeddings(providers: ProvidersConfig, providerName: string, model: string): EmbeddingBackend {
    const config = provider(providers, providerName);
    if (config.kind !== 'openai-compatible') throw new Error(`Provider "${providerName}" cannot embed: embeddings need an openai-compatible provider.`);
    const backend = new OpenAiCompatibleEmbeddings(config, this.env, model);
    return {
      embed: async (texts, signal) => {
        const key = ResponseCache.key({ endpoint: endpointIdentity(config), embeddings: model, texts });
        const cached = await this.cache.get<{ vectors: number[][]; usage: Usage }>(key);
        if (cached) return { vectors: cached.vectors, usage: { prompt_tokens: 0, completion_tokens: 0 } };
        const tokens = texts.reduce((sum, t) => sum + Math.ceil(t.length / 4), 0);
        const result = await this.limited(providerName, config, tokens, () => backend.embed(texts, signal));
        await this.cache.set(key, result);
        return result;
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.chatBackends.values()].map(({ backend }) => backend.close?.()));
    await Promise.all([...this.limiters.values()].map((l) => Promise.all([l.requests.stop(), l.tokens?.stop()])));
    this.chatBackends.clear();
    this.limiters.clear();
  }

  private async chatBackend(name: string, config: ProviderConfig): Promise<ChatBackend> {
    const fingerprint = JSON.stringify(config);
    const existing = this.chatBackends.get(name);
    if (existing?.fingerprint === fingerprint) return existing.backend;
    await existing?.backend.close?.();
    const backend =
      config.kind === 'llama-cpp'
        ? new (await import('./llama-cpp-chat')).LlamaCppChat(config) // loads native code only when used
        : new OpenAiCompatibleChat(config, this.env);
    this.chatBackends.set(name, { fingerprint, backend });
    return backend;
  }

  /** Runs `call` under the provider's worker-wide limits: concurrency, requests per minute, tokens per minute. */
  private limited<T>(name: string, config: ProviderConfig, estimatedTokens: number, call: () => Promise<T>): Promise<T> {
    const limiters = this.limitersFor(name, config);
    const run = () => limiters.requests.schedule(call);
    if (!limiters.tokens || !config.tokensPerMinute) return run();
    return limiters.tokens.schedule({ weight: Math.min(estimatedTokens, config.tokensPerMinute) }, run);
  }

  private limitersFor(name: string, config: ProviderConfig): Limiters {
    const fingerprint = JSON.stringify([config.maxConcurrency, config.requestsPerMinute, config.tokensPerMinute]);
    const existing = this.limiters.get(name);
    if (existing?.fingerprint === fingerprint) return existing;
    const limiters: Limiters = {
      fingerprint,
      // Spacing starts by just over 60000/R ms keeps every sliding minute at or under R requests.
      requests: new Bottleneck({
        maxConcurrent: config.maxConcurrency,
        minTime: config.requestsPerMinute ? Math.floor(60000 / config.requestsPerMinute) + 1 : 0,
      }),
      tokens: config.tokensPerMinute
        ? new Bottleneck({ reservoir: config.tokensPerMinute, reservoirRefreshAmount: config.tokensPerMinute, reservoirRefreshInterval: 60000 })
        : undefined,
    };
    this.limiters.set(name, limiters);
    return limiters;
  }
}
