// SELF-GUIDE stage 5 for one model: the test split in shards, answered greedily in the task chat, then scored.
import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Prompting, TestScore } from '../core/contracts';
import type { ProvidersConfig } from '../core/config';
import type { SelfGuideTaskDefinition } from '../core/selfguide-prompts';
import type { ArtifactRef, ModelRef, Shard, StageUsage } from '../core/types';
import { dataStep, shardModelCalls } from './activity-options';
import { overShards, type ShardsDone } from './shards';

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
  /** Set when the stage continued as new: its shards and the ones it had finished. */
  shards?: Shard[];
  done?: ShardsDone<{ output: ArtifactRef; usage: StageUsage }>;
}

export interface SelfGuideEvaluation {
  stage: string;
  model: ModelRef;
  score: TestScore;
  usage: StageUsage;
}

const { shardDataset, scoreTestAnswers } = proxyActivities<Activities>(dataStep);

const modelCalls = (summary: string) => proxyActivities<Activities>({ ...shardModelCalls, summary });

export async function selfGuideEvaluate(input: SelfGuideEvaluateInput): Promise<SelfGuideEvaluation> {
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
      continueAsNew: (done) => continueAsNew<typeof selfGuideEvaluate>({ ...input, shards, done }),
    },
    (shard) =>
      modelCalls(`${input.stage}: shard ${shard.index + 1} of ${shard.of}`).answerTestShard({
        runId: input.runId,
        stage: input.stage,
        shard,
        task: input.task,
        model: input.model,
        providers: input.providers,
        prompting: input.prompting,
        maxTokens: input.maxTokens,
        seed: input.seed,
      }),
  );
  const answers = results.map((r) => r.output);
  const score = await scoreTestAnswers({
    runId: input.runId,
    stage: input.stage,
    answers,
    task: input.task,
    rouge: input.rouge,
  });
  return { stage: input.stage, model: input.model, score, usage };
}
