// The `semievol` method (Luo et al., 2024): warm up on D_L, propagate labels in context, let collaborators answer
// D_U, justify their disagreements, select confident pseudo-labels, fine-tune on them, evaluate. Each stage is a
// child workflow or activity of its own, so the Temporal UI shows it and a resumed run skips what has finished.
import { ApplicationFailure, executeChild, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { SamplingParams } from '../activities/inference';
import type { PseudoLabelAccuracy, SelectionResult } from '../activities/semievol';
import type { FineTuneBackendConfig, ModelSpec, ProvidersConfig } from '../core/config';
import { searchAttributes } from '../core/search-attributes';
import { semievolPlan, type SemievolPlan } from '../core/semievol';
import type { SemievolOptions } from '../core/semievol-config';
import { addUsage, emptyUsage, type ArtifactRef, type FineTuneHyperparameters, type ModelRef, type Shard, type StageUsage } from '../core/types';
import { evaluateModel, type ModelEvaluation } from './evaluate';
import { fineTune } from './fine-tune';
import { collaborate, justify, propagateInContext, type Justification } from './semievol-stages';
import { childId, progressQuery, type StageProgress } from './shared';

export interface SemievolRunInput {
  runId: string;
  task: string;
  providers: ProvidersConfig;
  /** M_base. */
  model: ModelSpec;
  /** `unlabeled` carries no answers; `unlabeledGold` ({id, answer}) is read only by the pseudo-label diagnostic. */
  data: { labeled: ArtifactRef; unlabeled: ArtifactRef; unlabeledGold: ArtifactRef; test: ArtifactRef };
  fineTune: { backend: FineTuneBackendConfig; hyperparameters: FineTuneHyperparameters; finalHyperparameters: FineTuneHyperparameters };
  options: SemievolOptions;
  /** Evaluation sampling; its seed is the run's seed. */
  sampling: SamplingParams;
  execution: { shardSize: number; parallelShards: number };
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
  };
  evaluations: Evaluations;
  usage: StageUsage;
}

const { shardDataset, buildTrainingSet, selectPseudoLabels, scorePseudoLabels } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function semievolRun(input: SemievolRunInput): Promise<SemievolRunResult> {
  const plan = semievolPlan(input.options, input.sampling.seed);
  const run = trackRun(input, plan);
  const base: ModelRef = { ...input.model };
  const unlabeled = await shardDataset({ dataset: input.data.unlabeled, shardSize: input.execution.shardSize, name: `runs/${input.runId}/unlabeled/items` });

  const warm = plan.warmUp ? await run.stage('warm-up', () => warmUp(input)) : null;
  const neighbours = plan.k > 0 ? await run.stage('propagate', () => propagate(input, plan, unlabeled)) : null;
  const answers = await run.stage('collaborate', () => collaborateOn(input, plan, unlabeled, { base, warm }, neighbours?.neighbours ?? null));
  const justification = await run.stage('justify', () => justifyDisagreements(input, unlabeled, answers.answers, warm ?? base));
  const selection = await run.stage('select', () => select(input, plan, justification));
  const evolved = await run.stage('evolve', () => evolve(input, plan, selection, { base, warm }));
  const { usage: _evaluationUsage, ...evaluations } = await run.stage('evaluate', () => evaluate(input, { base, warm, evolved }));
  const accuracy = await run.stage('diagnose', () => diagnosePseudoLabels(input, justification, selection));

  run.finish(evaluations.semievol.score.accuracy);
  return {
    runId: input.runId,
    task: input.task,
    plan,
    models: { base, warm, evolved },
    pseudoLabels: {
      ...selection,
      consistencyRate: selection.counts.questions ? selection.counts.consistent / selection.counts.questions : 0,
      justified: justification.justified,
      records: justification.records,
      accuracy,
    },
    evaluations,
    usage: run.usage(),
  };
}

/** Stage by stage: the FltStage search attribute, the progress query, and cost as it accrues (FltCostUsd). */
function trackRun(input: SemievolRunInput, plan: SemievolPlan) {
  const names = [plan.warmUp && 'warm-up', plan.k > 0 && 'propagate', 'collaborate', 'justify', 'select', 'evolve', 'evaluate', 'diagnose'];
  const stages: StageProgress[] = names.filter((s): s is string => !!s).map((stage) => ({ stage, done: 0, total: 1 }));
  let current = 'queued';
  let usage = emptyUsage();
  setHandler(progressQuery, () => ({ stage: current, stages, usage }));
  upsertSearchAttributes([
    { key: searchAttributes.method, value: 'semievol' },
    { key: searchAttributes.task, value: input.task },
    { key: searchAttributes.baseModel, value: input.model.model },
  ]);
  return {
    async stage<T>(name: string, work: () => Promise<T>): Promise<T> {
      current = name;
      upsertSearchAttributes([{ key: searchAttributes.stage, value: name }]);
      const result = await work();
      const spent = (result as { usage?: StageUsage }).usage;
      if (spent) {
        usage = addUsage(usage, spent);
        upsertSearchAttributes([{ key: searchAttributes.costUsd, value: usage.costUsd }]);
      }
      stages.find((s) => s.stage === name)!.done = 1;
      return result;
    },
    finish(accuracy: number) {
      current = 'done';
      upsertSearchAttributes([
        { key: searchAttributes.stage, value: current },
        { key: searchAttributes.accuracy, value: accuracy },
      ]);
    },
    usage: () => usage,
  };
}

const collaboratorSampling = (input: SemievolRunInput) => ({ temperature: input.options.collaboration.temperature, maxTokens: input.options.collaboration.maxTokens, seed: input.sampling.seed });

/** In-weight propagation: M_warm = fine-tune(M_base, D_L). */
async function warmUp(input: SemievolRunInput): Promise<ModelRef> {
  const training = await buildTrainingSet({ runId: input.runId, stage: 'warm-up', labeled: input.data.labeled, pseudoLabeled: null });
  return executeChild(fineTune, {
    workflowId: childId(input.runId, 'warm-up'),
    args: [{ runId: input.runId, stage: 'warm-up', backend: input.fineTune.backend, providers: input.providers, baseModel: input.model, training, hyperparameters: input.fineTune.hyperparameters }],
    staticSummary: 'warm-up: M_warm = fine-tune(M_base, D_L)',
  });
}

/** In-context propagation: each unlabeled question's k nearest labeled questions. */
function propagate(input: SemievolRunInput, plan: SemievolPlan, shards: Shard[]) {
  return executeChild(propagateInContext, {
    workflowId: childId(input.runId, 'propagate'),
    args: [{ runId: input.runId, shards, providers: input.providers, execution: input.execution, retrieval: { pool: input.data.labeled, k: plan.k, retriever: input.options.propagation.retriever } }],
    staticSummary: `propagate: the ${plan.k} nearest labeled examples of each unlabeled question`,
  });
}

/** Collaborative inference: n collaborators, each a drawn model and example count, answer every question. */
function collaborateOn(input: SemievolRunInput, plan: SemievolPlan, shards: Shard[], models: { base: ModelRef; warm: ModelRef | null }, neighbours: ArtifactRef[] | null) {
  return executeChild(collaborate, {
    workflowId: childId(input.runId, 'collaborate'),
    args: [{ runId: input.runId, shards, providers: input.providers, execution: input.execution, collaborators: plan.collaborators, models, labeled: input.data.labeled, neighbours, sampling: collaboratorSampling(input) }],
    staticSummary: `collaborate: ${plan.collaborators.map((c) => `M_${c.model} with ${c.examples} examples`).join('; ')}`,
  });
}

/** Self-justification: M_warm settles every question its collaborators disagreed on. */
function justifyDisagreements(input: SemievolRunInput, shards: Shard[], answers: ArtifactRef[], justifier: ModelRef) {
  const { temperature, maxTokens } = input.options.justification;
  return executeChild(justify, {
    workflowId: childId(input.runId, 'justify'),
    args: [{ runId: input.runId, shards, providers: input.providers, execution: input.execution, answers, justifier, sampling: { temperature, maxTokens, seed: input.sampling.seed } }],
    staticSummary: 'justify: the final answer to every inconsistent question',
  });
}

/** Adaptive selection: pseudo-labels whose entropy is within the theta-th percentile. */
function select(input: SemievolRunInput, plan: SemievolPlan, justification: Justification): Promise<SelectionResult> {
  return selectPseudoLabels({ runId: input.runId, labels: justification.labels, selection: plan.selection });
}

/** M_evol = fine-tune(M_base or M_warm, D_L + selected, or the selected only). */
async function evolve(input: SemievolRunInput, plan: SemievolPlan, selection: SelectionResult, models: { base: ModelRef; warm: ModelRef | null }): Promise<ModelRef> {
  const labeled = plan.evolveOn === 'labeled-and-selected' ? input.data.labeled : null;
  const training = await buildTrainingSet({ runId: input.runId, stage: 'evolve', labeled, pseudoLabeled: { selected: selection.selected, questions: input.data.unlabeled } });
  if (training.count === 0) {
    throw ApplicationFailure.nonRetryable('No pseudo-label was selected and D_L is left out (evolution.data: selected), so there is nothing to fine-tune M_evol on.', 'NothingToTrainOn');
  }
  const start = plan.evolveFrom === 'warm' && models.warm ? models.warm : models.base;
  return executeChild(fineTune, {
    workflowId: childId(input.runId, 'evolve'),
    args: [{ runId: input.runId, stage: 'evolve', backend: input.fineTune.backend, providers: input.providers, baseModel: { provider: start.provider, model: start.model }, training, hyperparameters: input.fineTune.finalHyperparameters }],
    staticSummary: `evolve: M_evol = fine-tune(M_${plan.evolveFrom}, ${labeled ? 'D_L + ' : ''}${selection.counts.selected} pseudo-labels)`,
  });
}

/** Vanilla (M_base), SFT (M_warm), SemiEvol (M_evol) and RAG (M_base with retrieved examples) on the test split. */
async function evaluate(input: SemievolRunInput, models: { base: ModelRef; warm: ModelRef | null; evolved: ModelRef }): Promise<Evaluations & { usage: StageUsage }> {
  const on = (stage: string, model: ModelRef, retrieval?: { pool: ArtifactRef; k: number; retriever: SemievolOptions['propagation']['retriever'] }) =>
    executeChild(evaluateModel, {
      workflowId: childId(input.runId, stage),
      args: [{ runId: input.runId, stage, model, test: input.data.test, providers: input.providers, sampling: input.sampling, metric: 'option-letter' as const, execution: input.execution, retrieval }],
      staticSummary: `${stage}: ${model.provider}/${model.model} on ${input.task}`,
    });
  const [vanilla, sft, semievol, rag] = await Promise.all([
    on('evaluate-vanilla', models.base),
    models.warm ? on('evaluate-sft', models.warm) : null,
    on('evaluate-semievol', models.evolved),
    on('evaluate-rag', models.base, { pool: input.data.labeled, k: input.options.rag.k, retriever: input.options.propagation.retriever }),
  ]);
  const usage = [vanilla, sft, semievol, rag].reduce((sum, e) => (e ? addUsage(sum, e.usage) : sum), emptyUsage());
  return { vanilla, sft, semievol, rag, usage };
}

/** The pseudo-label accuracy diagnostic: the only step that reads D_U's gold answers, after every decision is made. */
function diagnosePseudoLabels(input: SemievolRunInput, justification: Justification, selection: SelectionResult): Promise<PseudoLabelAccuracy> {
  return scorePseudoLabels({ gold: input.data.unlabeledGold, labels: justification.labels, selected: selection.selected });
}
