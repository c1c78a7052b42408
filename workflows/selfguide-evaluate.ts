// SELF-GUIDE stage 5 for one model: the test split in shards, answered greedily in the task chat, then scored.
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Prompting, TestScore } from '../activities/selfguide-evaluation';
import type { ProvidersConfig } from '../core/config';
import type { SelfGuideTaskDefinition } from '../core/selfguide-prompts';
import { addUsage, emptyUsage, type ArtifactRef, type ModelRef, type StageUsage } from '../core/types';
import { pausable } from './control';
import { mapBounded, progressQuery } from './shared';

export interface SelfGuideEvaluateInput {
  runId: string;
  stage: string;
  task: SelfGuideTaskDefinition;
  test: ArtifactRef;
  model: ModelRef;
  providers: ProvidersConfig;
  prompting: Prompting;
  maxTokens: number;
  rouge: 'words' | 'chars';
  seed: number;
  execution: { shardSize: number; parallelShards: number };
}

export interface SelfGuideEvaluation {
  stage: string;
  model: ModelRef;
  score: TestScore;
  usage: StageUsage;
}

const { shardDataset, scoreTestAnswers } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

const modelCalls = (summary: string) =>
  proxyActivities<Activities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '5 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '2 minutes' },
    summary,
  });

export async function selfGuideEvaluate(input: SelfGuideEvaluateInput): Promise<SelfGuideEvaluation> {
  const shards = await shardDataset({ dataset: input.test, shardSize: input.execution.shardSize, name: `runs/${input.runId}/${input.stage}/items` });
  let done = 0;
  const items = { done: 0, total: input.test.count };
  let usage = emptyUsage();
  setHandler(progressQuery, () => ({ stage: input.stage, stages: [{ stage: input.stage, done, total: shards.length, items }], usage }));
  const { pausePoint } = pausable();
  const answers = await mapBounded(shards, input.execution.parallelShards, async (shard) => {
    await pausePoint();
    const result = await modelCalls(`${input.stage}: shard ${shard.index + 1} of ${shard.of}`).answerTestShard({
      runId: input.runId,
      stage: input.stage,
      shard,
      task: input.task,
      model: input.model,
      providers: input.providers,
      prompting: input.prompting,
      maxTokens: input.maxTokens,
      seed: input.seed,
    });
    done++;
    items.done += shard.items.count;
    usage = addUsage(usage, result.usage);
    return result.output;
  });
  const score = await scoreTestAnswers({ runId: input.runId, stage: input.stage, answers, task: input.task, rouge: input.rouge });
  return { stage: input.stage, model: input.model, score, usage };
}
