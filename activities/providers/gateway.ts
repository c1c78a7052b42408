// Every model call of the worker passes through here: the response cache, the per-provider rate and
// concurrency limits shared by all activities of this worker, and token/cost accounting.
import type { ProviderConfig, ProvidersConfig } from '../../core/config';
import type { ChatRequest, ChatResponse, StageUsage, Usage } from '../../core/types';
import { ResponseCache } from '../../lib/response-cache';
import type { ChatBackend } from './chat';
import { LlamaCppChat } from './llama-cpp-chat';
import { EmbeddingBackend, OpenAiCompatibleChat, OpenAiCompatibleEmbeddings } from './openai-compatible';

/**
 * A provider's worker-wide limits as one FIFO queue: at most `maxConcurrent` calls in flight, starts at least
 * `minTimeMs` apart (requests per minute), and at most `tokensPerMinute` estimated tokens started per minute. A call
 * whose signal has aborted by its turn leaves the queue without using a start, so a failed shard's queued calls do not
 * spend the provider's rate. (It replaces bottleneck, whose hand-off from one job to the next cost about 0.5 ms of CPU
 * per call and left slots idle between calls; see BENCHMARKS.md.)
 */
export class ProviderLimiter {
  private active = 0;
  private lastStart = -Infinity;
  private tokens: number;
  private refilledAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: { weight: number; signal?: AbortSignal; start: () => void; fail: (err: unknown) => void }[] =
    [];

  constructor(private readonly limits: { maxConcurrent: number; minTimeMs: number; tokensPerMinute?: number }) {
    this.tokens = limits.tokensPerMinute ?? Infinity;
  }

  async run<T>(weight: number, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    await new Promise<void>((start, fail) => {
      this.queue.push({ weight, signal, start, fail });
      this.drain();
    });
    try {
      return await call();
    } finally {
      this.active--;
      this.drain();
    }
  }

  /** Starts queued calls while the limits allow; otherwise waits on one timer for the earliest next start. */
  private drain(): void {
    const { maxConcurrent, minTimeMs, tokensPerMinute } = this.limits;
    while (this.queue.length > 0 && this.active < maxConcurrent) {
      const head = this.queue[0];
      if (head.signal?.aborted) {
        this.queue.shift();
        head.fail(head.signal.reason);
        continue;
      }
      const now = Date.now();
      if (tokensPerMinute && now - this.refilledAt >= 60_000) {
        this.tokens = tokensPerMinute;
        this.refilledAt = now;
      }
      const wait = Math.max(
        this.lastStart + minTimeMs - now,
        head.weight > this.tokens ? this.refilledAt + 60_000 - now : 0,
      );
      if (wait > 0) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, wait);
        return;
      }
      this.queue.shift();
      this.active++;
      this.lastStart = now;
      this.tokens -= head.weight;
      head.start();
    }
  }

  /** Fails every queued call; calls in flight finish. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of this.queue.splice(0)) entry.fail(new Error('The model gateway was closed.'));
  }
}

interface Limiters {
  fingerprint: string;
  limiter: ProviderLimiter;
}

export interface ChatCall {
  response: ChatResponse;
  usage: StageUsage;
}

function provider(providers: ProvidersConfig, name: string): ProviderConfig {
  const config = providers[name];
  if (!config)
    throw new Error(
      `Unknown provider "${name}": expected one of ${Object.keys(providers).join(', ') || '(none configured)'}.`,
    );
  return config;
}

/**
 * Identifies the endpoint a response came from, without the key, and the provider's cache salt: part of every
 * cache key.
 */
function endpointIdentity(config: ProviderConfig): string {
  const endpoint =
    config.kind === 'llama-cpp'
      ? `llama-cpp:${config.modelPath}`
      : `openai-compatible:${config.baseURL ?? 'https://api.openai.com/v1'}`;
  return config.cacheSalt ? `${endpoint}#${config.cacheSalt}` : endpoint;
}

export function costOf(config: ProviderConfig, usage: Usage): number {
  if (config.kind !== 'openai-compatible') return 0;
  return (
    (usage.prompt_tokens * config.prices.inputPerMillionTokens +
      usage.completion_tokens * config.prices.outputPerMillionTokens) /
    1e6
  );
}

function worstCaseRequestTokens(request: ChatRequest): number {
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

  async chat(
    providers: ProvidersConfig,
    providerName: string,
    request: ChatRequest,
    signal?: AbortSignal,
  ): Promise<ChatCall> {
    const config = provider(providers, providerName);
    const key = ResponseCache.key({ endpoint: endpointIdentity(config), request });
    const cached = await this.cache.get<ChatResponse>(key);
    if (cached)
      return {
        response: cached,
        usage: { calls: 0, cachedCalls: 1, promptTokens: 0, completionTokens: 0, costUsd: 0 },
      };

    const backend = await this.chatBackend(providerName, config);
    const response = await this.limited(
      providerName,
      config,
      worstCaseRequestTokens(request),
      () => backend.complete(request, signal),
      signal,
    );
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
    if (config.kind !== 'openai-compatible')
      throw new Error(`Provider "${providerName}" cannot embed: embeddings need an openai-compatible provider.`);
    const backend = new OpenAiCompatibleEmbeddings(config, this.env, model);
    return {
      embed: async (texts, signal) => {
        const key = ResponseCache.key({ endpoint: endpointIdentity(config), embeddings: model, texts });
        const cached = await this.cache.get<{ vectors: number[][]; usage: Usage }>(key);
        if (cached) return { vectors: cached.vectors, usage: { prompt_tokens: 0, completion_tokens: 0 } };
        const tokens = texts.reduce((sum, t) => sum + Math.ceil(t.length / 4), 0);
        const result = await this.limited(providerName, config, tokens, () => backend.embed(texts, signal), signal);
        await this.cache.set(key, result);
        return result;
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.chatBackends.values()].map(({ backend }) => backend.close?.()));
    for (const { limiter } of this.limiters.values()) limiter.stop();
    this.chatBackends.clear();
    this.limiters.clear();
  }

  private async chatBackend(name: string, config: ProviderConfig): Promise<ChatBackend> {
    const fingerprint = JSON.stringify(config);
    const existing = this.chatBackends.get(name);
    if (existing?.fingerprint === fingerprint) return existing.backend;
    await existing?.backend.close?.();
    const backend = config.kind === 'llama-cpp' ? new LlamaCppChat(config) : new OpenAiCompatibleChat(config, this.env);
    this.chatBackends.set(name, { fingerprint, backend });
    return backend;
  }

  /** Runs `call` under the provider's worker-wide limits: concurrency, requests per minute, tokens per minute. */
  private limited<T>(
    name: string,
    config: ProviderConfig,
    estimatedTokens: number,
    call: () => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const fingerprint = JSON.stringify([config.maxConcurrency, config.requestsPerMinute, config.tokensPerMinute]);
    let limits = this.limiters.get(name);
    if (limits?.fingerprint !== fingerprint) {
      limits = {
        fingerprint,
        limiter: new ProviderLimiter({
          maxConcurrent: config.maxConcurrency,
          // Starts just over 60000/R ms apart keep every sliding minute at or under R requests.
          minTimeMs: config.requestsPerMinute ? Math.floor(60000 / config.requestsPerMinute) + 1 : 0,
          tokensPerMinute: config.tokensPerMinute,
        }),
      };
      this.limiters.set(name, limits);
    }
    const weight = config.tokensPerMinute ? Math.min(estimatedTokens, config.tokensPerMinute) : 0;
    return limits.limiter.run(weight, call, signal);
  }
}
