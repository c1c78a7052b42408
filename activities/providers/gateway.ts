// Every model call of the worker passes through here: the response cache, the per-provider rate and
// concurrency limits shared by all activities of this worker, and token/cost accounting.
import { batchTokenPrices, cachedInputShare, type ProviderConfig, type ProvidersConfig } from '../../core/config';
import { InvalidConfig, typedError } from '../../core/errors';
import type { ChatRequest, ChatResponse, StageUsage, Usage } from '../../core/types';
import { canonicalJson } from '../../lib/canonical-json';
import type { AdapterCopies } from '../../lib/adapter-archive';
import { ResponseCache, type CallCache } from '../../lib/response-cache';
import type { ChatBackend } from './chat';
import { LlamaCppChat } from './llama-cpp-chat';
import { OpenAiCompatibleChat, OpenAiCompatibleEmbeddings } from './openai-compatible';
import type { ProviderRateLimit } from './rate-limit-headers';

/**
 * The window the limits are kept over: the provider's minute and a second. The provider counts calls when they
 * arrive, and two calls a minute apart at the worker can arrive less than a minute apart when the first was delayed
 * longer on its way (4 workers sharing one account went 0.7% over its tokens per minute in a bare minute).
 */
const limitWindowMs = 61_000;

/**
 * A provider's worker-wide limits as one FIFO queue: at most `maxConcurrent` calls in flight, starts at least
 * `minTimeMs` apart (requests per minute), and at most `tokensPerMinute` estimated tokens started in any sliding
 * window of `limitWindowMs` (a window refilled in full every minute let twice the budget start around its edge).
 * What the provider last reported left (`observe`) also holds starts: none while no requests are left, nor a call
 * whose estimated tokens exceed the tokens left, until that count resets. A call whose signal has aborted by its turn
 * leaves the queue without using a start, so a failed shard's queued calls do not spend the provider's rate. (It
 * replaces bottleneck, whose hand-off from one job to the next cost about 0.5 ms of CPU per call and left slots idle
 * between calls; see BENCHMARKS.md.)
 */
export class ProviderLimiter {
  private active = 0;
  private lastStart = -Infinity;
  /** Calls started in the last minute with their estimated tokens, oldest first. */
  private recentStarts: { at: number; weight: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The provider's last count of what is left, less this limiter's starts since, until it resets. */
  private requestsLeft: { count: number; until: number } | undefined;
  private tokensLeft: { count: number; until: number } | undefined;
  private readonly queue: { weight: number; signal?: AbortSignal; start: () => void; fail: (err: unknown) => void }[] =
    [];

  constructor(private readonly limits: { maxConcurrent: number; minTimeMs: number; tokensPerMinute?: number }) {}

  async run<T>(weight: number, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    await new Promise<void>((start, fail) => {
      this.queue.push({ weight, signal, start, fail });
      this.drain();
    });
    let failed = false;
    try {
      return await call();
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      this.active--;
      // A failed call's slot is handed on in the next macrotask, after its caller has reacted in microtasks: a
      // shard that stops on a failure has dropped its queued calls by then, instead of starting the next one.
      if (failed) setImmediate(() => this.drain());
      else this.drain();
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
      const wait = Math.max(
        this.lastStart + minTimeMs - now,
        this.tokenWait(head.weight, now),
        this.providerWait(head.weight, now),
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
      if (tokensPerMinute) this.recentStarts.push({ at: now, weight: head.weight });
      if (this.requestsLeft) this.requestsLeft.count--;
      if (this.tokensLeft) this.tokensLeft.count -= head.weight;
      head.start();
    }
  }

  /** Milliseconds until `weight` more tokens fit in the sliding window: when enough of the oldest starts expire. */
  private tokenWait(weight: number, now: number): number {
    const { tokensPerMinute } = this.limits;
    if (!tokensPerMinute) return 0;
    this.recentStarts = this.recentStarts.filter((s) => s.at > now - limitWindowMs);
    let used = this.recentStarts.reduce((sum, s) => sum + s.weight, 0);
    for (const start of this.recentStarts) {
      if (used + weight <= tokensPerMinute) break;
      used -= start.weight;
      if (used + weight <= tokensPerMinute) return start.at + limitWindowMs - now;
    }
    return 0;
  }

  /**
   * Takes the provider's own count from a response's rate-limit headers (any response, a 429 included); a count
   * without its reset is ignored, since nothing would say when a hold on it ends.
   */
  observe(limit: ProviderRateLimit, now = Date.now()): void {
    if (limit.remainingRequests !== undefined && limit.resetRequestsMs !== undefined)
      this.requestsLeft = { count: limit.remainingRequests, until: now + limit.resetRequestsMs };
    if (limit.remainingTokens !== undefined && limit.resetTokensMs !== undefined)
      this.tokensLeft = { count: limit.remainingTokens, until: now + limit.resetTokensMs };
    // A newer count may free calls an older one held.
    this.drain();
  }

  /** Milliseconds until the provider's count lets a call of `weight` estimated tokens start. */
  private providerWait(weight: number, now: number): number {
    if (this.requestsLeft && now >= this.requestsLeft.until) this.requestsLeft = undefined;
    if (this.tokensLeft && now >= this.tokensLeft.until) this.tokensLeft = undefined;
    return Math.max(
      this.requestsLeft && this.requestsLeft.count <= 0 ? this.requestsLeft.until - now : 0,
      this.tokensLeft && weight > this.tokensLeft.count ? this.tokensLeft.until - now : 0,
    );
  }

  /** Fails every queued call; calls in flight finish. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of this.queue.splice(0)) entry.fail(new Error('The model gateway was closed.'));
  }
}

/**
 * `FLT_PROVIDER_SHARE`: the share of every provider's configured requests and tokens per minute this worker may use
 * (default 1). Those limits are the provider account's: workers whose shares sum to at most 1 keep to them together.
 */
export function providerShare(env: NodeJS.ProcessEnv): number {
  const value = env.FLT_PROVIDER_SHARE;
  if (value === undefined) return 1;
  const share = Number(value);
  if (share > 0 && share <= 1) return share;
  throw typedError(
    InvalidConfig,
    `FLT_PROVIDER_SHARE is "${value}": expected a number greater than 0 and at most 1, this worker's share of ` +
      "each provider's requestsPerMinute and tokensPerMinute.",
  );
}

/** A provider's configured limits as one worker's limiter's, with the worker's `share` of the rates. */
export function limiterLimits(
  config: Pick<ProviderConfig, 'maxConcurrency' | 'requestsPerMinute' | 'tokensPerMinute'>,
  share = 1,
): ConstructorParameters<typeof ProviderLimiter>[0] {
  const requestsPerMinute = config.requestsPerMinute && config.requestsPerMinute * share;
  return {
    maxConcurrent: config.maxConcurrency,
    // Starts just over 1/R of the window apart keep every sliding window at or under R requests.
    minTimeMs: requestsPerMinute ? Math.floor(limitWindowMs / requestsPerMinute) + 1 : 0,
    tokensPerMinute: config.tokensPerMinute && config.tokensPerMinute * share,
  };
}

export interface ChatCall {
  response: ChatResponse;
  usage: StageUsage;
  /** The request's response-cache key: a payer reading its own answer twice counts it once. */
  cacheKey: string;
}

export interface ChatOptions {
  /** Cuts the call off wherever it is. */
  signal?: AbortSignal;
  /** Only takes the call out of the provider's queue before it starts; `signal` when not given. */
  queueSignal?: AbortSignal;
  /**
   * Who pays: one shard activity execution, the same across its attempts. An answer it paid counts as paid when any
   * of its attempts reads it (the attempt that paid may have died before reporting), and as cached for anyone else.
   */
  payer?: string;
  /** Where this call's answer is looked up and kept: its shard's cache, or by default the worker's. */
  cache?: CallCache;
  /** Set while a stage plans its batch: a call without an answer is noted for the batch instead of paid. */
  planner?: BatchPlanner;
}

/** Collects the requests a stage's batch will send. */
export interface BatchPlanner {
  /** Notes a call that has no answer yet; the call then fails with CallDeferred. */
  defer(call: { key: string; provider: string; config: ProviderConfig; request: ChatRequest }): void;
}

/** Thrown by a call a batch is to answer: the item it belongs to waits for the batch. */
export class CallDeferred extends Error {
  constructor(readonly key: string) {
    super(`call ${key} is left to the stage's batch`);
    this.name = 'CallDeferred';
  }
}

/** Embeddings through the gateway: cached, limited, and counted as paid once per payer (as chat calls are). */
export interface PaidEmbeddings {
  embed(
    texts: string[],
    options?: Pick<ChatOptions, 'signal' | 'payer'>,
  ): Promise<{ vectors: number[][]; usage: Usage }>;
}

/** Embeddings in the response cache, with who paid for them (absent in entries written before payers were). */
interface CachedEmbeddings {
  vectors: number[][];
  usage: Usage;
  paidBy?: string;
}

/** A finished call in the response cache; entries written before payers were recorded are bare responses. */
export interface CachedCall {
  response: ChatResponse;
  paidBy?: string;
  /** Set on answers a stage's batch paid (at the batch price), which only the shard that asked reads. */
  batchId?: string;
}

function provider(providers: ProvidersConfig, name: string): ProviderConfig {
  const config = providers[name];
  if (!config)
    throw typedError(
      InvalidConfig,
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

/**
 * What a call cost, online or through the provider's Batch API: its prompt tokens at the input price, less the
 * prompt-cache discount on those the provider read from its cache (the same share online and in a batch), and its
 * completion tokens at the output price.
 */
export function costOf(config: ProviderConfig, usage: Usage, via: 'online' | 'batch' = 'online'): number {
  if (config.kind !== 'openai-compatible') return 0;
  const prices = via === 'batch' ? batchTokenPrices(config.prices) : config.prices;
  const cached = cachedPromptTokens(usage);
  const promptCost =
    (usage.prompt_tokens - cached + cached * cachedInputShare(config.prices)) * prices.inputPerMillionTokens;
  return (promptCost + usage.completion_tokens * prices.outputPerMillionTokens) / 1e6;
}

/** The prompt tokens a call read from the provider's prompt cache (never more than its prompt). */
const cachedPromptTokens = (usage: Usage) =>
  Math.min(usage.prompt_tokens, Math.max(0, usage.prompt_tokens_details?.cached_tokens ?? 0));

function worstCaseRequestTokens(request: ChatRequest): number {
  const promptChars = request.messages.reduce((sum, m) => sum + m.content.length, 0);
  return Math.ceil(promptChars / 4) + (request.max_tokens ?? 256) * (request.n ?? 1);
}

/** Opens the chat backend of a provider; tests pass their own. */
export type ChatBackendOpener = (config: ProviderConfig, env: NodeJS.ProcessEnv) => Promise<ChatBackend>;

/** Opens backends whose embedded llama.cpp applies adapters as `adapters` reach them on this host. */
export const chatBackendOpener =
  (adapters?: AdapterCopies): ChatBackendOpener =>
  async (config, env) =>
    config.kind === 'llama-cpp'
      ? new LlamaCppChat(config, adapters && ((adapter) => adapters.localPath(adapter)))
      : new OpenAiCompatibleChat(config, env);

/** A backend shared by every run whose provider config differs at most by cache salt; closed when unused. */
interface SharedBackend {
  backend: ChatBackend;
  calls: number;
  /** Replaced by a newer config of its provider: closed as soon as its last call has finished. */
  retired: boolean;
}

function callUsage(config: ProviderConfig, response: ChatResponse, via: 'online' | 'batch' = 'online'): StageUsage {
  const cached = cachedPromptTokens(response.usage);
  return {
    calls: 1,
    cachedCalls: 0,
    promptTokens: response.usage.prompt_tokens,
    completionTokens: response.usage.completion_tokens,
    ...(cached > 0 ? { cachedPromptTokens: cached } : {}),
    costUsd: costOf(config, response.usage, via),
  };
}
export const cachedUsage = (): StageUsage => ({
  calls: 0,
  cachedCalls: 1,
  promptTokens: 0,
  completionTokens: 0,
  costUsd: 0,
});

/**
 * A call answered from the cache: paid by `payer` when one of its attempts paid it, or when its shard's batch did
 * (at the batch price); otherwise cached.
 */
function cachedCall(config: ProviderConfig, entry: CachedCall | ChatResponse, key: string, payer?: string): ChatCall {
  const cached: CachedCall = 'choices' in entry ? { response: entry } : entry;
  const usage =
    cached.batchId !== undefined
      ? callUsage(config, cached.response, 'batch')
      : payer !== undefined && cached.paidBy === payer
        ? callUsage(config, cached.response)
        : cachedUsage();
  return { response: cached.response, usage, cacheKey: key };
}

export class ModelGateway {
  /** Keyed by the provider config without its cache salt: a salted re-run shares the loaded model. */
  private readonly chatBackends = new Map<string, Promise<SharedBackend>>();
  /** The backend key each provider name used last, to retire a backend its provider no longer uses. */
  private readonly latestBackend = new Map<string, string>();
  /** Keyed by endpoint and limits: two runs that configure one provider differently each keep their own limits. */
  private readonly limiters = new Map<string, ProviderLimiter>();
  /** Calls being paid right now by response-cache key: an identical request joins the call instead of paying. */
  private readonly inFlight = new Map<string, { response: Promise<ChatResponse>; payer?: string; cache?: CallCache }>();
  private limitedCalls = 0;
  /** FLT_PROVIDER_SHARE, read when the worker starts: a bad value stops it there. */
  private readonly share: number;

  constructor(
    private readonly cache: CallCache,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly openBackend: ChatBackendOpener = chatBackendOpener(),
  ) {
    this.share = providerShare(env);
  }

  /** The worker's own response cache, where calls without a cache of their own look and keep answers. */
  get workerCache(): CallCache {
    return this.cache;
  }

  /** Model calls queued behind a provider limit or in flight. */
  get callsUnderway(): number {
    return this.limitedCalls;
  }

  /**
   * One chat call, paid at most once. A shard whose other call failed lets its started calls finish: it aborts only
   * their `queueSignal`.
   */
  async chat(
    providers: ProvidersConfig,
    providerName: string,
    request: ChatRequest,
    options: ChatOptions = {},
  ): Promise<ChatCall> {
    const config = provider(providers, providerName);
    const key = ResponseCache.key({ endpoint: endpointIdentity(config), request });
    if (options.planner) {
      const entry = await (options.cache ?? this.cache).get<CachedCall | ChatResponse>(key);
      if (entry) return cachedCall(config, entry, key, options.payer);
      options.planner.defer({ key, provider: providerName, config, request });
      throw new CallDeferred(key);
    }
    const joined = this.inFlight.get(key);
    if (joined) {
      const response = await joined.response.catch(() => undefined);
      // The call this one joined failed (or was cut off with its caller): make this call on its own.
      if (!response) return this.chat(providers, providerName, request, options);
      const ownCall = options.payer !== undefined && joined.payer === options.payer;
      // Another shard's call answered this one: this shard's cache keeps it too, for its own retry elsewhere.
      if (options.cache && options.cache !== joined.cache)
        await options.cache.set(key, { response, paidBy: joined.payer } satisfies CachedCall);
      return { response, usage: ownCall ? callUsage(config, response) : cachedUsage(), cacheKey: key };
    }
    const paid = this.payOnce(key, providerName, config, request, options);
    const shared = paid.then((r) => r.response);
    // Joiners handle a failure; with none, the failure must not surface as an unhandled rejection.
    shared.catch(() => undefined);
    this.inFlight.set(key, { response: shared, payer: options.payer, cache: options.cache });
    try {
      return await paid;
    } finally {
      this.inFlight.delete(key);
    }
  }

  embeddings(providers: ProvidersConfig, providerName: string, model: string): PaidEmbeddings {
    const config = provider(providers, providerName);
    if (config.kind !== 'openai-compatible')
      throw typedError(
        InvalidConfig,
        `Provider "${providerName}" cannot embed: embeddings need an openai-compatible provider.`,
      );
    const backend = new OpenAiCompatibleEmbeddings(config, this.env, model);
    return {
      embed: async (texts, { signal, payer } = {}) => {
        const key = ResponseCache.key({ endpoint: endpointIdentity(config), embeddings: model, texts });
        const cached = await this.cache.get<CachedEmbeddings>(key);
        if (cached) {
          const ownPayment = payer !== undefined && cached.paidBy === payer;
          return {
            vectors: cached.vectors,
            usage: ownPayment ? cached.usage : { prompt_tokens: 0, completion_tokens: 0 },
          };
        }
        const tokens = texts.reduce((sum, t) => sum + Math.ceil(t.length / 4), 0);
        const result = await this.limited(config, tokens, (observe) => backend.embed(texts, signal, observe), signal);
        await this.cache.set(key, { ...result, paidBy: payer } satisfies CachedEmbeddings);
        return result;
      },
    };
  }

  async close(): Promise<void> {
    const backends = await Promise.all(this.chatBackends.values());
    await Promise.all(backends.map(({ backend }) => backend.close?.()));
    for (const limiter of this.limiters.values()) limiter.stop();
    this.chatBackends.clear();
    this.latestBackend.clear();
    this.limiters.clear();
  }

  private async payOnce(
    key: string,
    providerName: string,
    config: ProviderConfig,
    request: ChatRequest,
    { signal, queueSignal = signal, payer, cache = this.cache }: ChatOptions,
  ): Promise<ChatCall> {
    const entry = await cache.get<CachedCall | ChatResponse>(key);
    if (entry) return cachedCall(config, entry, key, payer);
    const shared = await this.acquireBackend(providerName, config);
    try {
      const response = await this.limited(
        config,
        worstCaseRequestTokens(request),
        (observe) => shared.backend.complete(request, signal, observe),
        queueSignal,
      );
      // Who paid is written with the answer, in one file: no attempt can die between paying and recording it.
      await cache.set(key, { response, paidBy: payer } satisfies CachedCall);
      return { response, usage: callUsage(config, response), cacheKey: key };
    } finally {
      await this.releaseBackend(shared);
    }
  }

  private async acquireBackend(providerName: string, config: ProviderConfig): Promise<SharedBackend> {
    const key = canonicalJson({ ...config, cacheSalt: undefined });
    const previous = this.latestBackend.get(providerName);
    this.latestBackend.set(providerName, key);
    if (previous !== undefined && previous !== key && ![...this.latestBackend.values()].includes(previous)) {
      const retired = this.chatBackends.get(previous);
      this.chatBackends.delete(previous);
      void retired?.then((old) => {
        old.retired = true;
        return old.calls === 0 ? old.backend.close?.() : undefined;
      });
    }
    let shared = this.chatBackends.get(key);
    if (!shared) {
      shared = this.openBackend(config, this.env).then((backend) => ({ backend, calls: 0, retired: false }));
      this.chatBackends.set(key, shared);
      shared.catch(() => this.chatBackends.delete(key));
    }
    const opened = await shared;
    opened.calls++;
    return opened;
  }

  private async releaseBackend(shared: SharedBackend): Promise<void> {
    shared.calls--;
    if (shared.retired && shared.calls === 0) await shared.backend.close?.();
  }

  /**
   * Runs `call` under the provider's worker-wide limits (concurrency, this worker's share of the requests and tokens
   * per minute) and the provider's rate-limit headers, which `call` hands to `observe`.
   */
  private async limited<T>(
    config: ProviderConfig,
    estimatedTokens: number,
    call: (observe: (limit: ProviderRateLimit) => void) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const limits = limiterLimits(config, this.share);
    const key = canonicalJson([endpointIdentity({ ...config, cacheSalt: undefined }), limits]);
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = new ProviderLimiter(limits);
      this.limiters.set(key, limiter);
    }
    // A call larger than the whole budget waits for an empty window instead of for ever.
    const weight = limits.tokensPerMinute ? Math.min(estimatedTokens, limits.tokensPerMinute) : estimatedTokens;
    const observed = limiter;
    this.limitedCalls++;
    try {
      return await limiter.run(weight, () => call((limit) => observed.observe(limit)), signal);
    } finally {
      this.limitedCalls--;
    }
  }
}
