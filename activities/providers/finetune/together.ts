// Together AI fine-tuning over its REST API (https://docs.together.ai/reference), with plain fetch.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FineTuneBackendConfig, OpenAiCompatibleProviderConfig } from '../../../core/config';
import { terminalFineTuneStatuses, type FineTuneJobState, type FineTuneStatus } from '../../../core/types';
import {
  pickJob,
  readApiKey,
  recentEvents,
  tagName,
  trainingFile,
  trainingFileName,
  unknownStatus,
  type CreateJobArgs,
  type FineTuneBackend,
  type JobTag,
} from './backend-common';
import { RestClient } from './rest-client';
import { writeTogetherTrainingFile } from './together-training-file';

type TogetherConfig = Extract<FineTuneBackendConfig, { kind: 'together' }>;

interface TogetherFile {
  id: string;
  filename: string;
}

interface TogetherJob {
  id: string;
  status: string;
  created_at?: string;
  suffix?: string;
  /** The model to call once completed; current API revisions name it model_output_name. */
  output_name?: string | null;
  model_output_name?: string | null;
  steps_completed?: number | null;
  total_steps?: number | null;
}

/** Percent of the training steps done, once Together knows how many there are. */
function progressOf(job: TogetherJob): number | null {
  const { steps_completed: done, total_steps: total } = job;
  return typeof done === 'number' && typeof total === 'number' && total > 0 ? Math.floor((100 * done) / total) : null;
}

interface TogetherEvent {
  created_at: string;
  message: string;
  level?: string | null;
  type?: string;
}

const statuses: Record<string, FineTuneStatus> = {
  pending: 'queued',
  queued: 'queued',
  running: 'running',
  compressing: 'running',
  uploading: 'running',
  completed: 'succeeded',
  error: 'failed',
  // The job's own input was refused (a malformed training file): no retry of the same job can succeed.
  user_error: 'failed',
  cancel_requested: 'cancelled',
  cancelled: 'cancelled',
};

// A status Together adds later keeps the poller waiting rather than ending the stage.
const statusOf = (job: TogetherJob): FineTuneStatus =>
  statuses[job.status] ?? unknownStatus('Together', job.id, job.status);
const timeOf = (iso: string | undefined): number => (iso ? Date.parse(iso) || 0 : 0);

export class TogetherFineTuneBackend implements FineTuneBackend {
  private readonly rest: RestClient;

  constructor(config: TogetherConfig, provider: OpenAiCompatibleProviderConfig, env: NodeJS.ProcessEnv) {
    // The chat provider on the same account sets the patience for every request.
    this.rest = new RestClient(
      'Together',
      config.baseURL,
      readApiKey(config.apiKeyEnv, env),
      provider.requestTimeoutSeconds * 1000,
    );
  }

  async uploadTrainingFile(args: { tag: JobTag; localPath: string; sha256: string }): Promise<string> {
    const name = trainingFileName(args.tag, args.sha256);
    const existing = await this.rest.request<{ data: TogetherFile[] }>('GET', '/files');
    const found = existing.data.find((file) => file.filename === name);
    if (found) return found.id;
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'flt-together-'));
    try {
      const upload = path.join(dir, name);
      await writeTogetherTrainingFile(args.localPath, upload);
      const form = new FormData();
      form.append('file', await trainingFile(upload, name), name);
      form.append('file_name', name);
      form.append('purpose', 'fine-tune');
      return (await this.rest.request<TogetherFile>('POST', '/files/upload', form)).id;
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }

  async findJob(tag: JobTag): Promise<FineTuneJobState | null> {
    const name = tagName(tag);
    const jobs = await this.rest.request<{ data: TogetherJob[] }>('GET', '/fine-tunes');
    const job = pickJob(
      jobs.data.filter((j) => j.suffix === name),
      statusOf,
      (j) => timeOf(j.created_at),
    );
    // The list holds truncated jobs; the full one carries the output name.
    return job ? this.getJob(job.id) : null;
  }

  async createJob(args: CreateJobArgs): Promise<FineTuneJobState> {
    const h = args.hyperparameters;
    const lora = h.lora ?? true;
    const job = await this.rest.request<TogetherJob>('POST', '/fine-tunes', {
      training_file: args.trainingFileId,
      // A job starts from a base model or continues a previous job's model, never both.
      ...(args.initModel ? { from_checkpoint: args.initModel } : { model: args.baseModel }),
      n_epochs: h.epochs,
      learning_rate: h.learningRate,
      batch_size: h.batchSize,
      // findJob recognises the job by this suffix.
      suffix: tagName(args.tag),
      lora,
      lora_r: lora ? h.loraRank : undefined,
      lora_alpha: lora ? h.loraAlpha : undefined,
      // Current API revisions choose LoRA vs full through training_type and default to LoRA when it is absent.
      ...(lora ? {} : { training_type: { type: 'Full' } }),
    });
    // The job exists and is paid for: nothing after the create may fail this call, or a retry would create another.
    return this.toState(job).catch(() => this.stateOf(job, []));
  }

  async getJob(jobId: string): Promise<FineTuneJobState> {
    return this.toState(await this.rest.request<TogetherJob>('GET', `/fine-tunes/${encodeURIComponent(jobId)}`));
  }

  async cancelJob(jobId: string): Promise<void> {
    // Cancelling a job that already ended is a provider error; for us it is nothing left to do.
    const path = `/fine-tunes/${encodeURIComponent(jobId)}`;
    if (terminalFineTuneStatuses.includes(statusOf(await this.rest.request<TogetherJob>('GET', path)))) return;
    await this.rest.request('POST', `${path}/cancel`);
  }

  private async toState(job: TogetherJob): Promise<FineTuneJobState> {
    const { data } = await this.rest.request<{ data: TogetherEvent[] }>(
      'GET',
      `/fine-tunes/${encodeURIComponent(job.id)}/events`,
    );
    return this.stateOf(job, data);
  }

  private stateOf(job: TogetherJob, data: TogetherEvent[]): FineTuneJobState {
    const status = statusOf(job);
    // Together's job object has no error field; the reason is in its latest error event.
    const errorEvent = data
      .filter((e) => e.level === 'error' || e.type === 'job_error')
      .sort((a, b) => timeOf(b.created_at) - timeOf(a.created_at))[0];
    return {
      jobId: job.id,
      status,
      resultModel: status === 'succeeded' ? (job.output_name ?? job.model_output_name ?? null) : null,
      error: status === 'failed' ? (errorEvent?.message ?? `Together job ended with status ${job.status}`) : null,
      events: recentEvents(
        data,
        (e) => timeOf(e.created_at),
        (e) => e.message,
      ),
      progress: progressOf(job),
    };
  }
}
