// The shard loop of stages started before shard lists (workflows/shard-list-loop.ts): their histories replay it, and
// their continue-as-new inputs carry every shard reference and result, which this loop reads. One activity per
// shard, a few at a time, with the stage's progress query and pause point; when the server suggests continue-as-new,
// the stage starts no new shard, lets those in flight finish and continues as a new execution with what it has done.
import { setHandler, workflowInfo } from '@temporalio/workflow';
import type { ItemFailure, ItemFailures } from '../core/contracts';
import { addUsage, emptyUsage, type Shard, type StageUsage } from '../core/types';
import { progressQuery } from '../core/workflow-messages';
import { pausable } from './control';
import { checkFailureCount, failureExamples } from './shard-list-loop';

/** What a stage has done when it continues as new: the results of its first `results.length` shards. */
export interface ShardsDone<R> {
  results: R[];
  usage: StageUsage;
  /** Set when the stage was paused as it continued as new: the next execution starts paused. */
  paused?: boolean;
}

export interface ShardLoop<R> {
  stage: string;
  shards: Shard[];
  parallelShards: number;
  /** Carried over from the previous execution of the stage, if it continued as new. */
  done?: ShardsDone<R>;
  /** Continues the stage as new with `done` in its input (never returns). */
  continueAsNew: (done: ShardsDone<R>) => Promise<never>;
}

/** The items of a stage's shards. */
export const itemCount = (shards: Shard[]) => shards.reduce((sum, shard) => sum + shard.items.count, 0);

export async function overShards<R extends { usage: StageUsage }>(
  loop: ShardLoop<R>,
  work: (shard: Shard) => Promise<R>,
): Promise<ShardsDone<R>> {
  const { stage, shards } = loop;
  const results: R[] = [...(loop.done?.results ?? [])];
  let usage = loop.done?.usage ?? emptyUsage();
  let next = results.length;
  let finished = results.length;
  const items = { done: itemCount(shards.slice(0, next)), total: itemCount(shards) };
  setHandler(progressQuery, () => ({ stage, stages: [{ stage, done: finished, total: shards.length, items }], usage }));
  const { pausePoint, isPaused } = pausable(loop.done?.paused ?? false);

  const lane = async () => {
    while (next < shards.length && !workflowInfo().continueAsNewSuggested) {
      const index = next++;
      const shard = shards[index];
      await pausePoint();
      const result = await work(shard);
      results[index] = result;
      finished++;
      items.done += shard.items.count;
      usage = addUsage(usage, result.usage);
    }
  };
  await Promise.all(Array.from({ length: Math.min(loop.parallelShards, shards.length - next) }, lane));
  // Lanes stop claiming shards in order, so what is done is exactly the first `next` shards.
  // A pause (a signal, not in the input) is carried in what the next execution gets, or it would start paying.
  if (next < shards.length) return loop.continueAsNew({ results, usage, ...(isPaused() ? { paused: true } : {}) });
  return { results, usage };
}

/** The default of `execution.maxItemFailureShare`, for runs started before it existed. */
export const defaultMaxItemFailureShare = 0.05;

/**
 * Counts the items of a stage (`of` in all) that failed on their own (the provider refused their requests), or
 * undefined when none did; stops the stage, saying how many and the first, when more than `maxShare` of them failed.
 */
export function checkItemFailures(
  stage: string,
  of: number,
  failures: ItemFailure[],
  maxShare = defaultMaxItemFailureShare,
): ItemFailures | undefined {
  return checkFailureCount(
    stage,
    { count: failures.length, examples: failures.slice(0, failureExamples) },
    of,
    maxShare,
  );
}
