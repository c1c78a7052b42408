// The fine-tuning job engine shared by the OpenAI and Together APIs: moves jobs through their
// statuses on timers, validates and grades the training file, and registers the resulting models.
import type { DoubleConfig } from './config';
import type { StoredFile } from './file-store';
import type { GoldIndex } from './gold-index';
import { randomId } from './hashing';
import type { ModelRegistry } from './model-registry';
import { selfGuideTrainingShare } from './selfguide-simulation';
import { checkTrainingFile, labelAgreement } from './training-data';

/** The status names a provider uses for each stage of a job. */
export interface Lifecycle {
  validating: string;
  queued: string;
  running: string;
  /** Statuses between the last epoch and success (Together: compressing, uploading). */
  finishing: string[];
  succeeded: string;
  failed: string;
  /** When set, a job whose training file is invalid ends here rather than in `failed` (Together: user_error). */
  userFailed?: string;
  cancelled: string;
  /** When set, a cancel first moves the job here and it becomes `cancelled` one step later. */
  cancelRequested?: string;
}

export interface JobEvent {
  id: string;
  createdAt: number;
  level: 'info' | 'warn' | 'error';
  /** Together's event type names, e.g. epoch_complete. */
  type: string;
  message: string;
  data: Record<string, unknown>;
}

export interface JobCheckpoint {
  id: string;
  createdAt: number;
  step: number;
  model: string;
  trainLoss: number;
}

export interface JobError {
  code: string;
  message: string;
  param: string | null;
}

export interface FineTuneJob<P> {
  id: string;
  status: string;
  baseModel: string;
  trainingFile: StoredFile;
  /** Name the model gets once the job succeeds. */
  resultModel: string;
  epochs: number;
  batchSize: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  error: JobError | null;
  trainedTokens: number | null;
  tokenCount: number | null;
  epochsCompleted: number;
  stepsCompleted: number;
  totalSteps: number | null;
  events: JobEvent[];
  checkpoints: JobCheckpoint[];
  /** Accuracy of the fine-tuned model, once succeeded. */
  accuracy: number | null;
  /** Provider-specific request parameters, echoed by that provider's job view. */
  params: P;
}

export interface JobSpec<P> {
  id: string;
  baseModel: string;
  trainingFile: StoredFile;
  resultModel: string;
  checkpointModel: (step: number) => string;
  epochs: number;
  batchSize: number;
  params: P;
}

export interface EngineDeps {
  config: () => DoubleConfig;
  /** True when this job must fail (config.failNextJobs), consuming one. */
  takePlannedFailure: () => boolean;
  gold: GoldIndex;
  models: ModelRegistry;
}

interface JobRuntime {
  timer?: NodeJS.Timeout;
  /** The step the timer will take, kept so that a changed step duration applies to it too. */
  nextStep?: () => void;
  failurePlanned: boolean;
  checkpointModel: (step: number) => string;
  examples: number;
  /** Share of graded training labels that match gold, or null when none could be graded. */
  correctShare: number | null;
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

export class FineTuningEngine<P> {
  private readonly jobs = new Map<string, FineTuneJob<P>>();
  private readonly runtime = new Map<string, JobRuntime>();

  constructor(
    private readonly deps: EngineDeps,
    private readonly lifecycle: Lifecycle,
  ) {}

  create(spec: JobSpec<P>): FineTuneJob<P> {
    const now = Date.now();
    const job: FineTuneJob<P> = {
      id: spec.id,
      status: this.lifecycle.validating,
      baseModel: spec.baseModel,
      trainingFile: spec.trainingFile,
      resultModel: spec.resultModel,
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
      error: null,
      trainedTokens: null,
      tokenCount: null,
      epochsCompleted: 0,
      stepsCompleted: 0,
      totalSteps: null,
      events: [],
      checkpoints: [],
      accuracy: null,
      params: spec.params,
    };
    this.jobs.set(job.id, job);
    this.runtime.set(job.id, {
      failurePlanned: this.deps.takePlannedFailure(),
      checkpointModel: spec.checkpointModel,
      examples: 0,
      correctShare: null,
    });
    this.event(job, 'job_pending', `Created fine-tuning job: ${job.id}`);
    this.event(job, 'training_data_downloading', `Validating training file: ${job.trainingFile.id}`);
    this.schedule(job, () => this.validate(job));
    return job;
  }

  get(id: string): FineTuneJob<P> | undefined {
    return this.jobs.get(id);
  }

  /** Newest first. */
  list(): FineTuneJob<P>[] {
    return [...this.jobs.values()].reverse();
  }

  private isTerminal(job: FineTuneJob<P>): boolean {
    const { succeeded, failed, userFailed, cancelled } = this.lifecycle;
    return [succeeded, failed, userFailed, cancelled].includes(job.status);
  }

  /** Returns false when the job has already finished. */
  cancel(job: FineTuneJob<P>): boolean {
    if (this.isTerminal(job)) return false;
    const { cancelRequested } = this.lifecycle;
    if (cancelRequested && job.status === cancelRequested) return true;
    clearTimeout(this.runtime.get(job.id)?.timer);
    if (cancelRequested) {
      this.setStatus(job, cancelRequested);
      this.event(job, 'cancel_requested', 'Cancellation requested');
      this.schedule(job, () => this.finishCancel(job));
    } else {
      this.finishCancel(job);
    }
    return true;
  }

  /**
   * Starts a job that ended failed or cancelled over again from its queue, as Fireworks' `:resume` does; returns false
   * (leaving it as it is) for a job that is still live or succeeded.
   */
  resume(job: FineTuneJob<P>): boolean {
    const { failed, userFailed, cancelled } = this.lifecycle;
    if (![failed, userFailed, cancelled].includes(job.status)) return false;
    const runtime = this.runtime.get(job.id)!;
    runtime.failurePlanned = this.deps.takePlannedFailure();
    job.error = null;
    job.finishedAt = null;
    this.event(job, 'job_resumed', 'Fine-tuning job resumed');
    this.setStatus(job, this.lifecycle.queued);
    this.schedule(job, () => this.start(job));
    return true;
  }

  /** Reschedules every pending step at the configured step duration, so a test can speed up jobs in flight. */
  rescheduleSteps(): void {
    for (const [id, runtime] of this.runtime) {
      const job = this.jobs.get(id);
      if (job && runtime.nextStep && !this.isTerminal(job)) {
        clearTimeout(runtime.timer);
        this.schedule(job, runtime.nextStep);
      }
    }
  }

  /** Stops every timer; for shutdown. */
  stopAll(): void {
    for (const runtime of this.runtime.values()) clearTimeout(runtime.timer);
  }

  private finishCancel(job: FineTuneJob<P>): void {
    this.setStatus(job, this.lifecycle.cancelled);
    job.finishedAt = Date.now();
    this.event(job, 'job_stopped', 'Fine-tuning job cancelled');
  }

  private validate(job: FineTuneJob<P>): void {
    const check = checkTrainingFile(job.trainingFile.content);
    if (!check.ok)
      return this.fail(
        job,
        { code: 'invalid_training_file', message: check.message, param: 'training_file' },
        this.lifecycle.userFailed,
      );
    const runtime = this.runtime.get(job.id)!;
    const { matched, graded } = labelAgreement(check.examples, this.deps.gold, this.deps.config().answerFormat);
    runtime.examples = check.examples.length;
    runtime.correctShare = graded > 0 ? matched / graded : selfGuideTrainingShare(check.examples, this.deps.gold);
    job.tokenCount = check.tokens;
    job.totalSteps = job.epochs * this.stepsPerEpoch(job);
    this.event(
      job,
      'training_data_download_complete',
      `Files validated (${check.examples.length} examples), moving job to queued state`,
    );
    this.setStatus(job, this.lifecycle.queued);
    this.schedule(job, () => this.start(job));
  }

  private start(job: FineTuneJob<P>): void {
    this.setStatus(job, this.lifecycle.running);
    this.event(job, 'job_start', 'Fine-tuning job started');
    this.event(job, 'training_start', `Training started for model ${job.baseModel}`);
    this.schedule(job, () => this.finishEpoch(job, 1));
  }

  private stepsPerEpoch(job: FineTuneJob<P>): number {
    return Math.max(1, Math.ceil(this.runtime.get(job.id)!.examples / job.batchSize));
  }

  /** Loss falls with each epoch, and falls less when the labels disagree with gold. */
  private trainingLoss(job: FineTuneJob<P>, epoch: number): number {
    const share = this.runtime.get(job.id)!.correctShare ?? 0.5;
    return Number(((0.3 + 1.2 * (1 - share)) / epoch + 0.05).toFixed(4));
  }

  private finishEpoch(job: FineTuneJob<P>, epoch: number): void {
    if (this.runtime.get(job.id)!.failurePlanned) {
      return this.fail(job, { code: 'training_failed', message: 'simulated training failure', param: null });
    }
    const step = epoch * this.stepsPerEpoch(job);
    const loss = this.trainingLoss(job, epoch);
    job.epochsCompleted = epoch;
    job.stepsCompleted = step;
    this.event(
      job,
      'epoch_complete',
      `Epoch ${epoch}/${job.epochs} completed: step ${step}/${job.totalSteps}, training loss=${loss}`,
      {
        epoch,
        step,
        train_loss: loss,
        total_steps: job.totalSteps,
      },
    );
    if (epoch < job.epochs) return this.schedule(job, () => this.finishEpoch(job, epoch + 1));
    this.event(job, 'training_complete', `Training completed for ${job.baseModel}`);
    this.finishUp(job, 0);
  }

  private finishUp(job: FineTuneJob<P>, index: number): void {
    const status = this.lifecycle.finishing[index];
    if (status === undefined) return this.succeed(job);
    this.setStatus(job, status);
    this.event(job, status === 'compressing' ? 'model_compressing' : 'model_uploading', `Job is ${status}`);
    this.schedule(job, () => this.finishUp(job, index + 1));
  }

  private succeed(job: FineTuneJob<P>): void {
    const { models, config } = this.deps;
    const runtime = this.runtime.get(job.id)!;
    const base = models.resolve(job.baseModel) ?? { accuracy: 0.5, root: job.baseModel };
    const share = runtime.correctShare;
    const accuracy =
      share === null ? base.accuracy : clamp(base.accuracy + config().fineTune.gain * (2 * share - 1), 0.05, 0.98);
    const now = Date.now();
    job.checkpoints = Array.from({ length: job.epochs }, (_, i) => {
      const epoch = i + 1;
      const step = epoch * this.stepsPerEpoch(job);
      const model = runtime.checkpointModel(step);
      const checkpointAccuracy = base.accuracy + ((accuracy - base.accuracy) * epoch) / job.epochs;
      models.registerFineTuned({
        name: model,
        accuracy: checkpointAccuracy,
        root: base.root,
        createdAt: now,
        listed: false,
      });
      return { id: `ftckpt-${randomId()}`, createdAt: now, step, model, trainLoss: this.trainingLoss(job, epoch) };
    });
    models.registerFineTuned({ name: job.resultModel, accuracy, root: base.root, createdAt: now, listed: true });
    job.accuracy = accuracy;
    job.trainedTokens = (job.tokenCount ?? 0) * job.epochs;
    job.finishedAt = now;
    const graded =
      share === null
        ? 'no training label matched a gold question'
        : `${(share * 100).toFixed(1)}% of graded training labels match gold`;
    this.event(
      job,
      'model_upload_complete',
      `New fine-tuned model created: ${job.resultModel} ` +
        `(simulated: ${graded}; accuracy ${base.accuracy.toFixed(3)} -> ${accuracy.toFixed(3)})`,
    );
    this.setStatus(job, this.lifecycle.succeeded);
    this.event(job, 'job_complete', 'The job has successfully completed');
  }

  private fail(job: FineTuneJob<P>, error: JobError, status = this.lifecycle.failed): void {
    job.error = error;
    job.finishedAt = Date.now();
    this.setStatus(job, status);
    this.event(job, 'job_error', error.message, {}, 'error');
  }

  private setStatus(job: FineTuneJob<P>, status: string): void {
    job.status = status;
    job.updatedAt = Date.now();
  }

  private event(
    job: FineTuneJob<P>,
    type: string,
    message: string,
    data: Record<string, unknown> = {},
    level: JobEvent['level'] = 'info',
  ): void {
    job.events.push({ id: `ftevent-${randomId()}`, createdAt: Date.now(), level, type, message, data });
  }

  private schedule(job: FineTuneJob<P>, next: () => void): void {
    const runtime = this.runtime.get(job.id)!;
    runtime.nextStep = next;
    runtime.timer = setTimeout(next, this.deps.config().fineTune.stepMs);
  }
}
