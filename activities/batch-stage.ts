// A stage through the provider's Batch API (workflows/batch-stage.ts drives it): the stage's own shard code is run in
// planning mode to find the calls it still needs, they go out as batches (one per provider and model, split at the
// provider's limits), and the answers are stored per shard, where the stage's shards then read them instead of paying
// online. Each step is an activity a retry repeats without creating or paying anything twice.
import { Context } from '@temporalio/activity';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  batchAnswersFolder,
  batchCustomId,
  batchRequestLine,
  batchRoundName,
  batchStageFolder,
  finishedBatchStatuses,
  parseBatchCustomId,
  type BatchAnswer,
  type BatchAnswerEntry,
  type BatchedActivity,
  type BatchMissingItem,
  type BatchPart,
  type BatchPlan,
  type BatchRequestLine,
  type BatchSharedAnswer,
  type BatchResults,
  type BatchState,
  type StoredBatchRound,
} from '../core/batch';
import type { ProvidersConfig } from '../core/config';
import type { PlanStageBatchInput } from '../core/contracts';
import type { ArtifactRef, Shard } from '../core/types';
import type { ActivityDeps } from './context';
import { toActivityFailure } from './providers/errors';
import type { BatchLimits } from './providers/batch/backend';
import { batchLimits, openBatchBackend } from './providers/batch/open';
import type { BatchPlanner } from './providers/gateway';
import { chatCompletionBody, chatResponseOf } from './providers/openai-compatible';
import { batchPlanning, ShardDeferred } from './shard-calls';

/** How much of a batch file is filled before it is split: room for the JSONL a count of bytes leaves out. */
const fillShare = 0.95;

/** A stage's requests, one group per provider and model (a batch takes one model), split at the provider's limits. */
export class BatchRequests implements BatchPlanner {
  private readonly groups = new Map<
    string,
    { index: number; lines: BatchRequestLine[]; bytes: number; parts: number }
  >();
  /** The shard that first asked each request: a request is sent once, however many shards ask it. */
  private readonly firstAsked = new Map<string, number>();
  /** Requests a later shard asks that an earlier shard's line answers, as `shard:key`. */
  private readonly shared = new Set<string>();
  private shard = 0;
  readonly parts: BatchPart[] = [];
  requests = 0;

  constructor(
    private readonly name: { runId: string; stage: string; round: number },
    private readonly limitsOf: (provider: string) => BatchLimits | null,
    private readonly write: (lines: unknown[], name: string) => Promise<ArtifactRef>,
  ) {}

  startShard(index: number): void {
    this.shard = index;
  }

  defer({ key, provider, request }: Parameters<BatchPlanner['defer']>[0]): void {
    // A provider without a Batch API is left to the online calls that follow.
    const limits = this.limitsOf(provider);
    if (!limits) return;
    const first = this.firstAsked.get(key);
    if (first !== undefined) {
      // Asked before (a duplicate question): that line's answer is stored for this shard too, paid once.
      if (first !== this.shard) this.shared.add(batchCustomId(this.shard, key));
      return;
    }
    this.firstAsked.set(key, this.shard);
    const groupKey = JSON.stringify([provider, request.model]);
    let group = this.groups.get(groupKey);
    if (!group) {
      group = { index: this.groups.size, lines: [], bytes: 0, parts: 0 };
      this.groups.set(groupKey, group);
    }
    const line = batchRequestLine(batchCustomId(this.shard, key), { ...chatCompletionBody(request) } as Record<
      string,
      unknown
    >);
    const bytes = Buffer.byteLength(JSON.stringify(line)) + 1;
    if (group.lines.length >= limits.maxRequests || group.bytes + bytes > limits.maxBytes * fillShare)
      this.pending.push(this.flush(groupKey, provider, request.model));
    group.lines.push(line);
    group.bytes += bytes;
    this.requests++;
  }

  /** Files being written, in the order their parts were cut. */
  private readonly pending: Promise<void>[] = [];

  private async flush(groupKey: string, provider: string, model: string): Promise<void> {
    const group = this.groups.get(groupKey)!;
    const lines = group.lines;
    const part = group.parts++;
    group.lines = [];
    group.bytes = 0;
    const { runId, stage, round } = this.name;
    const roundFolder = batchRoundName(batchStageFolder(runId, stage), round);
    const slot = this.parts.length;
    this.parts.push(undefined as unknown as BatchPart); // keeps the part's place while its file is written
    const requests = await this.write(lines, `${roundFolder}/requests-${group.index}-${part}`);
    this.parts[slot] = {
      tag: { runId, stage: `${stage}-round-${round}-${group.index}`, part },
      provider,
      model,
      requests,
    };
  }

  /**
   * Writes what every group holds; the parts then list every request once, and `shared` the requests of a shard that
   * an earlier shard's line answers (`BatchSharedAnswer`s), null when there are none.
   */
  async finish(): Promise<{ parts: BatchPart[]; shared: ArtifactRef | null }> {
    for (const [groupKey, group] of this.groups) {
      if (group.lines.length === 0) continue;
      const [provider, model] = JSON.parse(groupKey) as [string, string];
      this.pending.push(this.flush(groupKey, provider, model));
    }
    await Promise.all(this.pending);
    const { runId, stage, round } = this.name;
    const shared: BatchSharedAnswer[] = [...this.shared].map((id) => parseBatchCustomId(id)!);
    return {
      parts: this.parts,
      shared: shared.length
        ? await this.write(shared, `${batchRoundName(batchStageFolder(runId, stage), round)}/shared`)
        : null,
    };
  }
}

/** Reads records of several artifacts in step: each iterator is asked only when its head has been taken. */
class Cursor<T> {
  private head: IteratorResult<T> | undefined;
  constructor(private readonly records: AsyncIterator<T>) {}
  async peek(): Promise<T | undefined> {
    this.head ??= await this.records.next();
    return this.head.done ? undefined : this.head.value;
  }
  take(): void {
    this.head = undefined;
  }
}

/** A missing item the provider refused for what it holds: the online call would be refused again. */
const refusedForGood = (missing: BatchMissingItem) =>
  !missing.retryable && missing.status !== null && missing.status >= 400 && missing.status < 500;

export function batchStageActivities(
  deps: ActivityDeps,
  /** The activities a stage batches, as the worker registers them. */
  work: Record<BatchedActivity, (input: never) => Promise<unknown>>,
) {
  const { store, env } = deps;
  const backend = (providers: ProvidersConfig, part: BatchPart) => {
    try {
      return openBatchBackend(providers, part.provider, env, store);
    } catch (err) {
      throw toActivityFailure(err, `batch ${part.tag.stage} part ${part.tag.part}`);
    }
  };

  /** Runs one shard's (or the stage's) activity in planning mode; false when it waits for the batch. */
  const plan = async (planner: BatchRequests, activity: BatchedActivity, input: Record<string, unknown>) => {
    try {
      await batchPlanning.run(planner, () => work[activity]({ ...input, viaBatch: true } as never));
    } catch (err) {
      if (!(err instanceof ShardDeferred)) throw err;
    }
  };

  return {
    /**
     * The calls of the stage still without an answer (in the response cache or earlier rounds' batches), written as
     * request files; heartbeats count the shards planned.
     */
    async planStageBatch(input: PlanStageBatchInput): Promise<BatchPlan> {
      const ctx = Context.current();
      const planner = new BatchRequests(
        input,
        (provider) => batchLimits(input.providers, provider),
        (lines, name) => store.writeJsonl(lines, name),
      );
      const { work: stage } = input;
      if (!('shards' in stage)) {
        await plan(planner, stage.activity, stage.input);
        return { requests: planner.requests, shards: 1, ...(await planner.finish()) };
      }
      const shards = new Cursor(store.readJsonl<Shard>(stage.shards.shards)[Symbol.asyncIterator]());
      const alongside = stage.alongside.map(({ field, results }) => ({
        field,
        outputs: new Cursor(store.readJsonl<{ output: ArtifactRef }>(results)[Symbol.asyncIterator]()),
      }));
      let count = 0;
      for (let shard = await shards.peek(); shard; shard = await shards.peek()) {
        shards.take();
        const fields: Record<string, unknown> = {};
        for (const { field, outputs } of alongside) {
          fields[field] = (await outputs.peek())?.output;
          outputs.take();
        }
        planner.startShard(shard.index);
        await plan(planner, stage.activity, { ...stage.input, ...fields, shard });
        ctx.heartbeat({ done: ++count, of: stage.shards.shards.count });
      }
      return { requests: planner.requests, shards: count, ...(await planner.finish()) };
    },

    /** The part's batch: the one already created under its tag, or a new one. */
    async startStageBatch(input: { providers: ProvidersConfig; part: BatchPart }): Promise<BatchState> {
      return backend(input.providers, input.part).findOrCreateBatch({
        tag: input.part.tag,
        requests: input.part.requests,
      });
    },

    /**
     * Polls the batch until it has finished, heartbeating its status and counts (what `flt watch` shows); a failed
     * poll is polled again.
     */
    async waitForStageBatch(input: {
      providers: ProvidersConfig;
      part: BatchPart;
      batchId: string;
      pollIntervalSeconds: number;
    }): Promise<BatchState> {
      const ctx = Context.current();
      const batches = backend(input.providers, input.part);
      for (;;) {
        let state: BatchState | null = null;
        let pollError: string | null = null;
        try {
          state = await batches.getBatch(input.batchId);
        } catch (err) {
          const failure = toActivityFailure(err, `poll batch ${input.batchId}`);
          if (failure.nonRetryable) throw failure;
          pollError = failure.message;
        }
        ctx.heartbeat({
          batchId: input.batchId,
          status: state?.status ?? 'unknown',
          done: state?.counts ? state.counts.completed + state.counts.failed : null,
          of: state?.counts?.total ?? null,
          failed: state?.counts?.failed ?? null,
          ...(pollError ? { pollError } : {}),
        });
        if (state && finishedBatchStatuses.includes(state.status)) return state;
        await sleep(input.pollIntervalSeconds * 1000, undefined, { signal: ctx.cancellationSignal });
      }
    },

    async collectStageBatch(input: {
      providers: ProvidersConfig;
      part: BatchPart;
      batchId: string;
    }): Promise<BatchResults> {
      return backend(input.providers, input.part).downloadResults({
        tag: input.part.tag,
        batchId: input.batchId,
        requests: input.part.requests,
      });
    },

    /** Asks the provider to stop a batch the stage no longer waits for (the run was cancelled). */
    async cancelStageBatch(input: { providers: ProvidersConfig; part: BatchPart; batchId: string }): Promise<void> {
      await backend(input.providers, input.part).cancelBatch(input.batchId);
    },

    /**
     * A round's answers, each stored with the shard that asked for it; then the round is marked finished, and the
     * stage's shards read them. Items refused for good are stored as refusals; the rest, unanswered, are asked again.
     */
    async storeStageBatchAnswers(input: {
      runId: string;
      stage: string;
      round: number;
      shards: number;
      results: BatchResults[];
      /** From the plan: requests of a shard that an earlier shard's line answers. */
      shared: ArtifactRef | null;
    }): Promise<StoredBatchRound> {
      const stageFolder = batchStageFolder(input.runId, input.stage);
      const marker = batchRoundName(stageFolder, input.round);
      const done = await store.lookup(marker);
      if (done) return (await store.readAll<StoredBatchRound>(done))[0];
      const counts: StoredBatchRound = { answered: 0, refused: 0, unanswered: 0 };
      // Duplicates are few: the shards that share each such request, and its entry once its own shard has it.
      const sharedBy = new Map<string, number[]>();
      for await (const { shard, key } of input.shared ? store.readJsonl<BatchSharedAnswer>(input.shared) : [])
        sharedBy.set(key, [...(sharedBy.get(key) ?? []), shard]);
      const sharedEntries = new Map<number, BatchAnswerEntry[]>();
      // Each part's answers and missing items are in request order, which is shard order.
      const streams = input.results.flatMap((r) =>
        [r.answers, r.missing].map((ref) => ({
          batchId: r.batchId,
          cursor: new Cursor(store.readJsonl<BatchAnswer | BatchMissingItem>(ref)[Symbol.asyncIterator]()),
        })),
      );
      for (let shard = 0; shard < input.shards; shard++) {
        const entries: BatchAnswerEntry[] = sharedEntries.get(shard) ?? [];
        sharedEntries.delete(shard);
        for (const { batchId, cursor } of streams) {
          for (let next = await cursor.peek(); next; next = await cursor.peek()) {
            const id = parseBatchCustomId(next.customId);
            if (id && id.shard > shard) break;
            cursor.take();
            if (!id || id.shard < shard) continue; // not a line of ours: nothing to store
            const entry = entryOf(batchId, id.key, next);
            if (entry === null) counts.unanswered++;
            else if ('refused' in entry) counts.refused++;
            else counts.answered++;
            if (!entry) continue;
            entries.push(entry);
            // In the worker's response cache too, as any paid answer is: a resumed or re-run stage reads it there
            // (as cached: the batch paid for it) instead of sending it again.
            if ('response' in entry)
              await deps.gateway.workerCache.set(id.key, { response: entry.response, paidBy: `batch ${batchId}` });
            for (const other of sharedBy.get(id.key) ?? [])
              sharedEntries.set(other, [...(sharedEntries.get(other) ?? []), { ...entry, shared: true }]);
          }
        }
        if (entries.length > 0)
          await store.writeJsonl(
            entries,
            batchRoundName(batchAnswersFolder(input.runId, input.stage, shard), input.round),
          );
      }
      await store.writeJsonl([counts], marker);
      return counts;
    },
  };
}

/** What a shard stores of one batch line: its answer, its refusal, or nothing (it is asked again). */
function entryOf(batchId: string, key: string, line: BatchAnswer | BatchMissingItem): BatchAnswerEntry | null {
  if ('body' in line) {
    try {
      return { key, batchId, response: chatResponseOf(line.body as never) };
    } catch {
      return null; // a 200 without a usable completion: asked again, as an unreadable line is
    }
  }
  return refusedForGood(line) ? { key, batchId, refused: line.reason, status: line.status } : null;
}
