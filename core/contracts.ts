// What crosses the workflow/activity boundary besides ArtifactRefs: the settings workflows pass to activities and
// the results they get back. Workflows may not import activity modules, so both sides import these from here.
import type { BatchedWork, BatchOptions } from './batch';
import type { FineTuneBackendConfig, ProvidersConfig, RetrieverConfig } from './config';
import type { AnswerReading } from './answer-reading';
import type { Accuracy, Metric } from './metrics';
import type { AnnotationDropReason } from './selfguide-annotation';
import type { FilterCounts } from './selfguide-filters';
import type { PseudoLabelCounts } from './semievol';
import type { PromptLayout, PromptStyle } from './prompts';
import type {
  AdapterArchive,
  AdapterServingRef,
  ArtifactRef,
  FineTuneHyperparameters,
  ModelRef,
  StageUsage,
} from './types';

// Answering and scoring multiple-choice questions.

export interface SamplingParams {
  temperature: number;
  maxTokens: number;
  seed: number;
  /** Samples per question. */
  n?: number;
  logprobs?: boolean;
  /** What the prompt asks for; `reasoning` when absent. */
  style?: PromptStyle;
  /** How the prompt is laid out; `ours` when absent. */
  layout?: PromptLayout;
  /** How the answer is read from the response and scored; `ours` when absent. */
  answerReading?: AnswerReading;
}

export type { Metric };

/** An item whose own request the provider refused (a 400 such as a prompt over the context window). */
export interface ItemFailure {
  id: string;
  message: string;
}

/** A stage's items that failed on their own: counted, a few shown, dropped from the stage's output. */
export interface ItemFailures {
  count: number;
  /** The stage's items. */
  of: number;
  examples: ItemFailure[];
}

/** Per stage, the items that failed on their own; a stage where none failed is absent. */
export type StageItemFailures = Record<string, ItemFailures>;

export interface Score {
  correct: number;
  total: number;
  /** Questions whose response held no extractable answer and was not cut off (counted as wrong). */
  unanswered: number;
  /** Questions whose response max tokens cut off before an extractable answer (counted as wrong). */
  cutOff: number;
  accuracy: number;
  /** Per-question verdicts: {id, prediction, gold, correct}. */
  details: ArtifactRef;
}

/** Where to retrieve from, how many, and how. */
export interface Retrieval {
  pool: ArtifactRef;
  k: number;
  retriever: RetrieverConfig;
}

// SemiEvol.

/** Sampling of collaborators and self-justification; log-probabilities are always asked for. */
export interface ResponseSampling {
  temperature: number;
  maxTokens: number;
  seed: number;
  /** What the prompt asks for; `reasoning` when absent (runs started before the option). */
  style?: PromptStyle;
  /** How the prompt is laid out; `ours` when absent (runs started before the option). */
  layout?: PromptLayout;
}

export interface SelectionResult {
  /** `flt semievol select`'s output lines for the run. */
  selected: ArtifactRef;
  threshold: number | null;
  counts: PseudoLabelCounts;
}

export interface PseudoLabelAccuracy {
  /** Every pseudo-labeled question with a gold answer. */
  all: Accuracy;
  selected: Accuracy;
}

// SELF-GUIDE.

export interface GenerateInputRoundResult {
  /** Everything generated up to this round, in order. */
  generated: ArtifactRef;
  /** Inputs in the library after this round. */
  library: number;
  /** Prompts so far that were drawn again for being over the token limit. */
  redrawnPrompts: number;
  usage: StageUsage;
  /** This round's prompts the provider refused: they added no input. */
  failures?: ItemFailure[];
}

export interface FilterStageResult {
  /** The kept inputs, trimmed: one `{input}` each. */
  kept: ArtifactRef;
  /** One `{input, kept, reason}` per generated input. */
  report: ArtifactRef;
  counts: FilterCounts;
}

export interface SyntheticDataResult {
  /** `{input, output}` pairs. */
  pairs: ArtifactRef;
  /** Chat-format training examples of the pairs. */
  training: ArtifactRef;
  dropped: Record<AnnotationDropReason, number>;
  /** Pairs whose training example is over the token limit, so not in `training`. */
  tooLongToTrain: number;
}

export type Prompting = { kind: 'few-shot' } | { kind: 'self-icl'; synthetic: ArtifactRef; contextTokens: number };

export interface TestScore {
  /** Mean exact match (classification) or ROUGE-L F-measure (generation), in [0, 1]. */
  score: number;
  metric: 'exact-match' | 'rouge-l' | 'rouge-l-chars';
  total: number;
  /** One `{input, output, response, score}` per test item. */
  details: ArtifactRef;
}

// Fine-tuning.

/** A backend that trains weights at a provider or locally: every kind but in-context. */
export type RemoteFineTuneBackendConfig = Exclude<FineTuneBackendConfig, { kind: 'in-context' }>;

/** A backend whose finished job can have a callable model per epoch: OpenAI's checkpoints, a command trainer's. */
export type CheckpointingBackendConfig = Extract<FineTuneBackendConfig, { kind: 'openai' | 'command' }>;

/** Which job an activity works on: its run and stage (the stage names it), backend and providers. */
export interface FineTuneJobContext {
  tag: { runId: string; stage: string };
  backend: RemoteFineTuneBackendConfig;
  providers: ProvidersConfig;
}

/** Everything a job is created from. */
export interface FineTuneJobRequest extends FineTuneJobContext {
  training: ArtifactRef;
  baseModel: string;
  hyperparameters: FineTuneHyperparameters;
  /** Continue from this adapter (command backend); part of the job's identity when set. */
  initAdapter?: string;
  /** That adapter in the artifact store, for a trainer on another host; not part of the job's identity. */
  initAdapterArchive?: AdapterArchive;
  /**
   * Continue from this fine-tuned model of the backend's own (Together's `from_checkpoint`, Fireworks'
   * `warmStartFrom`) instead of `baseModel`; part of the job's identity when set.
   */
  initModel?: string;
}

/** A run's fineTune workflow (by its workflow id) waiting on the job that `request` describes. */
export interface FineTuneJobWaiter {
  waiterId: string;
  request: FineTuneJobRequest;
}

/** A waiter leaving its job: `cancelled` when its run was cancelled, and the job then stops if no one else waits. */
export interface FineTuneJobDeparture extends FineTuneJobWaiter {
  cancelled: boolean;
}

/** Make a trained adapter callable (serveAdapter), or make sure it still is (a restarted server forgot it). */
export interface ServeAdapterInput {
  providers: ProvidersConfig;
  /** `name`: what requests call it; `path`: the trainer's output, a file or the directory holding it. */
  adapter: NonNullable<ModelRef['adapter']>;
  serving: AdapterServingRef;
}

/** The adapters a run loaded and the endpoints it started, to unload and stop at its end; other models are skipped. */
export interface UnloadAdaptersInput {
  providers: ProvidersConfig;
  models: ModelRef[];
}

/** `; N of M items failed and are not scored (first: id: message)`, or '' when none failed: for result summaries. */
export function itemFailuresNote(failures: ItemFailures | undefined): string {
  if (!failures?.count) return '';
  const [first] = failures.examples;
  const example = first ? ` (first: ${first.id}: ${first.message})` : '';
  return `; ${failures.count} of ${failures.of} items failed and are not scored${example}`;
}

/** Per stage, `<stage>: N of M items failed and were dropped: id: message; ...` (the first few): for summaries. */
export function stageItemFailuresLines(failures: StageItemFailures | undefined): string[] {
  return Object.entries(failures ?? {}).map(
    ([stage, { count, of, examples }]) =>
      `${stage}: ${count} of ${of} items failed and were dropped: ` +
      examples
        .slice(0, 3)
        .map((e) => `${e.id}: ${e.message}`)
        .join('; '),
  );
}

/** Evaluations' item failures keyed by their stage (`evaluate-rag`); evaluations where none failed are left out. */
export function evaluationItemFailures(
  evaluations: readonly ({ stage: string; itemFailures?: ItemFailures } | null)[],
): StageItemFailures {
  return Object.fromEntries(evaluations.flatMap((e) => (e?.itemFailures ? [[e.stage, e.itemFailures]] : [])));
}

export type TogetherBackendConfig = Extract<FineTuneBackendConfig, { kind: 'together' }>;
export type TogetherDownload = NonNullable<TogetherBackendConfig['download']>;

/** The provider a downloaded Together checkpoint is called through: the server started on it, or your engine's. */
export const downloadProvider = (download: TogetherDownload): string => download.server?.provider ?? download.provider!;

/** Create (or find, by its display name) the dedicated endpoint serving `model`. */
export interface StartEndpointInput {
  backend: TogetherBackendConfig;
  providers: ProvidersConfig;
  model: string;
  /** The fine-tune job's tag: the endpoint's display name derives from it, so a retried create finds it. */
  tag: { runId: string; stage: string };
}

/** Wait until a dedicated endpoint answers (STARTED). */
export interface WaitForEndpointInput {
  backend: TogetherBackendConfig;
  providers: ProvidersConfig;
  endpointId: string;
}

export type FireworksBackendConfig = Extract<FineTuneBackendConfig, { kind: 'fireworks' }>;

/** Create (or find, by an id derived from the run) a deployment of `model`'s base, or use the configured one. */
export interface StartDeploymentInput {
  backend: FireworksBackendConfig;
  providers: ProvidersConfig;
  /** The trained LoRA, `accounts/{account}/models/{id}`. */
  model: string;
  baseModel: string;
  runId: string;
}

/** The deployment a LoRA goes onto: its name, and whether the run created it (and so deletes it at its end). */
export interface StartedDeployment {
  name: string;
  owned: boolean;
}

/** Wait until the deployment is ready, load the LoRA onto it (once), and wait until the LoRA answers. */
export interface WaitForDeploymentInput {
  backend: FireworksBackendConfig;
  providers: ProvidersConfig;
  deployment: string;
  model: string;
}

/** What a started endpoint is called by: requests name it as their model. */
export interface StartedEndpoint {
  id: string;
  name: string;
  /** Epoch milliseconds when the create (or the find) answered; absent in histories recorded before. */
  startedAt?: number;
}

/** Download the checkpoint of a completed Together job (`serve: download`) onto the worker, once. */
export interface DownloadCheckpointInput {
  backend: TogetherBackendConfig;
  providers: ProvidersConfig;
  jobId: string;
}

/**
 * A checkpoint unpacked on the worker: `path`, the adapter's (or the merged model's) folder; `name`, what the local
 * server serves it as.
 */
export interface DownloadedCheckpoint {
  name: string;
  path: string;
}

/** Start (or find running) the server of a merged checkpoint and wait until it lists the checkpoint's model. */
export interface StartCheckpointServerInput {
  runId: string;
  server: NonNullable<TogetherDownload['server']>;
  providers: ProvidersConfig;
  checkpoint: DownloadedCheckpoint;
  /**
   * The model's place among the merged models the run serves, 0 for the first it trains: its port is
   * `server.ports[position]`. Absent in runs recorded before: 0.
   */
  position?: number;
}

/** `execution` as the workflows carry it: runs started before an option lack it. */
export interface ExecutionOptions {
  shardSize: number;
  parallelShards: number;
  maxItemFailureShare?: number;
  batch?: BatchOptions;
}

/** Planning one round of a stage's batch (activities/batch-stage.ts). */
export interface PlanStageBatchInput {
  runId: string;
  /** Names the stage's batches and answers: the stage, with the round of SELF-GUIDE's generation. */
  stage: string;
  round: number;
  providers: ProvidersConfig;
  work: BatchedWork;
}
