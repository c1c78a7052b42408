// Evaluation: a model answers the test split shard by shard; the answers are scored against the gold letters.
import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Metric, Retrieval, SamplingParams, Score } from '../core/contracts';
import type { ProvidersConfig } from '../core/config';
import type { ArtifactRef, ModelRef, Shard, StageUsage } from '../core/types';
import { dataStep, shardModelCalls } from './activity-options';
import { overShards, type ShardsDone } from './shards';

export interface EvaluateModelInput {
  runId: string;
  stage: string;
  model: ModelRef;
  test: ArtifactRef;
  providers: ProvidersConfig;
  sampling: SamplingParams;
  metric: Metric;
  execution: { shardSize: number; parallelShards: number };
  /** Set when the stage continued as new: its shards and the ones it had finished. */
  shards?: Shard[];
  done?: ShardsDone<{ output: ArtifactRef; usage: StageUsage }>;
  /** Few-shot prompts with each question's nearest examples from a pool (the RAG baseline); zero-shot without. */
  retrieval?: Retrieval;
}

export interface ModelEvaluation {
  stage: string;
  model: ModelRef;
  score: Score;
  usage: StageUsage;
}

const { shardDataset, scoreAnswers } = proxyActivities<Activities>(dataStep);

const modelCalls = (summary: string) => proxyActivities<Activities>({ ...shardModelCalls, summary });

export async function evaluateModel(input: EvaluateModelInput): Promise<ModelEvaluation> {
  const shards =
    input.shards ??
    (await shardDataset({
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
      continueAsNew: (done) => continueAsNew<typeof evaluateModel>({ ...input, shards, done }),
    },
    (shard) =>
      modelCalls(`${input.model.model}: shard ${shard.index + 1} of ${shard.of}`).answerQuestions({
        runId: input.runId,
        stage: input.stage,
        shard,
        model: input.model,
        providers: input.providers,
        sampling: input.sampling,
        retrieval: input.retrieval,
      }),
  );
  const answered = results.map((r) => r.output);
  const score = await scoreAnswers({
    runId: input.runId,
    stage: input.stage,
    answers: answered,
    gold: input.test,
    metric: input.metric,
  });
  return { stage: input.stage, model: input.model, score, usage };
}
