// SELF-GUIDE (Zhao et al., 2024) on one task: the model writes inputs, filters clean them, it labels them itself,
// is fine-tuned on its own data, and is compared with few-shot prompting, Self-ICL and few-shot fine-tuning.
import { setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { SyntheticDataResult } from '../activities/selfguide-data';
import type { FilterCounts } from '../core/selfguide-filters';
import type { SelfGuideSettings } from '../core/selfguide-config';
import { searchAttributes } from '../core/search-attributes';
import type { ModelRef, StageUsage } from '../core/types';
import {
  evaluate,
  filterInputs,
  fineTuneOn,
  generateInputs,
  goldTraining,
  sampleAnnotations,
  sumUsage,
  synthesize,
  type SelfGuidePipeline,
  type SelfGuideTaskRun,
} from './selfguide-stages';
import type { SelfGuideEvaluation } from './selfguide-evaluate';
import { progressQuery, type StageProgress } from './shared';

export interface SelfGuideRunInput extends SelfGuidePipeline, SelfGuideTaskRun {
  runId: string;
  settings: SelfGuideSettings;
}

export interface SelfGuideRunResult {
  runId: string;
  task: string;
  settings: SelfGuideSettings;
  inputs: { generated: number; filters: FilterCounts };
  synthetic: { pairs: number; dropped: SyntheticDataResult['dropped'] };
  models: { selfGuide: ModelRef; fewShotFineTune: ModelRef };
  /** Few-shot prompting, Self-ICL, few-shot fine-tuning and SELF-GUIDE, in that order. */
  evaluations: SelfGuideEvaluation[];
  usage: StageUsage;
}

export async function selfGuideRun(input: SelfGuideRunInput): Promise<SelfGuideRunResult> {
  const { runId, task, settings } = input;
  const stages: StageProgress[] = ['generate-inputs', 'filter-inputs', 'annotate-outputs', 'fine-tune', 'evaluate'].map((stage) => ({ stage, done: 0, total: 1 }));
  let stage = stages[0].stage;
  const usages: StageUsage[] = [];
  setHandler(progressQuery, () => ({ stage, stages, usage: sumUsage(usages) }));
  const enter = (index: number) => {
    if (index > 0) stages[index - 1].done = stages[index - 1].total;
    stage = stages[index].stage;
    upsertSearchAttributes([
      { key: searchAttributes.stage, value: stage },
      { key: searchAttributes.costUsd, value: sumUsage(usages).costUsd },
    ]);
  };
  // The paper's output length rule compares with gold outputs; classification outputs are labels.
  const outputLengthFilter = settings.outputLengthFilter && task.kind === 'generation';

  enter(0);
  const inputs = await generateInputs(runId, task, settings.inputTemperature, input, (done, of) => Object.assign(stages[0], { done, total: of }));
  usages.push(inputs.usage);

  enter(1);
  const filtered = await filterInputs(runId, 'filter-inputs', task, inputs.generated, settings.inputLengthFilter);

  enter(2);
  const samples = await sampleAnnotations(runId, 'annotate-outputs', task, filtered.kept, input);
  usages.push(samples.usage);
  const synthetic = await synthesize(runId, 'annotate-outputs', task, samples.annotated, filtered.kept, outputLengthFilter, input);

  enter(3);
  const [selfGuide, fewShotFineTune] = await Promise.all([
    fineTuneOn(runId, 'fine-tune', synthetic.training, settings.epochs, input),
    goldTraining(runId, task).then((gold) => fineTuneOn(runId, 'fine-tune-few-shot', gold, settings.epochs, input)),
  ]);

  enter(4);
  const evaluations = await Promise.all([
    evaluate(runId, 'evaluate-few-shot', input, input.model, { kind: 'few-shot' }, input),
    evaluate(runId, 'evaluate-self-icl', input, input.model, { kind: 'self-icl', synthetic: synthetic.pairs, contextTokens: input.evaluation.contextTokens }, input),
    evaluate(runId, 'evaluate-few-shot-fine-tune', input, fewShotFineTune, { kind: 'few-shot' }, input),
    evaluate(runId, 'evaluate-self-guide', input, selfGuide, { kind: 'few-shot' }, input),
  ]);
  usages.push(...evaluations.map((e) => e.usage));
  stages[4].done = 1;
  stage = 'done';
  upsertSearchAttributes([
    { key: searchAttributes.stage, value: stage },
    { key: searchAttributes.costUsd, value: sumUsage(usages).costUsd },
    { key: searchAttributes.accuracy, value: evaluations[3].score.score },
  ]);

  return {
    runId,
    task: task.name,
    settings: { ...settings, outputLengthFilter },
    inputs: { generated: inputs.generated.count, filters: filtered.counts },
    synthetic: { pairs: synthetic.pairs.count, dropped: synthetic.dropped },
    models: { selfGuide, fewShotFineTune },
    evaluations,
    usage: sumUsage(usages),
  };
}
