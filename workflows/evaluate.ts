// Evaluation: a model answers the test split shard by shard; the answers are scored against the gold letters.
import { continueAsNew } from '@temporalio/workflow';
import type { ProvidersConfig } from '../core/config';
import type { ItemFailures, Metric, Retrieval, SamplingParams, Score } from '../core/contracts';
import type { ModelRef, StageUsage } from '../core/types';
import { evaluateInShards, type ShardedEvaluationInput } from './sharded-evaluation';

export interface EvaluateModelInput extends ShardedEvaluationInput {
  model: ModelRef;
  providers: ProvidersConfig;
  sampling: SamplingParams;
  metric: Metric;
  /** Few-shot prompts with each question's nearest examples from a pool (the RAG baseline); zero-shot without. */
  retrieval?: Retrieval;
}

export interface ModelEvaluation {
  stage: string;
  model: ModelRef;
  score: Score;
  usage: StageUsage;
  /** Items the provider refused: not in the score. Absent when none failed. */
  itemFailures?: ItemFailures;
}

export async function evaluateModel(input: EvaluateModelInput): Promise<ModelEvaluation> {
  const shardInput = {
    runId: input.runId,
    stage: input.stage,
    model: input.model,
    providers: input.providers,
    sampling: input.sampling,
    retrieval: input.retrieval,
  };
  const { score, usage, itemFailures } = await evaluateInShards(input, {
    summary: (shard) => `${input.model.model}: shard ${shard.index + 1} of ${shard.of}`,
    answer: (activities, shard, viaBatch) =>
      activities.answerQuestions({ ...shardInput, shard, ...(viaBatch ? { viaBatch } : {}) }),
    batch: { activity: 'answerQuestions', input: shardInput, providers: input.providers },
    score: (activities, answers) =>
      activities.scoreAnswers({
        runId: input.runId,
        stage: input.stage,
        answers,
        gold: input.test,
        metric: input.metric,
        answerReading: input.sampling.answerReading,
      }),
    continueAsNew: (next) => continueAsNew<typeof evaluateModel>(next),
  });
  return { stage: input.stage, model: input.model, score, usage, ...(itemFailures ? { itemFailures } : {}) };
}
