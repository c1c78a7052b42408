// Everything the provider test double remembers between requests, and how configuration changes apply.
import { CheckpointArchives } from './checkpoint-archives';
import { configProblem, deepMerge, type DoubleConfig, type DoubleConfigPatch } from './config';
import { FaultInjector } from './faults';
import { FileStore } from './file-store';
import { FireworksDeployments } from './fireworks-deployments';
import { FineTuningEngine } from './fine-tuning';
import { GoldIndex } from './gold-index';
import { IdMinter } from './hashing';
import { ModelCallGate } from './model-call-gate';
import { ModelRegistry } from './model-registry';
import { PromptCache } from './prompt-cache';
import type { FireworksDataset, FireworksJobParams, OpenAIJobParams, TogetherJobParams } from './provider-job-params';
import { RateLimiter } from './rate-limit';
import { RequestLog } from './request-log';
import { TogetherEndpoints } from './together-endpoints';

export class DoubleState {
  readonly gold = new GoldIndex();
  readonly models = new ModelRegistry(() => this.config);
  readonly ids = new IdMinter(() => this.config.deterministicIds);
  readonly openaiFiles = new FileStore('openai', this.ids);
  readonly togetherFiles = new FileStore('together', this.ids);
  readonly log = new RequestLog();
  readonly rateLimiter = new RateLimiter();
  readonly modelCallGate = new ModelCallGate();
  readonly promptCache = new PromptCache();
  /** Model calls received and not yet answered. */
  modelCallsInFlight = 0;
  readonly faults: FaultInjector;
  readonly openaiJobs: FineTuningEngine<OpenAIJobParams>;
  readonly togetherJobs: FineTuningEngine<TogetherJobParams>;
  readonly fireworksJobs: FineTuningEngine<FireworksJobParams>;
  /** By resource name, `accounts/{account}/datasets/{id}`. */
  readonly fireworksDatasets = new Map<string, FireworksDataset>();
  readonly checkpointArchives = new CheckpointArchives();
  /** Holds checkpoint downloads halfway through (together-checkpoint-routes.ts). */
  readonly downloadGate = new ModelCallGate();
  readonly fireworksDeployments = new FireworksDeployments({
    config: () => this.config,
    ids: this.ids,
    models: this.models,
  });
  readonly togetherEndpoints = new TogetherEndpoints({ config: () => this.config, ids: this.ids, models: this.models });

  constructor(
    public config: DoubleConfig,
    /** When set, every provider request must carry `Authorization: Bearer <apiKey>`. */
    readonly apiKey: string | undefined,
  ) {
    this.faults = new FaultInjector(() => this.config.faults);
    const deps = {
      config: () => this.config,
      takePlannedFailure: () => this.takePlannedFailure(),
      gold: this.gold,
      models: this.models,
    };
    this.openaiJobs = new FineTuningEngine<OpenAIJobParams>(deps, {
      validating: 'validating_files',
      queued: 'queued',
      running: 'running',
      finishing: [],
      succeeded: 'succeeded',
      failed: 'failed',
      cancelled: 'cancelled',
    });
    this.togetherJobs = new FineTuningEngine<TogetherJobParams>(deps, {
      validating: 'pending',
      queued: 'queued',
      running: 'running',
      finishing: ['compressing', 'uploading'],
      succeeded: 'completed',
      failed: 'error',
      userFailed: 'user_error',
      cancelled: 'cancelled',
      cancelRequested: 'cancel_requested',
    });
    this.fireworksJobs = new FineTuningEngine<FireworksJobParams>(deps, {
      validating: 'JOB_STATE_VALIDATING',
      queued: 'JOB_STATE_PENDING',
      running: 'JOB_STATE_RUNNING',
      finishing: ['JOB_STATE_WRITING_RESULTS'],
      succeeded: 'JOB_STATE_COMPLETED',
      failed: 'JOB_STATE_FAILED',
      cancelled: 'JOB_STATE_CANCELLED',
    });
  }

  /** Deep-merges the patch; throws (leaving the config unchanged) when the result is unusable. */
  configure(patch: DoubleConfigPatch): DoubleConfig {
    const merged = deepMerge(this.config, patch);
    const problem = configProblem(merged);
    if (problem) throw new Error(problem);
    this.config = merged;
    if (patch.faults) this.faults.reset();
    if (patch.rateLimit) this.rateLimiter.reset();
    if (patch.fineTune?.stepMs !== undefined) {
      this.openaiJobs.rescheduleSteps();
      this.togetherJobs.rescheduleSteps();
    }
    return this.config;
  }

  stop(): void {
    this.openaiJobs.stopAll();
    this.togetherJobs.stopAll();
    this.fireworksJobs.stopAll();
    this.togetherEndpoints.stopAll();
    this.fireworksDeployments.stopAll();
    this.faults.stop();
  }

  private takePlannedFailure(): boolean {
    if (this.config.failNextJobs <= 0) return false;
    this.config = { ...this.config, failNextJobs: this.config.failNextJobs - 1 };
    return true;
  }
}
