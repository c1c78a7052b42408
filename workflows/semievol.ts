// The `semievol` method (Luo et al., 2024): warm up on D_L, propagate labels in context, let collaborators answer
// D_U, justify their disagreements, select confident pseudo-labels, fine-tune on them, evaluate. Each stage is a
// child workflow or activity of its own, so the Temporal UI shows it and a resumed run skips what has finished.
import {
  ApplicationFailure,
  executeChild,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { fineTuneStart } from '../core/base-model';
import {
  evaluationItemFailures,
  type ExecutionOptions,
  type ItemFailures,
  type Metric,
  type PseudoLabelAccuracy,
  type SamplingParams,
  type SelectionResult,
  type StageItemFailures,
} from '../core/contracts';
import type { BaseModelSpec, FineTuneBackendConfig, ProvidersConfig } from '../core/config';
import { providersForStage, type Rerun } from '../core/rerun';
import type { ReviewOutcome } from '../core/review';
import { costUsdAttribute, searchAttributes } from '../core/search-attributes';
import { semievolPlan, type SemievolPlan } from '../core/semievol';
import type { SemievolOptions } from '../core/semievol-config';
import {
  addUsage,
  emptyUsage,
  type ArtifactRef,
  type FineTuneHyperparameters,
  type ModelRef,
  type Shard,
  type ShardList,
  type StageUsage,
} from '../core/types';
import { progressQuery, type BudgetPlan, type StageCost, type StageProgress } from '../core/workflow-messages';
import { stageStep } from './activity-options';
import { runControl } from './control';
import { evaluateModel, type ModelEvaluation } from './evaluate';
import { fineTune, fineTuneChildOptions } from './fine-tune';
import { shardListsPatch } from './shard-list-loop';
import { collaborate, justify, propagateInContext, type Justification, type ShardOutputs } from './semievol-stages';
import { reviewPseudoLabels } from './review';
import { ensureServed, servedModel, unloadingAfter } from './serving';
import { servingMeter } from './serving-time';
import { childOptions } from './shared';

export interface SemievolRunInput {
  runId: string;
  task: string;
  providers: ProvidersConfig;
  /** M_base; with `lora`, an adapter the run serves under its name before any stage calls it. */
  model: BaseModelSpec;
  /** `unlabeled` carries no answers; `unlabeledGold` ({id, answer}) is read only by the pseudo-label diagnostic. */
  data: { labeled: ArtifactRef; unlabeled: ArtifactRef; unlabeledGold: ArtifactRef; test: ArtifactRef };
  fineTune: {
    backend: FineTuneBackendConfig;
    hyperparameters: FineTuneHyperparameters;
    finalHyperparameters: FineTuneHyperparameters;
  };
  options: SemievolOptions;
  /** Evaluation sampling; its seed is the run's seed. */
  sampling: SamplingParams;
  /** How evaluations and the pseudo-label diagnostic score answers; `option-letter` when absent (older runs). */
  metric?: Metric;
  execution: ExecutionOptions;
  /** Set by `flt run`: the budget and the estimate it is checked against. */
  budget?: BudgetPlan;
  /** Set by `flt resume --from`: the stages to run again, paying anew. */
  rerun?: Rerun;
}

export interface Evaluations {
  /** M_base, zero-shot. */
  vanilla: ModelEvaluation;
  /** M_warm; null without in-weight propagation. */
  sft: ModelEvaluation | null;
  /** M_evol. */
  semievol: ModelEvaluation;
  /** M_base with its nearest labeled examples. */
  rag: ModelEvaluation;
}

export interface SemievolRunResult {
  runId: string;
  task: string;
  plan: SemievolPlan;
  models: { base: ModelRef; warm: ModelRef | null; evolved: ModelRef };
  pseudoLabels: SelectionResult & {
    /** Share of D_U on which all collaborators gave the same answer. */
    consistencyRate: number;
    justified: number;
    /** The run's stage 3 and 4 outputs, in `flt semievol select`'s input format. */
    records: ArtifactRef;
    /** Against D_U's withheld gold answers: a diagnostic that no stage reads. */
    accuracy: PseudoLabelAccuracy;
    /** With `selection.review`: the operator's decisions; `selected` and its count are then the accepted ones. */
    review?: ReviewOutcome;
  };
  evaluations: Evaluations;
  /** Questions of D_U the provider refused in collaborate or justify: without a pseudo-label. */
  itemFailures?: StageItemFailures;
  usage: StageUsage;
  costs: StageCost[];
}

/** The steps between model-calling stages, each with a summary the Temporal UI shows in the run's timeline. */
const step = (summary: string) => proxyActivities<Activities>({ ...stageStep, summary });

export function semievolRun(input: SemievolRunInput): Promise<SemievolRunResult> {
  // Adapters served for this run are unloaded at its end, however it ends.
  return unloadingAfter(input.providers, (loaded) => runStages(input, loaded));
}

async function runStages(input: SemievolRunInput, loaded: (model: ModelRef) => ModelRef): Promise<SemievolRunResult> {
  const plan = semievolPlan(input.options, input.sampling.seed);
  const run = trackRun(input, plan);
  // A configured adapter is served before anything calls it; any other base model issues no command here.
  const base = loaded(await servedModel(input.model, input.providers));
  const split = step(`split D_U (${input.data.unlabeled.count} questions) into shards of ${input.execution.shardSize}`);
  const sharding = {
    dataset: input.data.unlabeled,
    shardSize: input.execution.shardSize,
    name: `runs/${input.runId}/unlabeled/items`,
  };
  // Runs from before shard lists replay the step that returned every shard.
  const unlabeled = patched(shardListsPatch) ? await split.listShards(sharding) : await split.shardDataset(sharding);
  const shardCount = Array.isArray(unlabeled) ? unlabeled.length : unlabeled.shards.count;

  const { labeled, test } = input.data;
  const counts = `${labeled.count} labeled, ${input.data.unlabeled.count} unlabeled questions`;
  const warm = plan.warmUp
    ? loaded(
        await run.stage(
          'warm-up',
          `M_warm = fine-tune(M_base, D_L): ${labeled.count} examples`,
          () => warmUp(input, base),
          { serves: (model) => model },
        ),
      )
    : null;
  const neighbours =
    plan.k > 0
      ? await run.stage('propagate', `the ${plan.k} nearest labeled questions of each unlabeled one (${counts})`, () =>
          propagate(input, plan, unlabeled),
        )
      : null;
  const answers = await run.stage(
    'collaborate',
    `${plan.collaborators.length} collaborators answer ${input.data.unlabeled.count} questions ` +
      `in ${shardCount} shards`,
    async () => {
      const calls = (model: 'base' | 'warm') => plan.collaborators.some((c) => c.model === model);
      await ensureServed([calls('base') ? base : null, calls('warm') ? warm : null], input.providers, 'collaborate');
      return collaborateOn(input, plan, unlabeled, { base, warm }, neighbours?.neighbours ?? null);
    },
    { calls: [base, warm] },
  );
  const justification = await run.stage(
    'justify',
    `M_${warm ? 'warm' : 'base'} settles every question the collaborators disagree on`,
    async () => {
      await ensureServed([warm ?? base], input.providers, 'justify');
      return justifyDisagreements(input, unlabeled, answers.answers, warm ?? base);
    },
    { calls: [warm ?? base] },
  );
  const selection = await run.stage(
    'select',
    `pseudo-labels with entropy up to the ${plan.selection.theta}th percentile`,
    () => select(input, plan, justification),
    { paid: false },
  );
  // With `selection.review`, the operator accepts or rejects each pseudo-label before M_evol trains on it.
  const reviewed =
    input.options.selection.review && selection.counts.selected > 0
      ? await reviewPseudoLabels(run.control, { runId: input.runId, unlabeled: input.data.unlabeled }, selection)
      : selection;
  // M_evol's training set is D_L (unless left out) and exactly the selected pseudo-labels.
  const examples = (plan.evolveOn === 'labeled-and-selected' ? labeled.count : 0) + reviewed.counts.selected;
  const evolved = await run
    .stage(
      'evolve',
      `M_evol = fine-tune(M_${plan.evolveFrom}): ${examples} examples`,
      () => evolve(input, plan, reviewed, { base, warm }),
      { units: examples, serves: (model) => model },
    )
    .then(loaded);
  const { usage: _evaluationUsage, ...evaluations } = await run.stage(
    'evaluate',
    `${warm ? 'vanilla, SFT, SemiEvol and RAG' : 'vanilla, SemiEvol and RAG'} on ${test.count} test questions`,
    async () => {
      await ensureServed([base, warm, evolved], input.providers, 'evaluate');
      return evaluate(input, { base, warm, evolved });
    },
    {
      calls: [base, warm, evolved],
      itemFailures: (e) => evaluationItemFailures([e.vanilla, e.sft, e.semievol, e.rag]),
    },
  );
  const accuracy = await run.stage(
    'diagnose',
    "pseudo-label accuracy against D_U's withheld answers",
    () => diagnosePseudoLabels(input, justification, reviewed),
    { paid: false },
  );

  run.finish(evaluations.semievol.score.accuracy);
  const itemFailures: StageItemFailures = {
    ...(answers.itemFailures ? { collaborate: answers.itemFailures } : {}),
    ...(justification.itemFailures ? { justify: justification.itemFailures } : {}),
  };
  return {
    runId: input.runId,
    task: input.task,
    plan,
    models: { base, warm, evolved },
    pseudoLabels: {
      ...reviewed,
      consistencyRate: selection.counts.questions ? selection.counts.consistent / selection.counts.questions : 0,
      justified: justification.justified,
      records: justification.records,
      accuracy,
    },
    evaluations,
    ...(Object.keys(itemFailures).length ? { itemFailures } : {}),
    usage: run.control.usage(),
    costs: run.control.costs(),
  };
}

/**
 * Stage by stage: the FltStage search attribute, the progress query, the UI's current details, cost as it accrues
 * (FltCostUsd), and the operator's control: a paid stage waits while the run is paused or needs approval.
 */
function trackRun(input: SemievolRunInput, plan: SemievolPlan) {
  const names = [
    plan.warmUp && 'warm-up',
    plan.k > 0 && 'propagate',
    'collaborate',
    'justify',
    'select',
    'evolve',
    'evaluate',
    'diagnose',
  ];
  const stages: StageProgress[] = names.filter((s): s is string => !!s).map((stage) => ({ stage, done: 0, total: 1 }));
  let current = 'queued';
  const control = runControl(input.budget);
  const meter = servingMeter(input.providers);
  setHandler(progressQuery, () => ({ stage: current, stages, usage: control.usage(), costs: control.costs() }));
  upsertSearchAttributes([
    { key: searchAttributes.method, value: 'semievol' },
    { key: searchAttributes.task, value: input.task },
    { key: searchAttributes.baseModel, value: input.model.model },
  ]);
  return {
    control,
    /**
     * `units` rescales the stage's estimate to what the run now knows; unpaid stages skip the guard. `calls` (the
     * models the stage calls) and `serves` (a model it makes callable) say what serving it bills by time;
     * `itemFailures` picks the failures of a stage whose result does not carry its own.
     */
    async stage<T>(
      name: string,
      details: string,
      work: () => Promise<T>,
      opts: {
        paid?: boolean;
        units?: number;
        calls?: (ModelRef | null)[];
        serves?: (result: T) => ModelRef;
        itemFailures?: (result: T) => StageItemFailures;
      } = {},
    ): Promise<T> {
      current = name;
      upsertSearchAttributes([{ key: searchAttributes.stage, value: name }]);
      control.enter(name, `stage ${stages.findIndex((s) => s.stage === name) + 1} of ${stages.length}: ${details}`);
      if (opts.paid !== false) await control.beforePaidStep(name, opts.units);
      const from = await meter.start();
      const result = await work();
      if (opts.serves) meter.held(opts.serves(result));
      const measured = (result as { usage?: StageUsage }).usage;
      const served = await meter.charge(from, opts.calls ?? []);
      if (measured || served.costUsd > 0) {
        control.spend(name, addUsage(measured ?? emptyUsage(), served));
        upsertSearchAttributes([costUsdAttribute(control.usage().costUsd)]);
      }
      const entry = stages.find((s) => s.stage === name)!;
      entry.done = 1;
      // What `flt watch` lists under the stage: its own refused items, or its evaluations' keyed by their stage.
      const own = (result as { itemFailures?: ItemFailures }).itemFailures;
      const failures = own ? { [name]: own } : (opts.itemFailures?.(result) ?? {});
      if (Object.keys(failures).length) entry.itemFailures = failures;
      return result;
    },
    finish(accuracy: number) {
      current = 'done';
      control.enter(current, `M_evol's test accuracy ${accuracy.toFixed(3)}`);
      upsertSearchAttributes([
        { key: searchAttributes.stage, value: current },
        { key: searchAttributes.accuracy, value: accuracy },
      ]);
    },
  };
}

/** The providers a stage calls: salted from the stage `flt resume --from` named on, so those stages pay anew. */
const providersAt = (input: SemievolRunInput, stage: string) =>
  providersForStage(input.providers, 'semievolRun', stage, input.rerun);

const collaboratorSampling = (input: SemievolRunInput) => ({
  temperature: input.options.collaboration.temperature,
  maxTokens: input.options.collaboration.maxTokens,
  seed: input.sampling.seed,
  style: input.options.collaboration.style,
  layout: input.options.promptLayout,
});

/** In-weight propagation: M_warm = fine-tune(M_base, D_L). */
async function warmUp(input: SemievolRunInput, base: ModelRef): Promise<ModelRef> {
  const training = await step(`training set for M_warm: D_L (${input.data.labeled.count} examples)`).buildTrainingSet({
    runId: input.runId,
    stage: 'warm-up',
    labeled: input.data.labeled,
    pseudoLabeled: null,
    style: input.options.collaboration.style,
    layout: input.options.promptLayout,
    answerReading: input.options.answers,
  });
  return executeChild(fineTune, {
    ...fineTuneChildOptions,
    ...childOptions(input.runId, 'warm-up'),
    args: [
      {
        runId: input.runId,
        stage: 'warm-up',
        backend: input.fineTune.backend,
        providers: providersAt(input, 'warm-up'),
        ...fineTuneStart(input.fineTune.backend.kind, input.model, base),
        training,
        hyperparameters: input.fineTune.hyperparameters,
      },
    ],
    staticSummary: 'warm-up: M_warm = fine-tune(M_base, D_L)',
  });
}

/** In-context propagation: each unlabeled question's k nearest labeled questions. */
function propagate(input: SemievolRunInput, plan: SemievolPlan, shards: ShardList | Shard[]) {
  return executeChild(propagateInContext, {
    ...childOptions(input.runId, 'propagate'),
    args: [
      {
        runId: input.runId,
        shards,
        providers: providersAt(input, 'propagate'),
        execution: input.execution,
        retrieval: { pool: input.data.labeled, k: plan.k, retriever: input.options.propagation.retriever },
      },
    ],
    staticSummary: `propagate: the ${plan.k} nearest labeled examples of each unlabeled question`,
  });
}

/** Collaborative inference: n collaborators, each a drawn model and example count, answer every question. */
function collaborateOn(
  input: SemievolRunInput,
  plan: SemievolPlan,
  shards: ShardList | Shard[],
  models: { base: ModelRef; warm: ModelRef | null },
  neighbours: ShardOutputs | null,
) {
  const collaborators = plan.collaborators.map((c) => `M_${c.model} with ${c.examples} examples`).join('; ');
  return executeChild(collaborate, {
    ...childOptions(input.runId, 'collaborate'),
    args: [
      {
        runId: input.runId,
        shards,
        providers: providersAt(input, 'collaborate'),
        execution: input.execution,
        collaborators: plan.collaborators,
        models,
        labeled: input.data.labeled,
        neighbours,
        sampling: collaboratorSampling(input),
      },
    ],
    staticSummary: `collaborate: ${collaborators}`,
  });
}

/** Self-justification: M_warm settles every question its collaborators disagreed on. */
function justifyDisagreements(
  input: SemievolRunInput,
  shards: ShardList | Shard[],
  answers: ShardOutputs,
  justifier: ModelRef,
) {
  const { temperature, maxTokens } = input.options.justification;
  return executeChild(justify, {
    ...childOptions(input.runId, 'justify'),
    args: [
      {
        runId: input.runId,
        shards,
        providers: providersAt(input, 'justify'),
        execution: input.execution,
        answers,
        justifier,
        sampling: {
          temperature,
          maxTokens,
          seed: input.sampling.seed,
          style: input.options.collaboration.style,
          layout: input.options.promptLayout,
        },
        entropyOver: input.options.selection.entropyOver,
        answerReading: input.options.answers,
      },
    ],
    staticSummary: 'justify: the final answer to every inconsistent question',
  });
}

/** Adaptive selection: pseudo-labels whose entropy is within the theta-th percentile. */
function select(input: SemievolRunInput, plan: SemievolPlan, justification: Justification): Promise<SelectionResult> {
  return step(
    `adaptive selection: entropy ${plan.selection.strict ? 'below' : 'up to'} the ${plan.selection.theta}th percentile`,
  ).selectPseudoLabels({ runId: input.runId, labels: justification.labels, selection: plan.selection });
}

/** M_evol = fine-tune(M_base or M_warm, D_L + selected, or the selected only). */
async function evolve(
  input: SemievolRunInput,
  plan: SemievolPlan,
  selection: SelectionResult,
  models: { base: ModelRef; warm: ModelRef | null },
): Promise<ModelRef> {
  const labeled = plan.evolveOn === 'labeled-and-selected' ? input.data.labeled : null;
  const training = await step(
    `training set for M_evol: ${labeled ? 'D_L and ' : ''}${selection.counts.selected} selected pseudo-labels`,
  ).buildTrainingSet({
    runId: input.runId,
    stage: 'evolve',
    labeled,
    pseudoLabeled: { selected: selection.selected, questions: input.data.unlabeled },
    style: input.options.collaboration.style,
    layout: input.options.promptLayout,
    answerReading: input.options.answers,
  });
  if (training.count === 0) {
    throw ApplicationFailure.nonRetryable(
      'No pseudo-label was selected and D_L is left out (evolution.data: selected), ' +
        'so there is nothing to fine-tune M_evol on.',
      'NothingToTrainOn',
    );
  }
  const from = plan.evolveFrom === 'warm' && models.warm ? models.warm : models.base;
  const start = fineTuneStart(input.fineTune.backend.kind, input.model, from);
  return executeChild(fineTune, {
    ...fineTuneChildOptions,
    ...childOptions(input.runId, 'evolve'),
    args: [
      {
        runId: input.runId,
        stage: 'evolve',
        backend: input.fineTune.backend,
        providers: providersAt(input, 'evolve'),
        ...start,
        training,
        hyperparameters: input.fineTune.finalHyperparameters,
        // M_warm's server holds the first port until the run ends (both are evaluated): M_evol's gets the next.
        ...(models.warm?.server ? { serverPosition: 1 } : {}),
      },
    ],
    staticSummary:
      `evolve: M_evol = fine-tune(M_${plan.evolveFrom}, ` +
      `${labeled ? 'D_L + ' : ''}${selection.counts.selected} pseudo-labels)`,
  });
}

/** Vanilla (M_base), SFT (M_warm), SemiEvol (M_evol) and RAG (M_base with retrieved examples) on the test split. */
async function evaluate(
  input: SemievolRunInput,
  models: { base: ModelRef; warm: ModelRef | null; evolved: ModelRef },
): Promise<Evaluations & { usage: StageUsage }> {
  const on = (
    stage: string,
    model: ModelRef,
    retrieval?: { pool: ArtifactRef; k: number; retriever: SemievolOptions['propagation']['retriever'] },
  ) =>
    executeChild(evaluateModel, {
      ...childOptions(input.runId, stage),
      args: [
        {
          runId: input.runId,
          stage,
          model,
          test: input.data.test,
          providers: providersAt(input, 'evaluate'),
          sampling: {
            ...input.sampling,
            style: input.options.collaboration.style,
            layout: input.options.promptLayout,
            answerReading: input.options.answers,
          },
          metric: input.metric ?? 'option-letter',
          execution: input.execution,
          retrieval,
        },
      ],
      staticSummary: `${stage}: ${model.provider}/${model.model} on ${input.task}`,
    });
  const [vanilla, sft, semievol, rag] = await Promise.all([
    on('evaluate-vanilla', models.base),
    models.warm ? on('evaluate-sft', models.warm) : null,
    on('evaluate-semievol', models.evolved),
    on('evaluate-rag', models.base, {
      pool: input.data.labeled,
      k: input.options.rag.k,
      retriever: input.options.propagation.retriever,
    }),
  ]);
  const usage = [vanilla, sft, semievol, rag].reduce((sum, e) => (e ? addUsage(sum, e.usage) : sum), emptyUsage());
  return { vanilla, sft, semievol, rag, usage };
}

/** The pseudo-label accuracy diagnostic: the only step that reads D_U's gold answers, after every decision is made. */
function diagnosePseudoLabels(
  input: SemievolRunInput,
  justification: Justification,
  selection: SelectionResult,
): Promise<PseudoLabelAccuracy> {
  return step("diagnostic: pseudo-labels against D_U's withheld answers").scorePseudoLabels({
    gold: input.data.unlabeledGold,
    labels: justification.labels,
    selected: selection.selected,
    metric: input.metric ?? 'option-letter',
    answerReading: input.options.answers,
  });
}
