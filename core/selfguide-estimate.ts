// SELF-GUIDE's expected spend per stage, and its campaign's, from the task definitions and the prompts
// core/selfguide-prompts.ts builds for them. Counts only known mid-run take their upper bound: every generated input
// kept, annotated and turned into a training pair (the workflow rescales annotation and fine-tuning to the real
// counts); Self-ICL prompts fill the context window.
import type { SelfGuidePipeline } from '../workflows/selfguide-stages';
import type { ExecutionOptions } from './contracts';
import {
  batchPriced,
  chatEstimate,
  combine,
  demonstrationTokens,
  fineTuneEstimate,
  messageTokens,
  pricesOf,
  tunedModelProvider,
  type StageEstimate,
} from './estimate';
import { branchDataSets } from './selfguide-campaign';
import { roundsFor, type SelfGuideGrid } from './selfguide-config';
import { roundPrompts, taskChat, taskTrainingExample, type SelfGuideTaskDefinition } from './selfguide-prompts';
import type { IoExample } from './types';

/**
 * What an estimate needs from a SELF-GUIDE run's config: everything its workflow steps take except how activities
 * are sharded, which changes no spend; of `execution`, the stages sent through a Batch API. Derived from the
 * workflow's type so the two cannot drift apart.
 */
export type SelfGuideEstimatePipeline = Omit<SelfGuidePipeline, 'execution'> & {
  execution?: Pick<ExecutionOptions, 'batch'>;
};

/** A task and the test items that will be scored (and the validation items that score each epoch, if any). */
export interface SelfGuideEstimateTask {
  task: SelfGuideTaskDefinition;
  test: readonly IoExample[];
  validation?: readonly IoExample[];
}

/** OpenAI keeps a checkpoint for each of a job's last three epochs. */
const checkpointsKept = 3;

/**
 * How many epochs' checkpoints a run scores on the validation split before choosing SELF-GUIDE's model: OpenAI's, and
 * at most every epoch of a served `command` trainer's, which may leave one adapter per epoch.
 */
function checkpointsScored(pipeline: SelfGuideEstimatePipeline, run: SelfGuideEstimateTask, epochs: number) {
  const { backend, epochChoice } = pipeline.fineTune;
  if (epochChoice === 'last' || epochs < 2 || !run.validation?.length) return 0;
  if (backend.kind === 'openai') return Math.min(epochs, checkpointsKept);
  return backend.kind === 'command' && backend.serve !== undefined && backend.serve !== 'none' ? epochs : 0;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const meanOf = (values: readonly number[]) => (values.length ? sum(values) / values.length : 0);

/** Per-task figures every stage estimate uses. */
function taskProfile(pipeline: SelfGuideEstimatePipeline, { task, test }: SelfGuideEstimateTask) {
  const rounds = roundsFor(pipeline.generation.rounds, task.kind);
  const prompts = pipeline.generation.promptsPerRound;
  const goldInputs = task.examples.map((e) => e.input);
  // Generated inputs imitate the gold ones: gold inputs stand in for them, and fill the library after round 1.
  const library = Array.from({ length: 10 }, (_, i) => goldInputs[i % goldInputs.length]);
  const roundTokens = (round: number, shown: string[]) =>
    sum(
      roundPrompts({
        task,
        library: shown,
        round,
        prompts,
        seed: pipeline.seed,
        maxPromptTokens: pipeline.generation.maxPromptTokens,
      }).map((p) => messageTokens(p.messages)),
    );
  const trainingTokens = (pairs: readonly IoExample[]) =>
    pairs.map((pair) => messageTokens(taskTrainingExample(task, pair).messages));
  const meanTrainingTokens = meanOf(trainingTokens(task.examples));
  const { backend } = pipeline.fineTune;
  const basePrices = pricesOf(pipeline.providers, pipeline.model.provider);
  return {
    generated: rounds * prompts,
    generationPromptTokens: roundTokens(1, []) + (rounds - 1) * roundTokens(2, library),
    annotationPromptTokens: meanOf(goldInputs.map((input) => messageTokens(taskChat(task, input)))),
    meanTrainingTokens,
    goldTrainingTokens: sum(trainingTokens(task.examples)),
    fewShotTestTokens: sum(test.map((item) => messageTokens(taskChat(task, item.input)))),
    basePrices,
    tunedPrices: backend.kind === 'in-context' ? basePrices : pricesOf(pipeline.providers, tunedModelProvider(backend)),
    demonstrations: demonstrationTokens(backend, meanTrainingTokens),
  };
}

type Profile = ReturnType<typeof taskProfile>;

function generation(stage: string, pipeline: SelfGuideEstimatePipeline, p: Profile): StageEstimate {
  const rounds = chatEstimate(stage, p.generated, {
    calls: p.generated,
    promptTokens: p.generationPromptTokens,
    maxTokens: pipeline.generation.maxTokens,
    prices: p.basePrices,
    batchable: true,
  });
  // Each round is a batch of its own, which `auto` weighs alone.
  const perRound = pipeline.generation.promptsPerRound;
  return batchPriced(rounds, pipeline.execution?.batch, 'generate-inputs', perRound);
}

function annotation(stage: string, pipeline: SelfGuideEstimatePipeline, p: Profile): StageEstimate {
  const { samples, maxTokens } = pipeline.annotation;
  const annotations = chatEstimate(stage, p.generated, {
    calls: p.generated,
    promptTokens: p.generated * p.annotationPromptTokens,
    maxTokens,
    choices: samples,
    prices: p.basePrices,
    batchable: true,
  });
  return batchPriced(annotations, pipeline.execution?.batch, 'annotate-outputs');
}

/** One fine-tune on the synthetic pairs (at most one per generated input). */
function syntheticFineTune(
  stage: string,
  pipeline: SelfGuideEstimatePipeline,
  p: Profile,
  epochs: number,
): StageEstimate {
  return fineTuneEstimate(stage, pipeline.fineTune.backend, pipeline.providers, {
    examples: p.generated,
    exampleTokens: p.generated * p.meanTrainingTokens,
    epochs,
  });
}

/** The test split in the task chat, by a base or a fine-tuned model. */
function testChats(
  stage: string,
  pipeline: SelfGuideEstimatePipeline,
  run: SelfGuideEstimateTask,
  p: Profile,
  tuned: boolean,
): StageEstimate {
  const n = run.test.length;
  const promptTokens = p.fewShotTestTokens + (tuned ? n * p.demonstrations : 0);
  // Each evaluation is a batch of its own under `execution.batch`.
  const estimate = chatEstimate(stage, n, {
    calls: n,
    promptTokens,
    maxTokens: pipeline.evaluation.maxTokens,
    prices: tuned ? p.tunedPrices : p.basePrices,
    batchable: true,
  });
  return batchPriced(estimate, pipeline.execution?.batch, 'evaluate');
}

/** A single SELF-GUIDE run's stages, as `selfGuideRun` guards them. */
export function estimateSelfGuide(
  pipeline: SelfGuideEstimatePipeline,
  run: SelfGuideEstimateTask,
  epochs: number,
): StageEstimate[] {
  const p = taskProfile(pipeline, run);
  const { contextTokens, maxTokens } = pipeline.evaluation;
  const n = run.test.length;
  const selfIcl = batchPriced(
    chatEstimate('evaluate', n, {
      calls: n,
      promptTokens: n * Math.max(0, contextTokens - maxTokens),
      maxTokens,
      prices: p.basePrices,
      batchable: true,
    }),
    pipeline.execution?.batch,
    'evaluate',
  );
  const fewShotJob = fineTuneEstimate('fine-tune', pipeline.fineTune.backend, pipeline.providers, {
    examples: run.task.examples.length,
    exampleTokens: p.goldTrainingTokens,
    epochs,
  });
  const validation = { task: run.task, test: run.validation ?? [] };
  const validationProfile = taskProfile(pipeline, validation);
  const checkpoints = Array.from({ length: checkpointsScored(pipeline, run, epochs) }, () =>
    testChats('evaluate', pipeline, validation, validationProfile, true),
  );
  return [
    generation('generate-inputs', pipeline, p),
    annotation('annotate-outputs', pipeline, p),
    combine('fine-tune', [syntheticFineTune('fine-tune', pipeline, p, epochs), fewShotJob]),
    combine('evaluate', [
      ...checkpoints,
      testChats('evaluate', pipeline, run, p, false),
      selfIcl,
      testChats('evaluate', pipeline, run, p, true),
      testChats('evaluate', pipeline, run, p, true),
    ]),
  ];
}

/**
 * The campaign's two guarded stages: `validation` (the few-shot baselines and every grid branch: one generation and
 * annotation per task and temperature, one fine-tune per data set and epoch count, or one per data set where OpenAI
 * checkpoints serve the epochs, one evaluation per setting) and `test` (a full run per test task at the grid's most
 * epochs, since the chosen setting is not known yet).
 */
export function estimateCampaign(
  pipeline: SelfGuideEstimatePipeline,
  validation: readonly SelfGuideEstimateTask[],
  test: readonly SelfGuideEstimateTask[],
  grid: SelfGuideGrid,
): StageEstimate[] {
  const checkpoints = pipeline.fineTune.backend.kind === 'openai';
  const validationParts = validation.flatMap((run) => {
    const p = taskProfile(pipeline, run);
    const branches = grid.inputTemperature.flatMap((t) => {
      const dataSets = branchDataSets(grid, run.task.kind, t);
      const jobs = dataSets
        .flatMap((d) => (checkpoints ? [Math.max(...d.epochs)] : d.epochs))
        .map((e) => syntheticFineTune('validation', pipeline, p, e));
      const evaluations = dataSets.flatMap((d) => d.epochs).map(() => testChats('validation', pipeline, run, p, true));
      return [generation('validation', pipeline, p), annotation('validation', pipeline, p), ...jobs, ...evaluations];
    });
    return [testChats('validation', pipeline, run, p, false), ...branches];
  });
  const mostEpochs = Math.max(...grid.epochs);
  return [
    combine('validation', validationParts),
    combine(
      'test',
      test.flatMap((run) => estimateSelfGuide(pipeline, run, mostEpochs)),
    ),
  ];
}
