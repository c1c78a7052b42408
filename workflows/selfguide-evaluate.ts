// SELF-GUIDE stage 5 for one model: the test split in shards, answered greedily in the task chat, then scored.
import { continueAsNew } from '@temporalio/workflow';
import type { ProvidersConfig } from '../core/config';
import type { ItemFailures, Prompting, TestScore } from '../core/contracts';
import type { SelfGuideTaskDefinition } from '../core/selfguide-prompts';
import type { ModelRef, StageUsage } from '../core/types';
import { evaluateInShards, type ShardedEvaluationInput } from './sharded-evaluation';

export interface SelfGuideEvaluateInput extends ShardedEvaluationInput {
  task: SelfGuideTaskDefinition;
  model: ModelRef;
  providers: ProvidersConfig;
  prompting: Prompting;
  maxTokens: number;
  rouge: 'words' | 'chars';
  /** Absent: ours. */
  exactMatch?: 'ours' | 'authors';
  /** Absent: porter. */
  stemmer?: 'porter' | 'nltk';
  seed: number;
}

export interface SelfGuideEvaluation {
  stage: string;
  model: ModelRef;
  score: TestScore;
  usage: StageUsage;
  /** Test items the provider refused: not in the score. Absent when none failed. */
  itemFailures?: ItemFailures;
}

export async function selfGuideEvaluate(input: SelfGuideEvaluateInput): Promise<SelfGuideEvaluation> {
  const shardInput = {
    runId: input.runId,
    stage: input.stage,
    task: input.task,
    model: input.model,
    providers: input.providers,
    prompting: input.prompting,
    maxTokens: input.maxTokens,
    seed: input.seed,
  };
  const { score, usage, itemFailures } = await evaluateInShards(input, {
    summary: (shard) => `${input.stage}: shard ${shard.index + 1} of ${shard.of}`,
    answer: (activities, shard, viaBatch) =>
      activities.answerTestShard({ ...shardInput, shard, ...(viaBatch ? { viaBatch } : {}) }),
    batch: { activity: 'answerTestShard', input: shardInput, providers: input.providers },
    score: (activities, answers) =>
      activities.scoreTestAnswers({
        runId: input.runId,
        stage: input.stage,
        answers,
        task: input.task,
        rouge: input.rouge,
        exactMatch: input.exactMatch,
        stemmer: input.stemmer,
      }),
    continueAsNew: (next) => continueAsNew<typeof selfGuideEvaluate>(next),
  });
  return { stage: input.stage, model: input.model, score, usage, ...(itemFailures ? { itemFailures } : {}) };
}
