// OpenAI fine-tuning jobs through the openai SDK (also any provider that speaks the same files + fine_tuning API).
//
// OpenAI is closing self-serve fine-tuning to new jobs in stages up to 2027-01-06; that is why the Together and
// local command backends exist next to this one.
import OpenAI, { APIError } from 'openai';
import type { FineTuningJob, FineTuningJobEvent } from 'openai/resources/fine-tuning/jobs/jobs';
import type { OpenAiCompatibleProviderConfig } from '../../../core/config';
import { InvalidConfig, typedError } from '../../../core/errors';
import { terminalFineTuneStatuses, type FineTuneJobState, type FineTuneStatus } from '../../../core/types';
import {
  eventTail,
  pickJob,
  providerApiKey,
  recentEvents,
  tagName,
  trainingFile,
  trainingFileName,
  type CreateJobArgs,
  type FineTuneBackend,
  type JobTag,
} from './backend-common';

const tagMetadataKey = 'flt_tag';
/** How far back the unfiltered scan looks for a job whose metadata filter the provider ignored. */
const recentJobsScanned = 100;

const knownStatuses: FineTuneStatus[] = ['validating_files', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];

// Statuses outside the documented set (a provider's extra "paused", say) keep the poller waiting, not finishing.
const statusOf = (job: FineTuningJob): FineTuneStatus => (knownStatuses.includes(job.status) ? job.status : 'running');

const tagOf = (job: FineTuningJob): string | undefined => job.metadata?.[tagMetadataKey];

/** The error code OpenAI answers a create with once its self-serve closure has reached the organisation. */
const closedCode = 'fine_tuning_unavailable';

/** A create the closure refused fails the run at once, pointing at the backends that still train. */
function closureRefusal(err: unknown): Error | null {
  if (!(err instanceof APIError) || err.code !== closedCode) return null;
  return typedError(
    InvalidConfig,
    'OpenAI refused the fine-tuning job because it has closed self-serve fine-tuning to this organisation ' +
      `(${err.status} ${closedCode}); set the fine-tune backend's kind to "command" (your own trainer, served by ` +
      'vLLM, SGLang or llama.cpp), "together" or "fireworks" instead.',
  );
}

export class OpenAiFineTuneBackend implements FineTuneBackend {
  private readonly client: OpenAI;

  constructor(provider: OpenAiCompatibleProviderConfig, env: NodeJS.ProcessEnv) {
    this.client = new OpenAI({
      apiKey: providerApiKey(provider, env),
      baseURL: provider.baseURL ?? 'https://api.openai.com/v1',
      timeout: provider.requestTimeoutSeconds * 1000,
      // Temporal owns retries; an SDK retry of a create could start a second paid job.
      maxRetries: 0,
    });
  }

  async uploadTrainingFile(args: { tag: JobTag; localPath: string; sha256: string }): Promise<string> {
    const name = trainingFileName(args.tag, args.sha256);
    for await (const file of this.client.files.list({ purpose: 'fine-tune' })) {
      if (file.filename === name) return file.id;
    }
    const created = await this.client.files.create({
      file: await trainingFile(args.localPath, name),
      purpose: 'fine-tune',
    });
    return created.id;
  }

  async findJob(tag: JobTag): Promise<FineTuneJobState | null> {
    const name = tagName(tag);
    const filtered = await this.client.fineTuning.jobs.list({ metadata: { [tagMetadataKey]: name }, limit: 100 });
    let matches = filtered.data.filter((job) => tagOf(job) === name);
    if (matches.length === 0) {
      const recent = await this.client.fineTuning.jobs.list({ limit: recentJobsScanned });
      matches = recent.data.filter((job) => tagOf(job) === name);
    }
    const job = pickJob(matches, statusOf, (j) => j.created_at);
    return job ? this.toState(job) : null;
  }

  async createJob(args: CreateJobArgs): Promise<FineTuneJobState> {
    const name = tagName(args.tag);
    const h = args.hyperparameters;
    const job = await this.client.fineTuning.jobs
      .create({
        model: args.baseModel,
        training_file: args.trainingFileId,
        // The suffix only makes the model name readable; the metadata tag is what findJob matches on. The SDK
        // documents up to 64 characters (older API revisions said 18); tag names are at most 40.
        suffix: name,
        metadata: { [tagMetadataKey]: name },
        method: {
          type: 'supervised',
          supervised: {
            hyperparameters: {
              n_epochs: h.epochs,
              // OpenAI takes a multiplier of its own base learning rate, not an absolute rate: learningRate is passed
              // through as that multiplier.
              learning_rate_multiplier: h.learningRate,
              batch_size: h.batchSize,
            },
          },
        },
      })
      .catch((err: unknown) => {
        throw closureRefusal(err) ?? err;
      });
    // The job exists and is paid for: nothing after the create may fail this call, or a retry would create another.
    return this.toState(job).catch(() => this.stateOf(job, []));
  }

  async getJob(jobId: string): Promise<FineTuneJobState> {
    return this.toState(await this.client.fineTuning.jobs.retrieve(jobId));
  }

  async cancelJob(jobId: string): Promise<void> {
    // Cancelling a job that already ended is a provider error; for us it is nothing left to do.
    const job = await this.client.fineTuning.jobs.retrieve(jobId);
    if (terminalFineTuneStatuses.includes(statusOf(job))) return;
    await this.client.fineTuning.jobs.cancel(jobId);
  }

  private async toState(job: FineTuningJob): Promise<FineTuneJobState> {
    const events = await this.client.fineTuning.jobs.listEvents(job.id, { limit: eventTail });
    return this.stateOf(job, events.data);
  }

  private stateOf(job: FineTuningJob, events: FineTuningJobEvent[]): FineTuneJobState {
    return {
      jobId: job.id,
      status: statusOf(job),
      resultModel: job.fine_tuned_model ?? null,
      error: job.error?.message || null,
      // OpenAI lists events newest first with timestamps in whole seconds; reversing before recentEvents' stable
      // sort keeps events of the same second in order.
      events: recentEvents(
        [...events].reverse(),
        (e) => e.created_at,
        (e) => e.message,
      ),
    };
  }
}
