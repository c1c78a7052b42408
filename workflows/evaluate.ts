// Evaluation: a model answers the test split shard by shard; the answers are scored against the gold letters.
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { SamplingParams } from '../activities/inference';
import type { Metric, Score } from '../activities/evaluation';
import type { Retrieval } from '../activities/retrieval';
import type { ProvidersConfig } from '../core/config';
import { addUsage, emptyUsage, type ArtifactRef, type ModelRef, type StageUsage } from '../core/types';
import { pausable } from './control';
import { mapBounded, progressQuery } from './shared';

export interface EvaluateModelInput {
  runId: string;
  stage: string;
  model: ModelRef;
  test: ArtifactRef;
  providers: ProvidersConfig;
  sampling: SamplingParams;
  metric: Metric;
  execution: { shardSize: number; parallelShards: number };
  /** Few-shot prompts with each question's nearest examples from a pool (the RAG baseline); zero-shot without. */
  retrieval?: Retrieval;
}

export interface ModelEvaluation {
  stage: string;
  model: ModelRef;
  score: Score;
  usage: StageUsage;
}

const { shardDataset, scoreAnswers } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** Model-calling activities: heartbeats detect a dead worker long before the start-to-close timeout. */
const modelCalls = (summary: string) =>
  proxyActivities<Activities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '5 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '2 minutes' },
    summary,
  });

export async function evaluateModel(input: EvaluateModelInput): Promise<ModelEvaluation> {
  const shards = await shardDataset({ dataset: input.test, shardSize: input.execution.shardSize, name: `runs/${input.runId}/${input.stage}/items` });
  let done = 0;
  const items = { done: 0, total: input.test.count };
  let usage = emptyUsage();
  setHandler(progressQuery, () => ({ stage: input.stage, stages: [{ stage: input.stage, done, total: shards.length, items }], usage }));
  const { pausePoint } = pausable();

  const answered = await mapBounded(shards, input.execution.parallelShards, async (shard) => {
    await pausePoint();
    const result = await modelCalls(`${input.model.model}: shard ${shard.index + 1} of ${shard.of}`).answerQuestions({
      runId: input.runId,
      stage: input.stage,
      shard,
      model: input.model,
      providers: input.providers,
      sampling: input.sampling,
      retrieval: input.retrieval,
    });
    done++;
    items.done += shard.items.count;
    usage = addUsage(usage, result.usage);
    return result.output;
  });
  const score = await scoreAnswers({ runId: input.runId, stage: input.stage, answers: answered, gold: input.test, metric: input.metric });
  return { stage: input.stage, model: input.model, score, usage };
}
