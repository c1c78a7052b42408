// The loop every sharded stage runs: one activity per shard, a few at a time, with the stage's progress query and
// pause point. The shards come a page at a time from the stage's ShardList artifact, and their results go a page at
// a time into a ShardResults artifact, so neither the workflow's memory nor any payload grows with the number of
// shards. When the server suggests continue-as-new (its history thresholds), the stage starts no new shard, lets those
// in flight finish and continues as a new execution with the results artifact, whose length is where it resumes.
import {
  ApplicationFailure,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ItemFailure, ItemFailures } from '../core/contracts';
import { costUsdAttribute, searchAttributes } from '../core/search-attributes';
import {
  addUsage,
  emptyUsage,
  type ArtifactRef,
  type Shard,
  type ShardList,
  type ShardPageEntry,
  type StageUsage,
} from '../core/types';
import { progressQuery } from '../core/workflow-messages';
import { dataStep } from './activity-options';
import { pausable } from './control';

/** Stages that started before shard lists carry every shard in their input and history: they keep doing so. */
export const shardListsPatch = 'shard-lists';

/** Stages started before they showed their own spend keep the commands they replay. */
export const stageSpendPatch = 'stage-spend';

/** Shards read per page, and results recorded per batch: a few tens of KB in each activity's payload. */
const pageSize = 100;

/** Where a stage stands: the small running totals a continue-as-new carries. */
export interface ShardProgress {
  /** The results of the stage's first `results.count` shards, one a line in shard order; null before the first. */
  results: ArtifactRef | null;
  usage: StageUsage;
  /** Items in those shards. */
  items: number;
  /** The items they could not do (the provider refused them): how many, and the first few. */
  failures: { count: number; examples: ItemFailure[] };
  /** Set when the stage was paused as it continued as new: the next execution starts paused. */
  paused?: boolean;
}

export interface ShardListLoop {
  stage: string;
  list: ShardList;
  /** ShardResults artifacts of earlier stages: each shard's work gets its output in each. */
  alongside?: ArtifactRef[];
  parallelShards: number;
  /** Carried over from the previous execution of the stage, if it continued as new. */
  done?: ShardProgress;
  /** Continues the stage as new with `done` in its input (never returns). */
  continueAsNew: (done: ShardProgress) => Promise<never>;
}

const { readShardPage, appendShardResults } = proxyActivities<Activities>(dataStep);

/** How many failed items a stage lists by name. */
export const failureExamples = 5;

export async function overShardList<R extends { usage: StageUsage; failures?: ItemFailure[] }>(
  loop: ShardListLoop,
  work: (shard: Shard, alongside: ArtifactRef[]) => Promise<R>,
): Promise<ShardProgress & { results: ArtifactRef }> {
  const { stage, list } = loop;
  const total = list.shards.count;
  const progress: ShardProgress = loop.done ?? {
    results: null,
    usage: emptyUsage(),
    items: 0,
    failures: { count: 0, examples: [] },
  };
  let next = progress.results?.count ?? 0;
  let finished = next;
  setHandler(progressQuery, () => ({
    stage,
    stages: [{ stage, done: finished, total, items: { done: progress.items, total: list.items } }],
    usage: progress.usage,
  }));
  const { pausePoint, isPaused } = pausable(progress.paused ?? false);

  // The stage's spend so far, in its own FltCostUsd: each time a batch of results is recorded (not per shard, so the
  // history stays small) and when the stage fails, so a run that fails here still shows what this stage paid.
  // Compared unrounded, as before the attribute was rounded, so a replayed history upserts exactly when it did.
  let shownCostUsd = workflowInfo().typedSearchAttributes.get(searchAttributes.costUsd) ?? 0;
  const showSpend = () => {
    if (progress.usage.costUsd === shownCostUsd || !patched(stageSpendPatch)) return;
    shownCostUsd = progress.usage.costUsd;
    upsertSearchAttributes([costUsdAttribute(shownCostUsd)]);
  };

  // Pages are claimed in order, so once a lane asks for page p every lane has its entry of page p - 1 in hand.
  const pages = new Map<number, Promise<ShardPageEntry[]>>();
  const entryAt = (index: number) => {
    const page = Math.floor(index / pageSize);
    let entries = pages.get(page);
    if (!entries) {
      pages.delete(page - 1);
      const from = page * pageSize;
      entries = readShardPage({ list: list.shards, from, count: pageSize, alongside: loop.alongside ?? [] });
      pages.set(page, entries);
    }
    return entries.then((loaded) => loaded[index % pageSize]);
  };

  // Finished results wait here until every shard before them has finished too; then they are recorded in order.
  const unrecorded = new Map<number, R>();
  let recorded = next;
  let recording = Promise.resolve();
  const record = (upTo: number) => {
    const add: R[] = [];
    for (; recorded < upTo; recorded++) {
      const result = unrecorded.get(recorded)!;
      unrecorded.delete(recorded);
      add.push(result);
      for (const failure of result.failures ?? []) {
        progress.failures.count++;
        if (progress.failures.examples.length < failureExamples) progress.failures.examples.push(failure);
      }
    }
    showSpend();
    recording = recording.then(async () => {
      progress.results = await appendShardResults({ results: progress.results, add });
    });
  };
  const recordFinishedPage = () => {
    let upTo = recorded;
    while (unrecorded.has(upTo)) upTo++;
    if (upTo - recorded >= pageSize) record(upTo);
  };

  const lane = async () => {
    while (next < total && !workflowInfo().continueAsNewSuggested) {
      const index = next++;
      // Paused before its page is read: a paused stage schedules nothing at all.
      await pausePoint();
      const { shard, alongside } = await entryAt(index);
      const result = await work(shard, alongside);
      unrecorded.set(index, result);
      finished++;
      progress.items += shard.items.count;
      progress.usage = addUsage(progress.usage, result.usage);
      recordFinishedPage();
    }
  };
  await Promise.all(Array.from({ length: Math.min(loop.parallelShards, total - next) }, lane)).catch((err) => {
    showSpend();
    throw err;
  });
  // Lanes stop claiming shards in order, so what is done is exactly the first `next` shards.
  if (recorded < next) record(next);
  await recording;
  // A pause (a signal, not in the input) is carried in what the next execution gets, or it would start paying.
  if (next < total) return loop.continueAsNew({ ...progress, ...(isPaused() ? { paused: true } : {}) });
  return { ...progress, results: progress.results! };
}

/**
 * The items a stage's shards could not do, or undefined when none failed; stops the stage, saying how many and the
 * first, when more than `maxShare` of its `of` items failed.
 */
export function checkFailureCount(
  stage: string,
  failures: { count: number; examples: ItemFailure[] },
  of: number,
  maxShare: number,
): ItemFailures | undefined {
  if (!failures.count) return undefined;
  const percent = (share: number) => `${(100 * share).toFixed(1)}%`;
  const [first] = failures.examples;
  if (failures.count > maxShare * of)
    throw ApplicationFailure.nonRetryable(
      `${stage}: ${failures.count} of ${of} items failed (${percent(failures.count / of)}), more than ` +
        `execution.maxItemFailureShare (${percent(maxShare)}); first: ${first.id}: ${first.message}`,
      'ItemFailures',
    );
  return { count: failures.count, of, examples: failures.examples };
}
