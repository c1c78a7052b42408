// SELF-GUIDE's stages as workflow steps, shared by a single run and the campaign: each is an activity or a child
// workflow with a deterministic id, so a resumed run finds its finished steps again.
import { executeChild, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type {
  CheckpointingBackendConfig,
  ExecutionOptions,
  FilterStageResult,
  GenerateInputRoundResult,
  ItemFailure,
  ItemFailures,
  Prompting,
  SyntheticDataResult,
} from '../core/contracts';
import type { FineTuneStart } from '../core/base-model';
import { selfGuideBatchStage } from '../core/batch';
import type { ProvidersConfig } from '../core/config';
import { roundsFor, type SelfGuideCampaignConfig } from '../core/selfguide-config';
import type { SelfGuideTaskDefinition } from '../core/selfguide-prompts';
import { addUsage, emptyUsage, type ArtifactRef, type ModelRef, type StageUsage } from '../core/types';
import { dataStep, stageModelCalls } from './activity-options';
import { answerByBatch } from './batch-stage';
import { fineTune, fineTuneChildOptions } from './fine-tune';
import { ensureServed, isServedAdapter } from './serving';
import { selfGuideEvaluate, type SelfGuideEvaluation } from './selfguide-evaluate';
import { childOptions } from './shared';
import { checkItemFailures } from './shards';

/** What every SELF-GUIDE step needs from the run's config. */
export interface SelfGuidePipeline {
  providers: ProvidersConfig;
  /** The model stages call: the configured one, or the adapter a run serves as its base model. */
  model: ModelRef;
  /** What fine-tunes start from when not `model` as it is: a served adapter's model, and the adapter if continued. */
  fineTuneFrom?: FineTuneStart;
  fineTune: SelfGuideCampaignConfig['fineTune'];
  generation: SelfGuideCampaignConfig['generation'];
  annotation: SelfGuideCampaignConfig['annotation'];
  evaluation: SelfGuideCampaignConfig['evaluation'];
  execution: ExecutionOptions;
  seed: number;
}

/** A task as workflows carry it: its definition and its (possibly truncated) test split. */
export interface SelfGuideTaskRun {
  task: SelfGuideTaskDefinition;
  test: ArtifactRef;
  /** Items of the split left out as over the authors' token limits (`evaluation.longItems: drop`). */
  longItemsDropped?: number;
}

const { filterGeneratedInputs, buildSyntheticData, goldTrainingSet, fineTuneCheckpoints } =
  proxyActivities<Activities>(dataStep);

const modelCalls = (summary: string) => proxyActivities<Activities>({ ...stageModelCalls, summary });

/**
 * Sends a stage's calls (a generation round's, or annotation's) through the provider's Batch API first when
 * `execution.batch` says so; true when its activity is to read the answers.
 */
function viaBatchFirst(
  pipeline: SelfGuidePipeline,
  stage: 'generate-inputs' | 'annotate-outputs',
  activity: 'generateInputRound' | 'sampleAnnotations',
  input: { runId: string; stage: string },
  round?: number,
): Promise<boolean> {
  if (!pipeline.execution.batch) return Promise.resolve(false);
  return answerByBatch({
    runId: input.runId,
    stage,
    name: selfGuideBatchStage(input.stage, round),
    providers: pipeline.providers,
    options: pipeline.execution.batch,
    work: { activity, input },
  });
}

/**
 * Stage 1: one activity per round, the inputs so far travelling as an artifact, so history grows by round only.
 * `pausePoint` runs before each round: a paused run starts no new round. Each prompt is an item: the stage stops as
 * soon as more than `execution.maxItemFailureShare` of all its prompts have been refused.
 */
export async function generateInputs(
  runId: string,
  task: SelfGuideTaskDefinition,
  temperature: number,
  pipeline: SelfGuidePipeline,
  onRound: (done: number, of: number) => void,
  pausePoint: () => Promise<void>,
) {
  const rounds = roundsFor(pipeline.generation.rounds, task.kind);
  let generated: ArtifactRef | null = null;
  let library = 0;
  let redrawnPrompts = 0;
  let usage = emptyUsage();
  const failures: ItemFailure[] = [];
  let itemFailures: ItemFailures | undefined;
  for (let round = 1; round <= rounds; round++) {
    await pausePoint();
    const roundInput = {
      runId,
      stage: 'generate-inputs',
      round,
      task,
      generated,
      model: pipeline.model,
      providers: pipeline.providers,
      temperature,
      maxTokens: pipeline.generation.maxTokens,
      promptsPerRound: pipeline.generation.promptsPerRound,
      maxPromptTokens: pipeline.generation.maxPromptTokens,
      filters: pipeline.generation.filters,
      seed: pipeline.seed,
    };
    const viaBatch = await viaBatchFirst(pipeline, 'generate-inputs', 'generateInputRound', roundInput, round);
    const result: GenerateInputRoundResult = await modelCalls(
      `generate inputs: round ${round} of ${rounds}`,
    ).generateInputRound({ ...roundInput, ...(viaBatch ? { viaBatch } : {}) });
    generated = result.generated;
    library = result.library;
    redrawnPrompts = result.redrawnPrompts;
    usage = addUsage(usage, result.usage);
    failures.push(...(result.failures ?? []));
    itemFailures = checkItemFailures(
      'generate-inputs',
      rounds * pipeline.generation.promptsPerRound,
      failures,
      pipeline.execution.maxItemFailureShare,
    );
    onRound(round, rounds);
  }
  return { generated: generated!, library, redrawnPrompts, usage, ...(itemFailures ? { itemFailures } : {}) };
}

/** Stage 2 under the run's `generation.filters`. */
export function filterInputs(
  runId: string,
  stage: string,
  task: SelfGuideTaskDefinition,
  generated: ArtifactRef,
  lengthFilter: boolean,
  pipeline: SelfGuidePipeline,
): Promise<FilterStageResult> {
  return filterGeneratedInputs({ runId, stage, generated, task, lengthFilter, filters: pipeline.generation.filters });
}

/**
 * Stage 3's model calls: `annotation.samples` answers for each input the provider does not refuse; the stage stops
 * when it refuses more than `execution.maxItemFailureShare` of them.
 */
export async function drawAnnotationSamples(
  runId: string,
  stage: string,
  task: SelfGuideTaskDefinition,
  inputs: ArtifactRef,
  pipeline: SelfGuidePipeline,
) {
  const { samples, temperature, maxTokens } = pipeline.annotation;
  const annotationInput = {
    runId,
    stage,
    inputs,
    task,
    model: pipeline.model,
    providers: pipeline.providers,
    samples,
    temperature,
    maxTokens,
    filters: pipeline.generation.filters,
    seed: pipeline.seed,
  };
  const viaBatch = await viaBatchFirst(pipeline, 'annotate-outputs', 'sampleAnnotations', annotationInput);
  const { failures, ...drawn } = await modelCalls(
    `annotate ${inputs.count} inputs, ${samples} samples each`,
  ).sampleAnnotations({ ...annotationInput, ...(viaBatch ? { viaBatch } : {}) });
  const itemFailures = checkItemFailures(stage, inputs.count, failures ?? [], pipeline.execution.maxItemFailureShare);
  return { ...drawn, ...(itemFailures ? { itemFailures } : {}) };
}

/** Stage 3's rules over samples drawn earlier (a superset of `kept` is fine). */
export function synthesize(
  runId: string,
  stage: string,
  task: SelfGuideTaskDefinition,
  annotated: ArtifactRef,
  kept: ArtifactRef,
  outputLengthFilter: boolean,
  pipeline: SelfGuidePipeline,
): Promise<SyntheticDataResult> {
  return buildSyntheticData({
    runId,
    stage,
    annotated,
    kept,
    task,
    outputLengthFilter,
    minShare: pipeline.annotation.minShare,
    shareOf: pipeline.annotation.shareOf,
    filters: pipeline.generation.filters,
    maxExampleTokens: pipeline.fineTune.maxExampleTokens,
    seed: pipeline.seed,
  });
}

const hyperparameters = ({ fineTune: { learningRate, batchSize, lora } }: SelfGuidePipeline, epochs: number) => ({
  epochs,
  learningRate,
  batchSize,
  lora,
});

/**
 * Stage 4 through the fineTune child workflow; with nothing to train on, the base model stands as it is.
 * `serverPosition`: the model's place among the run's merged models (its server's port in `server.ports`).
 */
export async function fineTuneOn(
  runId: string,
  stage: string,
  training: ArtifactRef,
  epochs: number,
  pipeline: SelfGuidePipeline,
  serverPosition = 0,
): Promise<ModelRef> {
  if (training.count === 0) return pipeline.model;
  return executeChild(fineTune, {
    ...fineTuneChildOptions,
    ...childOptions(runId, stage),
    args: [
      {
        runId,
        stage,
        backend: pipeline.fineTune.backend,
        providers: pipeline.providers,
        ...(pipeline.fineTuneFrom ?? { baseModel: pipeline.model }),
        training,
        hyperparameters: hyperparameters(pipeline, epochs),
        ...(serverPosition ? { serverPosition } : {}),
      },
    ],
    staticSummary: `fine-tune ${pipeline.model.model} on ${training.count} examples for ${epochs} epoch(s)`,
  });
}

/**
 * Whether a backend's finished job has a callable model per epoch: OpenAI's checkpoints, or the adapters a `command`
 * trainer leaves per epoch, which the run serves as it serves the last.
 */
export const keepsEpochCheckpoints = (
  backend: SelfGuidePipeline['fineTune']['backend'],
): backend is CheckpointingBackendConfig =>
  backend.kind === 'openai' || (backend.kind === 'command' && backend.serve !== undefined && backend.serve !== 'none');

/**
 * The model of each epoch, 1 to `epochs`, of the job that trained `final` on `training`; null for an epoch whose
 * checkpoint the provider no longer keeps (OpenAI keeps the last three) or the trainer did not leave.
 */
export async function epochCheckpoints(
  stage: string,
  training: ArtifactRef,
  epochs: number,
  final: ModelRef,
  backend: CheckpointingBackendConfig,
  pipeline: SelfGuidePipeline,
): Promise<(ModelRef | null)[]> {
  // The job is found the way startFineTuneJob found it: by what it trained on.
  const checkpoints = await fineTuneCheckpoints({
    stage,
    training,
    baseModel: (pipeline.fineTuneFrom?.baseModel ?? pipeline.model).model,
    hyperparameters: hyperparameters(pipeline, epochs),
    backend,
    providers: pipeline.providers,
    // A continued adapter is part of the job's identity.
    ...(pipeline.fineTuneFrom?.initAdapter ? { initAdapter: pipeline.fineTuneFrom.initAdapter } : {}),
    ...(final.adapter ? { trainedAdapter: final.adapter } : {}),
  });
  // The newest checkpoint is the last epoch's.
  return Array.from({ length: epochs }, (_, i) =>
    i + 1 === epochs ? final : (checkpoints[checkpoints.length - epochs + i] ?? null),
  );
}

/**
 * Stage 4 for several epoch counts: one OpenAI job of the most epochs serves the others from its per-epoch
 * checkpoints; other backends train one job per epoch count. Returns one model per entry of `epochs`.
 */
export async function fineTuneEpochs(
  runId: string,
  stage: string,
  training: ArtifactRef,
  epochs: number[],
  pipeline: SelfGuidePipeline,
): Promise<ModelRef[]> {
  const { backend } = pipeline.fineTune;
  if (backend.kind !== 'openai' || training.count === 0 || epochs.length === 1) {
    return Promise.all(
      epochs.map((e) => fineTuneOn(runId, epochs.length === 1 ? stage : `${stage}-e${e}`, training, e, pipeline)),
    );
  }
  const most = Math.max(...epochs);
  const final = await fineTuneOn(runId, stage, training, most, pipeline);
  const byEpoch = await epochCheckpoints(stage, training, most, final, backend, pipeline);
  return Promise.all(epochs.map((e) => byEpoch[e - 1] ?? fineTuneOn(runId, `${stage}-e${e}`, training, e, pipeline)));
}

/** Few-shot fine-tuning's training file: the gold examples alone. */
export function goldTraining(
  runId: string,
  task: SelfGuideTaskDefinition,
  pipeline: SelfGuidePipeline,
): Promise<ArtifactRef> {
  return goldTrainingSet({
    runId,
    stage: 'fine-tune-few-shot',
    task,
    maxExampleTokens: pipeline.fineTune.maxExampleTokens,
  });
}

/** Stage 5 for one model, as a child workflow; a served adapter is made sure of first. */
export async function evaluate(
  runId: string,
  stage: string,
  run: SelfGuideTaskRun,
  model: ModelRef,
  prompting: Prompting,
  pipeline: SelfGuidePipeline,
): Promise<SelfGuideEvaluation> {
  // Only a served adapter waits here: other models start their evaluation in the same activation as before.
  if (isServedAdapter(model)) await ensureServed([model], pipeline.providers, stage);
  return executeChild(selfGuideEvaluate, {
    ...childOptions(runId, stage),
    args: [
      {
        runId,
        stage,
        task: run.task,
        test: run.test,
        model,
        providers: pipeline.providers,
        prompting,
        maxTokens: pipeline.evaluation.maxTokens,
        rouge: pipeline.evaluation.rouge,
        exactMatch: pipeline.evaluation.exactMatch,
        stemmer: pipeline.evaluation.stemmer,
        seed: pipeline.seed,
        execution: pipeline.execution,
      },
    ],
    staticSummary: `${stage}: ${model.provider}/${model.model} on ${run.test.count} test items of ${run.task.name}`,
  });
}

export const sumUsage = (usages: StageUsage[]) => usages.reduce(addUsage, emptyUsage());
