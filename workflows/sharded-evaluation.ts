// The evaluation loop both methods use: the test split in shards, each answered by one model-calling activity, then
// every answer scored at once. Each method's workflow says which activities answer and score, and what they return.
import { proxyActivities } from '@temporalio/workflow';
import type { ItemFailure, ItemFailures } from '../core/contracts';
import type { Activities } from '../activities';
import type { ArtifactRef, Shard, StageUsage } from '../core/types';
import { dataStep, shardModelCalls } from './activity-options';
import { checkItemFailures, itemCount, overShards, type ShardsDone } from './shards';

export interface AnsweredShard {
  output: ArtifactRef;
  usage: StageUsage;
  /** Items the provider refused, left out of `output`. */
  failures?: ItemFailure[];
}

export interface ShardedEvaluationInput {
  runId: string;
  stage: string;
  test: ArtifactRef;
  execution: { shardSize: number; parallelShards: number; maxItemFailureShare?: number };
  /** Set when the stage continued as new: its shards and the ones it had finished. */
  shards?: Shard[];
  done?: ShardsDone<AnsweredShard>;
}

export interface ShardedEvaluationSteps<I, S> {
  /** What the Temporal UI shows for a shard's activity. */
  summary: (shard: Shard) => string;
  answer: (activities: Activities, shard: Shard) => Promise<AnsweredShard>;
  score: (activities: Activities, answers: ArtifactRef[]) => Promise<S>;
  /** Continues the workflow as new with this input (never returns). */
  continueAsNew: (input: I) => Promise<never>;
}

const dataSteps = proxyActivities<Activities>(dataStep);

export async function evaluateInShards<I extends ShardedEvaluationInput, S>(
  input: I,
  steps: ShardedEvaluationSteps<I, S>,
): Promise<{ score: S; usage: StageUsage; itemFailures?: ItemFailures }> {
  const shards =
    input.shards ??
    (await dataSteps.shardDataset({
      dataset: input.test,
      shardSize: input.execution.shardSize,
      name: `runs/${input.runId}/${input.stage}/items`,
    }));
  const { results, usage } = await overShards(
    {
      stage: input.stage,
      shards,
      parallelShards: input.execution.parallelShards,
      done: input.done,
      continueAsNew: (done) => steps.continueAsNew({ ...input, shards, done }),
    },
    (shard) => steps.answer(proxyActivities<Activities>({ ...shardModelCalls, summary: steps.summary(shard) }), shard),
  );
  const itemFailures = checkItemFailures(
    input.stage,
    itemCount(shards),
    results.flatMap((r) => r.failures ?? []),
    input.execution.maxItemFailureShare,
  );
  const answers = results.map((r) => r.output);
  return { score: await steps.score(dataSteps, answers), usage, ...(itemFailures ? { itemFailures } : {}) };
}
