// SELF-GUIDE (Zhao et al., 2024) on one task: the model writes inputs, filters clean them, it labels them itself,
// is fine-tuned on its own data, and is compared with few-shot prompting, Self-ICL and few-shot fine-tuning.
import { patched, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { fineTuneStart } from '../core/base-model';
import type { BaseModelSpec } from '../core/config';
import { evaluationItemFailures, type StageItemFailures, type SyntheticDataResult } from '../core/contracts';
import type { FilterCounts } from '../core/selfguide-filters';
import type { SelfGuideSettings } from '../core/selfguide-config';
import { providersForStage, type Rerun } from '../core/rerun';
import type { ReviewOutcome } from '../core/review';
import { costUsdAttribute, searchAttributes } from '../core/search-attributes';
import { addUsage, type ArtifactRef, type ModelRef, type StageUsage } from '../core/types';
import { progressQuery, type BudgetPlan, type StageCost, type StageProgress } from '../core/workflow-messages';
import { runControl } from './control';
import {
  evaluate,
  filterInputs,
  fineTuneOn,
  generateInputs,
  goldTraining,
  drawAnnotationSamples,
  synthesize,
  type SelfGuidePipeline,
  type SelfGuideTaskRun,
} from './selfguide-stages';
import { chooseEpoch, type EpochChoice } from './selfguide-best-epoch';
import type { SelfGuideEvaluation } from './selfguide-evaluate';
import { reviewSyntheticPairs } from './review';
import { ensureServed, servedModel, unloadingAfter } from './serving';
import { servingMeter } from './serving-time';

export interface SelfGuideRunInput extends Omit<SelfGuidePipeline, 'model' | 'fineTuneFrom'>, SelfGuideTaskRun {
  runId: string;
  /** With `lora`, an adapter the run serves under its name before any stage calls it. */
  model: BaseModelSpec;
  settings: SelfGuideSettings;
  /** The task's validation split, on which each epoch's checkpoint is scored; absent where the folder has none. */
  validationSplit?: ArtifactRef;
  /** Set by `flt run`: the budget and the estimate it is checked against. */
  budget?: BudgetPlan;
  /** Set by `flt resume --from`: the stages to run again, paying anew. */
  rerun?: Rerun;
}

export interface SelfGuideRunResult {
  runId: string;
  task: string;
  settings: SelfGuideSettings;
  /** `redrawnPrompts`: generation prompts drawn again for being over `generation.maxPromptTokens`. */
  inputs: { generated: number; redrawnPrompts: number; filters: FilterCounts };
  /** `data`: the synthetic `{input, output}` pairs; `tooLongToTrain` of them are over `fineTune.maxExampleTokens`. */
  synthetic: {
    pairs: number;
    dropped: SyntheticDataResult['dropped'];
    tooLongToTrain: number;
    data: ArtifactRef;
    /** With `annotation.review`: the operator's decisions; `pairs` and `data` are then the accepted ones. */
    review?: ReviewOutcome;
  };
  models: { selfGuide: ModelRef; fewShotFineTune: ModelRef };
  /** Which epoch's model is SELF-GUIDE's, and each epoch's validation score (absent in runs started before). */
  epochChoice?: EpochChoice;
  /** Few-shot prompting, Self-ICL, few-shot fine-tuning and SELF-GUIDE, in that order. */
  evaluations: SelfGuideEvaluation[];
  /** Test items left out as over the authors' token limits (`evaluation.longItems: drop`); absent otherwise. */
  longTestItemsDropped?: number;
  /** Generation prompts and inputs to annotate that the provider refused: they added nothing. */
  itemFailures?: StageItemFailures;
  usage: StageUsage;
  costs: StageCost[];
}

export function selfGuideRun(input: SelfGuideRunInput): Promise<SelfGuideRunResult> {
  // Adapters served for this run are unloaded at its end, however it ends.
  return unloadingAfter(input.providers, (loaded) => runSelfGuide(input, loaded));
}

async function runSelfGuide(
  input: SelfGuideRunInput,
  loaded: (model: ModelRef) => ModelRef,
): Promise<SelfGuideRunResult> {
  const { runId, task, settings } = input;
  const stages: StageProgress[] = ['generate-inputs', 'filter-inputs', 'annotate-outputs', 'fine-tune', 'evaluate'].map(
    (stage) => ({ stage, done: 0, total: 1 }),
  );
  let stage = stages[0].stage;
  const control = runControl(input.budget);
  setHandler(progressQuery, () => ({ stage, stages, usage: control.usage(), costs: control.costs() }));
  // A campaign's test runs are runs of their own: they carry the attributes `flt run` gives a run it starts.
  // Patched: a run started before this upsert existed replays without it.
  if (patched('selfguide-run-search-attributes')) {
    upsertSearchAttributes([
      { key: searchAttributes.method, value: 'selfguide' },
      { key: searchAttributes.task, value: task.name },
      { key: searchAttributes.baseModel, value: input.model.model },
    ]);
  }
  /**
   * Enters stage `index`; a paid stage waits while the run is paused or needs approval (`units` rescales its
   * estimate).
   */
  const enter = async (index: number, details: string, guard: { paid: boolean; units?: number }) => {
    if (index > 0) stages[index - 1].done = stages[index - 1].total;
    stage = stages[index].stage;
    upsertSearchAttributes([{ key: searchAttributes.stage, value: stage }, costUsdAttribute(control.usage().costUsd)]);
    control.enter(stage, `stage ${index + 1} of ${stages.length}: ${details}`);
    if (guard.paid) await control.beforePaidStep(stage, guard.units);
  };
  // A configured adapter is served before anything calls it; any other model issues no command here.
  const model = loaded(await servedModel(input.model, input.providers));
  const fineTuneFrom = model.adapter ? fineTuneStart(input.fineTune.backend.kind, input.model, model) : undefined;
  /** The pipeline as a stage sees it: salted providers from the stage `flt resume --from` named on. */
  const at = (stageName: string): SelfGuidePipeline => ({
    ...input,
    model,
    ...(fineTuneFrom ? { fineTuneFrom } : {}),
    providers: providersForStage(input.providers, 'selfGuideRun', stageName, input.rerun),
  });
  // The paper's output length rule compares with gold outputs; classification outputs are labels.
  const outputLengthFilter = settings.outputLengthFilter && task.kind === 'generation';
  const meter = servingMeter(input.providers);

  await enter(0, `the model writes inputs at temperature ${settings.inputTemperature}`, { paid: true });
  let from = await meter.start();
  const inputs = await generateInputs(
    runId,
    task,
    settings.inputTemperature,
    at('generate-inputs'),
    (done, of) => Object.assign(stages[0], { done, total: of }),
    control.pausePoint,
  );
  control.spend(stage, addUsage(inputs.usage, await meter.charge(from, [model])));
  if (inputs.itemFailures) stages[0].itemFailures = { 'generate-inputs': inputs.itemFailures };

  await enter(
    1,
    `${inputs.generated.count} generated inputs (${inputs.redrawnPrompts} prompts re-drawn for length) ` +
      'through the empty, noise, ' +
      `${settings.inputLengthFilter ? 'length, ' : ''}duplicate filters`,
    { paid: false },
  );
  const filtered = await filterInputs(
    runId,
    'filter-inputs',
    task,
    inputs.generated,
    settings.inputLengthFilter,
    at('filter-inputs'),
  );

  await enter(
    2,
    `${input.annotation.samples} answers for each of ${filtered.kept.count} kept inputs, then the majority vote`,
    { paid: true, units: filtered.kept.count },
  );
  from = await meter.start();
  await ensureServed([model], input.providers, 'annotate-outputs');
  const samples = await drawAnnotationSamples(runId, 'annotate-outputs', task, filtered.kept, at('annotate-outputs'));
  control.spend(stage, addUsage(samples.usage, await meter.charge(from, [model])));
  if (samples.itemFailures) stages[2].itemFailures = { 'annotate-outputs': samples.itemFailures };
  const annotated = await synthesize(
    runId,
    'annotate-outputs',
    task,
    samples.annotated,
    filtered.kept,
    outputLengthFilter,
    at('annotate-outputs'),
  );

  // With `annotation.review`, the operator accepts or rejects each pair before the model trains on its own data.
  const synthetic: SyntheticDataResult & { review?: ReviewOutcome } =
    input.annotation.review && annotated.pairs.count > 0
      ? await reviewSyntheticPairs(
          control,
          { runId, task, maxExampleTokens: input.fineTune.maxExampleTokens },
          annotated,
        )
      : annotated;

  await enter(
    3,
    `SELF-GUIDE on ${synthetic.training.count} synthetic pairs ` +
      `(${synthetic.tooLongToTrain} left out as too long), ` +
      `few-shot fine-tuning on ${task.examples.length} gold examples`,
    {
      paid: true,
      units: synthetic.training.count + task.examples.length,
    },
  );
  from = await meter.start();
  const [trained, fewShotFineTune] = await Promise.all([
    fineTuneOn(runId, 'fine-tune', synthetic.training, settings.epochs, at('fine-tune')).then(loaded),
    goldTraining(runId, task, input).then((gold) =>
      // Served beside SELF-GUIDE's model, both evaluated at once: a merged checkpoint's server takes the next port.
      fineTuneOn(runId, 'fine-tune-few-shot', gold, settings.epochs, at('fine-tune'), 1).then(loaded),
    ),
  ]);
  // A dedicated endpoint bills from its start, in this stage, until the run stops it.
  [trained, fewShotFineTune].forEach(meter.held);
  control.spend(stage, await meter.charge(from, []));

  await enter(
    4,
    `few-shot prompting, Self-ICL, few-shot fine-tuning and SELF-GUIDE on ${input.test.count} test items`,
    { paid: true },
  );
  // Scoring the epochs on the validation split is serving time too.
  from = await meter.start();
  // Patched: a run started before this choice evaluates the last epoch, as it did.
  const chosen = patched('selfguide-best-epoch')
    ? await chooseEpoch(
        runId,
        task,
        input.validationSplit,
        { stage: 'fine-tune', model: trained, training: synthetic.training, epochs: settings.epochs },
        at('evaluate'),
        loaded,
      )
    : null;
  if (chosen) control.spend(stage, chosen.usage);
  const selfGuide = chosen?.model ?? trained;
  const evaluations = await Promise.all([
    evaluate(runId, 'evaluate-few-shot', input, model, { kind: 'few-shot' }, at('evaluate')),
    evaluate(
      runId,
      'evaluate-self-icl',
      input,
      model,
      { kind: 'self-icl', synthetic: synthetic.pairs, contextTokens: input.evaluation.contextTokens },
      at('evaluate'),
    ),
    evaluate(runId, 'evaluate-few-shot-fine-tune', input, fewShotFineTune, { kind: 'few-shot' }, at('evaluate')),
    evaluate(runId, 'evaluate-self-guide', input, selfGuide, { kind: 'few-shot' }, at('evaluate')),
  ]);
  for (const e of evaluations) control.spend(stage, e.usage);
  control.spend(stage, await meter.charge(from, [model, fewShotFineTune, selfGuide]));
  stages[4].done = 1;
  const evaluationFailures = evaluationItemFailures(evaluations);
  if (Object.keys(evaluationFailures).length) stages[4].itemFailures = evaluationFailures;
  stage = 'done';
  control.enter(stage, `SELF-GUIDE ${evaluations[3].score.metric} ${evaluations[3].score.score.toFixed(3)}`);
  upsertSearchAttributes([
    { key: searchAttributes.stage, value: stage },
    costUsdAttribute(control.usage().costUsd),
    { key: searchAttributes.accuracy, value: evaluations[3].score.score },
  ]);

  const itemFailures: StageItemFailures = {
    ...(inputs.itemFailures ? { 'generate-inputs': inputs.itemFailures } : {}),
    ...(samples.itemFailures ? { 'annotate-outputs': samples.itemFailures } : {}),
  };
  return {
    runId,
    task: task.name,
    settings: { ...settings, outputLengthFilter },
    inputs: { generated: inputs.generated.count, redrawnPrompts: inputs.redrawnPrompts, filters: filtered.counts },
    synthetic: {
      pairs: synthetic.pairs.count,
      dropped: synthetic.dropped,
      tooLongToTrain: synthetic.tooLongToTrain,
      data: synthetic.pairs,
      ...(synthetic.review ? { review: synthetic.review } : {}),
    },
    models: { selfGuide, fewShotFineTune },
    ...(chosen ? { epochChoice: chosen.choice } : {}),
    evaluations,
    ...(input.longItemsDropped === undefined ? {} : { longTestItemsDropped: input.longItemsDropped }),
    ...(Object.keys(itemFailures).length ? { itemFailures } : {}),
    usage: control.usage(),
    costs: control.costs(),
  };
}
