// Fireworks AI supervised fine-tuning over its gateway REST API (https://docs.fireworks.ai/api-reference), with
// plain fetch. Datasets and jobs get ids we choose, derived from the job's tag, so creating either twice is refused
// by the provider (409) instead of paying twice: creation is idempotent by construction.
import type { FineTuneBackendConfig, OpenAiCompatibleProviderConfig } from '../../../core/config';
import { InvalidInput, typedError } from '../../../core/errors';
import { terminalFineTuneStatuses, type FineTuneJobState, type FineTuneStatus } from '../../../core/types';
import { ProviderHttpError } from '../errors';
import {
  endedWithoutModel,
  readApiKey,
  tagName,
  trainingFile,
  trainingFileName,
  unknownStatus,
  type CreateJobArgs,
  type FineTuneBackend,
  type JobTag,
} from './backend-common';
import { RestClient } from './rest-client';

type FireworksConfig = Extract<FineTuneBackendConfig, { kind: 'fireworks' }>;

interface FireworksJob {
  /** `accounts/{account}/supervisedFineTuningJobs/{id}`. */
  name: string;
  state: string;
  status?: { code?: string; message?: string } | null;
  outputModel?: string | null;
  jobProgress?: { percent?: number | null } | null;
}

interface FireworksDataset {
  name: string;
  state: string;
}

const states: Record<string, FineTuneStatus> = {
  JOB_STATE_CREATING: 'validating_files',
  JOB_STATE_VALIDATING: 'validating_files',
  JOB_STATE_PENDING: 'queued',
  JOB_STATE_RE_QUEUEING: 'queued',
  JOB_STATE_RUNNING: 'running',
  JOB_STATE_WRITING_RESULTS: 'running',
  JOB_STATE_COMPLETED: 'succeeded',
  JOB_STATE_FAILED: 'failed',
  JOB_STATE_FAILED_CLEANING_UP: 'failed',
  JOB_STATE_EXPIRED: 'failed',
  // A paused job waits for `:resume`: the wait ends, and the next start under the same tag resumes it.
  JOB_STATE_PAUSED: 'failed',
  JOB_STATE_CANCELLED: 'cancelled',
  JOB_STATE_DELETING: 'cancelled',
};

const idOf = (job: FireworksJob) => job.name.split('/').pop() ?? job.name;
const statusOf = (job: FireworksJob): FineTuneStatus =>
  states[job.state] ?? unknownStatus('Fireworks', idOf(job), job.state);
const isConflict = (err: unknown) => err instanceof ProviderHttpError && err.status === 409;

export class FireworksFineTuneBackend implements FineTuneBackend {
  private readonly rest: RestClient;
  private readonly account: string;

  constructor(config: FireworksConfig, provider: OpenAiCompatibleProviderConfig, env: NodeJS.ProcessEnv) {
    // The inference provider on the same account sets the patience for every request.
    this.rest = new RestClient(
      'Fireworks',
      config.baseURL,
      readApiKey(config.apiKeyEnv, env),
      provider.requestTimeoutSeconds * 1000,
    );
    this.account = config.account;
  }

  private path(collection: 'datasets' | 'supervisedFineTuningJobs', id?: string): string {
    const base = `/accounts/${encodeURIComponent(this.account)}/${collection}`;
    return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
  }

  /** The dataset's id carries the content hash, so a dataset found under it holds exactly this file. */
  async uploadTrainingFile(args: { tag: JobTag; localPath: string; sha256: string }): Promise<string> {
    const fileName = trainingFileName(args.tag, args.sha256);
    const id = fileName.replace(/\.jsonl$/, '');
    const path = this.path('datasets', id);
    const dataset =
      (await this.getOrNull<FireworksDataset>(path)) ??
      (await this.rest
        .request<FireworksDataset>('POST', this.path('datasets'), { datasetId: id, dataset: { userUploaded: {} } })
        // Created by an attempt whose answer was lost: read it back.
        .catch(async (err: unknown) => {
          if (isConflict(err)) return this.rest.request<FireworksDataset>('GET', path);
          throw err;
        }));
    if (dataset.state !== 'READY') {
      const form = new FormData();
      form.append('file', await trainingFile(args.localPath, fileName), fileName);
      await this.rest.request('POST', `${path}:upload`, form);
    }
    return dataset.name;
  }

  /** The job's id is its tag's name: there is at most one job per tag. */
  async findJob(tag: JobTag): Promise<FineTuneJobState | null> {
    const job = await this.getOrNull<FireworksJob>(this.path('supervisedFineTuningJobs', tagName(tag)));
    return job ? this.stateOf(job) : null;
  }

  /**
   * Creates the job under the tag's id. When that id is taken, the job holding it is followed, and one that ended
   * without a model (failed, paused, cancelled) is resumed rather than replaced: Fireworks never frees the id.
   */
  async createJob(args: CreateJobArgs): Promise<FineTuneJobState> {
    const h = args.hyperparameters;
    if (h.lora === false)
      throw typedError(InvalidInput, 'Fireworks fine-tune backend: supervised fine-tuning jobs train LoRA adapters.');
    const id = tagName(args.tag);
    try {
      const job = await this.rest.request<FireworksJob>(
        'POST',
        `${this.path('supervisedFineTuningJobs')}?supervisedFineTuningJobId=${encodeURIComponent(id)}`,
        {
          dataset: args.trainingFileId,
          // A job starts from a base model or warm-starts from a fine-tuned one, never both.
          ...(args.initModel ? { warmStartFrom: args.initModel } : { baseModel: args.baseModel }),
          displayName: id,
          ...(h.epochs !== undefined ? { epochs: h.epochs } : {}),
          ...(h.learningRate !== undefined ? { learningRate: h.learningRate } : {}),
          ...(h.batchSize !== undefined ? { batchSize: h.batchSize } : {}),
          ...(h.loraRank !== undefined ? { loraRank: h.loraRank } : {}),
        },
      );
      return this.stateOf(job);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    const existing = await this.getJob(id);
    if (!endedWithoutModel(existing)) return existing;
    return this.stateOf(
      await this.rest.request<FireworksJob>('POST', `${this.path('supervisedFineTuningJobs', id)}:resume`, {}),
    );
  }

  async getJob(jobId: string): Promise<FineTuneJobState> {
    return this.stateOf(await this.rest.request<FireworksJob>('GET', this.path('supervisedFineTuningJobs', jobId)));
  }

  async cancelJob(jobId: string): Promise<void> {
    // Cancelling a job that already ended is a provider error; for us it is nothing left to do.
    if (terminalFineTuneStatuses.includes((await this.getJob(jobId)).status)) return;
    await this.rest.request('POST', `${this.path('supervisedFineTuningJobs', jobId)}:cancel`, {});
  }

  /** The resource, or null when the provider answers 404. */
  private async getOrNull<T>(path: string): Promise<T | null> {
    try {
      return await this.rest.request<T>('GET', path);
    } catch (err) {
      if (err instanceof ProviderHttpError && err.status === 404) return null;
      throw err;
    }
  }

  private stateOf(job: FireworksJob): FineTuneJobState {
    const status = statusOf(job);
    const message = job.status?.message || null;
    return {
      jobId: idOf(job),
      status,
      resultModel: status === 'succeeded' ? (job.outputModel ?? null) : null,
      error: status === 'failed' ? (message ?? `Fireworks job ended ${job.state}`) : null,
      // Fireworks keeps no event list for a job: its state and status message are what there is to show.
      events: [message ? `${job.state}: ${message}` : job.state],
      progress: typeof job.jobProgress?.percent === 'number' ? job.jobProgress.percent : null,
    };
  }
}
