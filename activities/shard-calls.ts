// Many model calls inside one shard activity: prompts adapted by the model's in-context demonstrations, calls
// through the gateway (response cache, provider limits), transient faults retried, usage summed, progress
// heartbeated. Once one call fails, the calls still queued are dropped and those already started finish into the
// response cache; when the activity is cancelled, those are cut off too.
import { Context, type Info } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { setMaxListeners } from 'node:events';
import type { ProvidersConfig } from '../core/config';
import {
  addUsage,
  emptyUsage,
  type ChatRequest,
  type ChatResponse,
  type ModelRef,
  type StageUsage,
} from '../core/types';
import type { ActivityDeps } from './context';
import { withDemonstrations } from './demonstrations';
import type { ItemFailure } from '../core/contracts';
import { itemRefusal, retryTransient } from './providers/errors';
import { BatchAnswers } from './batch-answers';
import { CallDeferred, cachedUsage, type BatchPlanner } from './providers/gateway';
import type { CallCache } from '../lib/response-cache';
import { serveForgottenAdapter } from './serving';

/**
 * Heartbeats at least this often while calls wait behind a busy provider, so a slow shard never looks like a dead
 * worker.
 */
const keepAliveMs = 10_000;
/**
 * Progress is sent at most this often: each heartbeat is encoded and handed to the SDK's native side (which throttles
 * it to 3 s anyway), and one per call cost a busy worker about 5% of its CPU (BENCHMARKS.md, overhead).
 */
const progressEveryMs = 1_000;
/**
 * Items a shard starts per turn of the event loop. Started all at once, a shard's hundreds of calls were prepared
 * (prompts, cache keys and lookups) in one stretch of a few hundred ms, in which the worker's calls in flight got no
 * answer handled and the provider's slots stood idle: most of the overhead benchmark's excess (BENCHMARKS.md).
 */
const itemsPerTurn = 16;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * What a shard needs of its activity: its cancellation, its heartbeat and which execution it is (tests pass their
 * own).
 */
export type ShardActivity = Pick<Context, 'cancellationSignal' | 'heartbeat'> & {
  info: Pick<Info, 'activityId' | 'workflowExecution'>;
};

/** Every attempt of one activity execution is one payer: what a dead or failed attempt paid, a later one counts. */
export const payerOf = ({ workflowExecution, activityId }: ShardActivity['info']): string | undefined =>
  workflowExecution ? `${workflowExecution.runId}/${activityId}` : undefined;

/**
 * The providers as `model` is reached: a merged checkpoint's server answers on its own port of its provider's baseURL
 * (the key variable, timeout and prices stay the provider's), which the response cache's keys then name.
 */
function providersReaching(providers: ProvidersConfig, model: ModelRef): ProvidersConfig {
  const baseURL = model.server?.baseURL;
  const provider = providers[model.provider];
  if (baseURL === undefined || provider?.kind !== 'openai-compatible' || provider.baseURL === baseURL) return providers;
  return { ...providers, [model.provider]: { ...provider, baseURL } };
}

/**
 * Set while a stage plans its batch (activities/batch-stage.ts), around each shard's own activity code: the shard's
 * calls without an answer are noted for the batch instead of paid, and the shard stops before writing any output.
 */
export const batchPlanning = new AsyncLocalStorage<BatchPlanner>();

/** Ends a shard's work while its stage plans a batch: some of its calls wait for the batch's answers. */
export class ShardDeferred extends Error {
  constructor(readonly calls: number) {
    super(`${calls} calls of the shard are left to its stage's batch`);
    this.name = 'ShardDeferred';
  }
}

export class ShardCalls {
  /**
   * One controller per call in flight, aborted when the activity is cancelled. (The HTTP client never removes the
   * listener it adds to a call's signal: calls sharing one signal piled up a shard's worth, each new one scanning all.)
   */
  private readonly callsInFlight = new Set<AbortController>();
  /** Aborted when a call failed or the activity is cancelled: drops queued calls and inline retries. */
  private readonly stopStarting = new AbortController();
  private done = 0;
  /** Cache keys of the calls this attempt has counted as paid: a second read of one counts as cached. */
  private readonly paidKeys = new Set<string>();
  usage: StageUsage = emptyUsage();
  private lastBeat = { at: -Infinity, done: 0 };
  /** Items whose own request the provider refused: recorded by `forEachItem`, dropped from its results. */
  readonly itemFailures: ItemFailure[] = [];
  /** Adapters being served again after a 404, by name: the shard's calls that met it wait on one load. */
  private readonly reserving = new Map<string, Promise<boolean>>();
  /** This shard's answers in the shared store, when the worker has one: its retry on any host replays them. */
  private readonly cache: ReturnType<NonNullable<ActivityDeps['shardCache']>> | undefined;
  /** Where calls look for answers first: the shard's batch answers when it has any, else its own cache. */
  private lookup: CallCache | undefined;
  /** Set while the stage plans its batch. */
  private readonly planner = batchPlanning.getStore();

  constructor(
    private readonly deps: ActivityDeps,
    private readonly providers: ProvidersConfig,
    private readonly stage: string,
    /** Calls this shard will make, for the progress it heartbeats. */
    private readonly total: number,
    private readonly ctx: ShardActivity = Context.current(),
  ) {
    const { cancellationSignal } = this.ctx;
    cancellationSignal.addEventListener(
      'abort',
      () => {
        for (const call of this.callsInFlight) call.abort(cancellationSignal.reason);
        this.stopStarting.abort(cancellationSignal.reason);
      },
      { once: true },
    );
    // Every call of the shard may listen to it (its inline retries): bounded by the shard size.
    setMaxListeners(0, this.stopStarting.signal);
    const payer = this.payer;
    this.cache = payer === undefined ? undefined : deps.shardCache?.(payer);
    this.lookup = this.cache;
  }

  /** Reads the answers the stage's batches gave this shard before paying any call (`batch` names the batches). */
  withBatchAnswers(batch: { runId: string; stage: string; shard: number } | undefined): this {
    if (batch) this.lookup = new BatchAnswers(this.deps.store, batch, this.cache ?? this.deps.gateway.workerCache);
    return this;
  }

  /** Who pays for this shard's calls and embeddings (see payerOf). */
  get payer(): string | undefined {
    return payerOf(this.ctx.info);
  }

  /** Aborted when the activity is cancelled or one of its calls failed: for other work of the shard (embeddings). */
  get signal(): AbortSignal {
    return this.stopStarting.signal;
  }

  /**
   * Calls `model`: its id, its LoRA adapter (so the backend applies it and the cache tells it apart) and its
   * demonstrations.
   */
  async chat(
    model: ModelRef,
    request: Omit<ChatRequest, 'model' | 'adapter' | 'lora'>,
    what: string,
  ): Promise<ChatResponse> {
    const full: ChatRequest = {
      ...request,
      model: model.model,
      messages: await withDemonstrations(this.deps.store, model, request.messages),
      // Only models that carry an adapter add these, so every other request (and its cache key) is as before.
      ...(model.adapter ? { adapter: model.adapter } : {}),
      ...(model.serving?.loraId !== undefined
        ? { lora: [{ id: model.serving.loraId, scale: model.adapter?.scale ?? 1 }] }
        : {}),
    };
    const controller = new AbortController();
    const { cancellationSignal } = this.ctx;
    if (cancellationSignal.aborted) controller.abort(cancellationSignal.reason);
    const options = {
      signal: controller.signal,
      queueSignal: this.stopStarting.signal,
      payer: this.payer,
      cache: this.lookup,
      planner: this.planner,
    };
    const providers = providersReaching(this.providers, model);
    const call = () => this.deps.gateway.chat(providers, model.provider, full, options);
    // Planning calls no provider: a call deferred to the batch is not a fault to retry.
    const attempt = () =>
      this.planner
        ? call()
        : retryTransient(call, `${this.stage}: ${what} on ${model.provider}/${model.model}`, {
            signal: this.stopStarting.signal,
          });
    this.callsInFlight.add(controller);
    const answered = await attempt()
      .catch(async (err) => {
        // A serving server restarted mid-stage has forgotten the adapter: load it again and try once more.
        const notFound = err instanceof ApplicationFailure && err.type === 'ProviderHttp404';
        if (notFound && !this.ctx.cancellationSignal.aborted && (await this.serveAgain(model))) return attempt();
        throw err;
      })
      .catch((err) => {
        // A call cut off by cancellation or the worker shutting down is not the provider's failure: report the
        // interruption, which Temporal retries (or honours, when the workflow asked to cancel).
        throw this.ctx.cancellationSignal.aborted ? this.ctx.cancellationSignal.reason : err;
      })
      .finally(() => this.callsInFlight.delete(controller));
    const countedBefore = answered.usage.calls > 0 && this.paidKeys.has(answered.cacheKey);
    if (answered.usage.calls > 0) this.paidKeys.add(answered.cacheKey);
    this.usage = addUsage(this.usage, countedBefore ? cachedUsage() : answered.usage);
    this.done++;
    if (Date.now() - this.lastBeat.at >= progressEveryMs) this.beat();
    return answered.response;
  }

  private serveAgain(model: ModelRef): Promise<boolean> {
    const name = model.adapter?.name;
    if (name === undefined) return Promise.resolve(false);
    let pending = this.reserving.get(name);
    if (!pending) {
      pending = serveForgottenAdapter(this.providers, model, this.deps).finally(() => this.reserving.delete(name));
      this.reserving.set(name, pending);
    }
    return pending;
  }

  /**
   * Waits for all the shard's work. When one call fails, the queued calls are dropped and the attempt ends once the
   * started ones have finished: they are paid for, so they land in the response cache and the retried attempt
   * replays them for free.
   */
  async all<T>(work: Promise<T>[]): Promise<T[]> {
    if (this.planner) return this.planned(work);
    // Sends the progress made since the last heartbeat, or a keep-alive while none is made.
    const keepAlive = setInterval(() => {
      if (this.lastBeat.done !== this.done || Date.now() - this.lastBeat.at >= keepAliveMs) this.beat();
    }, progressEveryMs);
    let results: T[];
    try {
      results = await Promise.all(work);
    } catch (err) {
      this.stopStarting.abort(err);
      await Promise.allSettled(work);
      // The calls that finished are kept for the retry; the attempt fails with the call's error, not a save's.
      await this.cache?.save().catch(() => undefined);
      throw err;
    } finally {
      clearInterval(keepAlive);
    }
    await this.cache?.save();
    return results;
  }

  /**
   * Planning a batch, every item runs as far as the answers at hand take it (a call deferred to the batch does not
   * stop the others); the shard then stops if any waits for the batch, and otherwise goes on as it would online.
   */
  private async planned<T>(work: Promise<T>[]): Promise<T[]> {
    const settled = await Promise.allSettled(work);
    const failed = settled.find((r) => r.status === 'rejected' && !(r.reason instanceof CallDeferred));
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const deferred = settled.filter((r) => r.status === 'rejected').length;
    if (deferred > 0) throw new ShardDeferred(deferred);
    return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
  }

  /** Runs `task` on every item, starting `itemsPerTurn` of them per turn of the event loop, in order. */
  forEach<T, R>(items: readonly T[], task: (item: T, index: number) => Promise<R>): Promise<R[]> {
    let turn = Promise.resolve();
    return this.all(
      items.map((item, index) => {
        if (index > 0 && index % itemsPerTurn === 0) turn = turn.then(nextTurn);
        return turn.then(() => task(item, index));
      }),
    );
  }

  /**
   * Like `forEach`, but an item whose request the provider refuses (a 400 on this item alone) is recorded in
   * `itemFailures` and left out of the results instead of failing the shard; any other failure still fails it.
   */
  async forEachItem<T, R>(
    items: readonly T[],
    idOf: (item: T) => string,
    task: (item: T, index: number) => Promise<R>,
  ): Promise<R[]> {
    const settled = await this.forEach(items, async (item, index) => {
      try {
        return { ok: true as const, value: await task(item, index) };
      } catch (err) {
        const refused = itemRefusal(err);
        if (refused === null) throw err;
        this.itemFailures.push({ id: idOf(item), message: refused });
        return { ok: false as const };
      }
    });
    return settled.flatMap((r) => (r.ok ? [r.value] : []));
  }

  private beat(): void {
    this.lastBeat = { at: Date.now(), done: this.done };
    this.ctx.heartbeat({ done: this.done, of: this.total });
  }
}
