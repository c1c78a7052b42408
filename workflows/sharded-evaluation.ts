// The evaluation loop both methods use: the test split in shards, each answered by one model-calling activity, then
// every answer scored at once. Each method's workflow says which activities answer and score, and what they return.
import { patched, proxyActivities } from '@temporalio/workflow';
import type { BatchedActivity } from '../core/batch';
import type { ProvidersConfig } from '../core/config';
import type { ExecutionOptions, ItemFailure, ItemFailures } from '../core/contracts';
import type { Activities } from '../activities';
import type { ArtifactRef, Shard, ShardList, ShardResults, StageUsage } from '../core/types';
import { dataStep, shardModelCalls } from './activity-options';
import { answerByBatch } from './batch-stage';
import { checkFailureCount, overShardList, shardListsPatch, type ShardProgress } from './shard-list-loop';
import { checkItemFailures, defaultMaxItemFailureShare, itemCount, overShards, type ShardsDone } from './shards';

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
  execution: ExecutionOptions;
  /** Set when the stage continued as new: its shard list and where it stood. */
  list?: ShardList;
  progress?: ShardProgress;
  /** Set once the evaluation's batches have answered: its shards read their answers, and no new execution sends any. */
  viaBatch?: boolean;
  /** Set when a stage started before shard lists continued as new: its shards and the ones it had finished. */
  shards?: Shard[];
  done?: ShardsDone<AnsweredShard>;
}

export interface ShardedEvaluationSteps<I, S> {
  /** What the Temporal UI shows for a shard's activity. */
  summary: (shard: Shard) => string;
  /** `viaBatch`: the stage's batches answered its calls, which the shard reads first. */
  answer: (activities: Activities, shard: Shard, viaBatch: boolean) => Promise<AnsweredShard>;
  /** The shard activity and its input less the shard: what the stage's batch plans with, under `execution.batch`. */
  batch: { activity: BatchedActivity; input: Record<string, unknown>; providers: ProvidersConfig };
  score: (activities: Activities, answers: ArtifactRef[] | ShardResults) => Promise<S>;
  /** Continues the workflow as new with this input (never returns). */
  continueAsNew: (input: I) => Promise<never>;
}

const dataSteps = proxyActivities<Activities>(dataStep);

type Evaluated<S> = { score: S; usage: StageUsage; itemFailures?: ItemFailures };

export async function evaluateInShards<I extends ShardedEvaluationInput, S>(
  input: I,
  steps: ShardedEvaluationSteps<I, S>,
): Promise<Evaluated<S>> {
  if (input.shards || (!input.list && !patched(shardListsPatch))) return evaluateShardsInInput(input, steps);
  const list =
    input.list ??
    (await dataSteps.listShards({
      dataset: input.test,
      shardSize: input.execution.shardSize,
      name: `runs/${input.runId}/${input.stage}/items`,
    }));
  // A new execution of the stage (continued as new) has sent its batches already.
  const viaBatch =
    input.viaBatch ??
    (!input.progress &&
      (await answerByBatch({
        runId: input.runId,
        stage: 'evaluate',
        name: input.stage,
        providers: steps.batch.providers,
        options: input.execution.batch,
        work: { activity: steps.batch.activity, input: steps.batch.input, shards: list, alongside: [] },
      })));
  const done = await overShardList(
    {
      stage: input.stage,
      list,
      parallelShards: input.execution.parallelShards,
      done: input.progress,
      continueAsNew: (progress) => steps.continueAsNew({ ...input, list, progress, ...(viaBatch ? { viaBatch } : {}) }),
    },
    (shard) => answerShard(steps, shard, viaBatch),
  );
  const maxShare = input.execution.maxItemFailureShare ?? defaultMaxItemFailureShare;
  const itemFailures = checkFailureCount(input.stage, done.failures, list.items, maxShare);
  const score = await steps.score(dataSteps, { shardResults: done.results });
  return { score, usage: done.usage, ...(itemFailures ? { itemFailures } : {}) };
}

const answerShard = <I, S>(steps: ShardedEvaluationSteps<I, S>, shard: Shard, viaBatch = false) =>
  steps.answer(proxyActivities<Activities>({ ...shardModelCalls, summary: steps.summary(shard) }), shard, viaBatch);

/** Stages started before shard lists: every shard reference and result in the workflow's input and history. */
async function evaluateShardsInInput<I extends ShardedEvaluationInput, S>(
  input: I,
  steps: ShardedEvaluationSteps<I, S>,
): Promise<Evaluated<S>> {
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
    (shard) => answerShard(steps, shard),
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
