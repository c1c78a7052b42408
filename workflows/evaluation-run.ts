// The `evaluate` method: every configured model on the test split, each as a child workflow.
import { executeChild, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { SamplingParams } from '../activities/inference';
import type { Metric } from '../activities/evaluation';
import type { ModelSpec, ProvidersConfig } from '../core/config';
import { searchAttributes } from '../core/search-attributes';
import { addUsage, emptyUsage, type ArtifactRef } from '../core/types';
import { evaluateModel, type ModelEvaluation } from './evaluate';
import { childId, progressQuery, type StageProgress } from './shared';

export interface EvaluationRunInput {
  runId: string;
  task: string;
  providers: ProvidersConfig;
  models: ModelSpec[];
  test: ArtifactRef;
  sampling: SamplingParams;
  metric: Metric;
  execution: { shardSize: number; parallelShards: number };
}

export interface EvaluationRunResult {
  runId: string;
  task: string;
  evaluations: ModelEvaluation[];
  usage: ReturnType<typeof emptyUsage>;
}

export async function evaluationRun(input: EvaluationRunInput): Promise<EvaluationRunResult> {
  const stages: StageProgress[] = input.models.map((_, i) => ({ stage: `evaluate-${i + 1}`, done: 0, total: 1 }));
  let stage = 'evaluate';
  let usage = emptyUsage();
  setHandler(progressQuery, () => ({ stage, stages, usage }));
  upsertSearchAttributes([
    { key: searchAttributes.method, value: 'evaluate' },
    { key: searchAttributes.task, value: input.task },
    { key: searchAttributes.baseModel, value: input.models[0].model },
    { key: searchAttributes.stage, value: stage },
  ]);

  const evaluations = await Promise.all(
    input.models.map(async (model, i) => {
      const evaluation = await executeChild(evaluateModel, {
        workflowId: childId(input.runId, stages[i].stage),
        args: [{ runId: input.runId, stage: stages[i].stage, model, test: input.test, providers: input.providers, sampling: input.sampling, metric: input.metric, execution: input.execution }],
        staticSummary: `evaluate ${model.provider}/${model.model} on ${input.task}`,
      });
      stages[i].done = 1;
      usage = addUsage(usage, evaluation.usage);
      upsertSearchAttributes([{ key: searchAttributes.costUsd, value: usage.costUsd }]);
      return evaluation;
    }),
  );

  stage = 'done';
  upsertSearchAttributes([
    { key: searchAttributes.stage, value: stage },
    { key: searchAttributes.accuracy, value: evaluations[0].score.accuracy },
  ]);
  return { runId: input.runId, task: input.task, evaluations, usage };
}
