// The `evaluate` method: every configured model on the test split, each as a child workflow.
import { executeChild, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { ExecutionOptions, Metric, SamplingParams } from '../core/contracts';
import type { EvaluatedModelSpec, ProvidersConfig } from '../core/config';
import { costUsdAttribute, searchAttributes } from '../core/search-attributes';
import type { ArtifactRef, ModelRef, StageUsage } from '../core/types';
import { progressQuery, type BudgetPlan, type StageCost, type StageProgress } from '../core/workflow-messages';
import { runControl } from './control';
import { evaluateModel, type ModelEvaluation } from './evaluate';
import { servedModel, unloadingAfter } from './serving';
import { servingMeter } from './serving-time';
import { childOptions } from './shared';

export interface EvaluationRunInput {
  runId: string;
  task: string;
  providers: ProvidersConfig;
  /** A model with `lora` is served first and unloaded at the end (workflows/serving.ts). */
  models: EvaluatedModelSpec[];
  test: ArtifactRef;
  sampling: SamplingParams;
  metric: Metric;
  execution: ExecutionOptions;
  /** Set by `flt run`: the budget and the estimate it is checked against. */
  budget?: BudgetPlan;
}

export interface EvaluationRunResult {
  runId: string;
  task: string;
  evaluations: ModelEvaluation[];
  usage: StageUsage;
  costs: StageCost[];
}

export async function evaluationRun(input: EvaluationRunInput): Promise<EvaluationRunResult> {
  const stages: StageProgress[] = input.models.map((_, i) => ({ stage: `evaluate-${i + 1}`, done: 0, total: 1 }));
  let stage = 'evaluate';
  const control = runControl(input.budget);
  setHandler(progressQuery, () => ({ stage, stages, usage: control.usage(), costs: control.costs() }));
  upsertSearchAttributes([
    { key: searchAttributes.method, value: 'evaluate' },
    { key: searchAttributes.task, value: input.task },
    { key: searchAttributes.baseModel, value: input.models[0].model },
    { key: searchAttributes.stage, value: stage },
  ]);

  control.enter(stage, `${input.models.length} model(s) answer ${input.test.count} test questions`);
  await control.beforePaidStep(stage);
  const meter = servingMeter(input.providers);
  const from = await meter.start();
  const evaluations = await unloadingAfter(input.providers, (loaded) =>
    Promise.all(input.models.map(async (spec, i) => evaluate(loaded(await servedModel(spec, input.providers)), i))),
  );
  const served = await meter.charge(
    from,
    evaluations.map((e) => e.model),
  );
  if (served.costUsd > 0) {
    control.spend(stage, served);
    upsertSearchAttributes([costUsdAttribute(control.usage().costUsd)]);
  }
  async function evaluate(model: ModelRef, i: number): Promise<ModelEvaluation> {
    const evaluation = await executeChild(evaluateModel, {
      ...childOptions(input.runId, stages[i].stage),
      args: [
        {
          runId: input.runId,
          stage: stages[i].stage,
          model,
          test: input.test,
          providers: input.providers,
          sampling: input.sampling,
          metric: input.metric,
          execution: input.execution,
        },
      ],
      staticSummary: `evaluate ${model.provider}/${model.model} on ${input.task}`,
    });
    stages[i].done = 1;
    if (evaluation.itemFailures) stages[i].itemFailures = { [stages[i].stage]: evaluation.itemFailures };
    control.spend(stage, evaluation.usage);
    upsertSearchAttributes([costUsdAttribute(control.usage().costUsd)]);
    return evaluation;
  }

  stage = 'done';
  control.enter(stage, `accuracy ${evaluations.map((e) => e.score.accuracy.toFixed(3)).join(', ')}`);
  upsertSearchAttributes([
    { key: searchAttributes.stage, value: stage },
    { key: searchAttributes.accuracy, value: evaluations[0].score.accuracy },
  ]);
  return { runId: input.runId, task: input.task, evaluations, usage: control.usage(), costs: control.costs() };
}
