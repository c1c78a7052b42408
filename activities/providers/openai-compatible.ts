// Chat and embeddings over any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM, SGLang, Ollama, llama.cpp
// server, Together).
import OpenAI from 'openai';
import type { APIPromise } from 'openai/core/api-promise';
import type { OpenAiCompatibleProviderConfig } from '../../core/config';
import type { ChatRequest, ChatResponse, Usage } from '../../core/types';
import type { ChatBackend, RateLimitObserver } from './chat';
import { serverMessageOf } from './errors';
import { providerRateLimit } from './rate-limit-headers';
import { providerApiKey } from './secrets';

/**
 * The SDK reads a failed reply's message only from OpenAI's `{error: {...}}`; vLLM and SGLang answer a flat
 * `{object: "error", message, type, code}`, which it would report as "(no body)". Such a body is passed on in
 * OpenAI's shape, so the error keeps the server's words and its status decides the retry as before.
 */
class ServerMessageClient extends OpenAI {
  protected override makeStatusError(status: number, error: object, message: string | undefined, headers: Headers) {
    const body = error as Record<string, unknown> | undefined;
    const flatMessage = body && body.error === undefined ? serverMessageOf(body) : undefined;
    const reshaped = flatMessage === undefined ? error : { error: { ...body, message: flatMessage } };
    return super.makeStatusError(status, reshaped, message, headers);
  }
}

/** The SDK never retries on its own: Temporal's retry policy is the single place retries happen. */
export function openAiClient(config: OpenAiCompatibleProviderConfig, env: NodeJS.ProcessEnv): OpenAI {
  return new ServerMessageClient({
    apiKey: providerApiKey(config, env),
    baseURL: config.baseURL,
    maxRetries: 0,
    timeout: config.requestTimeoutSeconds * 1000,
  });
}

/**
 * Awaits an SDK call with its response (`withResponse()`), handing the rate-limit headers to `observe`: from the
 * answer, or from the error of a failed reply (a 429 above all). Errors pass on as thrown, classified in errors.ts.
 */
async function observed<T>(call: APIPromise<T>, observe: RateLimitObserver | undefined): Promise<T> {
  try {
    const { data, response } = await call.withResponse();
    observe?.(providerRateLimit(response.headers));
    return data;
  } catch (err) {
    if (err instanceof OpenAI.APIError && err.headers) observe?.(providerRateLimit(err.headers));
    throw err;
  }
}

export class OpenAiCompatibleChat implements ChatBackend {
  private readonly client: OpenAI;
  constructor(config: OpenAiCompatibleProviderConfig, env: NodeJS.ProcessEnv) {
    this.client = openAiClient(config, env);
  }

  async complete(request: ChatRequest, signal?: AbortSignal, observe?: RateLimitObserver): Promise<ChatResponse> {
    const completion = await observed(
      this.client.chat.completions.create(chatCompletionBody(request), { signal }),
      observe,
    );
    return chatResponseOf(completion);
  }
}

/** The body of a chat completion request, online or as a line of a batch. */
export function chatCompletionBody(request: ChatRequest): OpenAI.ChatCompletionCreateParamsNonStreaming {
  return {
    model: request.model,
    messages: request.messages,
    temperature: request.temperature,
    max_tokens: request.max_tokens,
    n: request.n,
    seed: request.seed,
    logprobs: request.logprobs,
    top_logprobs: request.logprobs ? request.top_logprobs : undefined,
    stop: request.stop,
    // llama.cpp server's own field (per-request LoRA selection); the SDK sends unknown fields as they are.
    ...(request.lora ? { lora: request.lora } : {}),
  };
}

/** A chat completion's answer, online or from a batch's output line; throws on a body that is none. */
export function chatResponseOf(completion: OpenAI.ChatCompletion): ChatResponse {
  if (!Array.isArray(completion?.choices)) throw new SyntaxError('Malformed chat completion: no choices array');
  return {
    model: completion.model,
    choices: completion.choices.map((choice) => ({
      text: choice.message?.content ?? '',
      finish_reason: choice.finish_reason ?? 'stop',
      logprobs:
        choice.logprobs?.content?.map((t) => ({
          token: t.token,
          logprob: t.logprob,
          top: t.top_logprobs?.map((alt) => ({ token: alt.token, logprob: alt.logprob })),
        })) ?? null,
    })),
    usage: usageOf(completion.usage),
  };
}

export interface EmbeddingBackend {
  embed(
    texts: string[],
    signal?: AbortSignal,
    observe?: RateLimitObserver,
  ): Promise<{ vectors: number[][]; usage: Usage }>;
}

export class OpenAiCompatibleEmbeddings implements EmbeddingBackend {
  private readonly client: OpenAI;
  constructor(
    config: OpenAiCompatibleProviderConfig,
    env: NodeJS.ProcessEnv,
    private readonly model: string,
  ) {
    this.client = openAiClient(config, env);
  }

  async embed(
    texts: string[],
    signal?: AbortSignal,
    observe?: RateLimitObserver,
  ): Promise<{ vectors: number[][]; usage: Usage }> {
    const result = await observed(
      this.client.embeddings.create({ model: this.model, input: texts }, { signal }),
      observe,
    );
    if (!Array.isArray(result?.data) || result.data.length !== texts.length)
      throw new SyntaxError('Malformed embeddings response');
    const vectors = [...result.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
    return { vectors, usage: { prompt_tokens: result.usage?.prompt_tokens ?? 0, completion_tokens: 0 } };
  }
}

function usageOf(usage: OpenAI.CompletionUsage | undefined): Usage {
  const cached = usage?.prompt_tokens_details?.cached_tokens;
  return {
    prompt_tokens: usage?.prompt_tokens ?? 0,
    completion_tokens: usage?.completion_tokens ?? 0,
    // Only where the provider reports a prompt-cache hit, so answers without one are stored as before.
    ...(cached ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
  };
}
