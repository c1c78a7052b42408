// The interface every fine-tune backend implements, and what the backends share: job naming, secrets, job choice.
// Kept apart from the factory in backend.ts so that the backends never import the module that imports them.
import { File } from 'node:buffer';
import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import type { OpenAiCompatibleProviderConfig, ProvidersConfig } from '../../../core/config';
import type { FineTuneHyperparameters, FineTuneJobState, FineTuneStatus } from '../../../core/types';

/** Identifies one fine-tune of one pipeline stage; the same tag always names the same provider file and job. */
export interface JobTag {
  runId: string;
  stage: string;
}

const maxTagLength = 40;

function sanitize(part: string): string {
  return part
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * Deterministic, provider-safe tag: 'flt-' + sanitized run and stage, lowercase [a-z0-9-], at most 40 chars
 * (truncated, plus 8 hex of sha256, when longer).
 */
export function tagName(tag: JobTag): string {
  const full = `flt-${sanitize(tag.runId)}-${sanitize(tag.stage)}`;
  if (full.length <= maxTagLength && full === `flt-${tag.runId}-${tag.stage}`) return full;
  // The hash covers the raw run id and stage, so tags that were shortened or sanitized (Run_1 vs run-1) stay distinct.
  const hash = createHash('sha256').update(`${tag.runId}\u0000${tag.stage}`).digest('hex').slice(0, 8);
  return `${full.slice(0, maxTagLength - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

/** A job that ended failed or cancelled is never reused: a re-run or a resumed run starts a new one. */
export const endedWithoutModel = (job: FineTuneJobState) => job.status === 'failed' || job.status === 'cancelled';

export interface CreateJobArgs {
  tag: JobTag;
  trainingFileId: string;
  baseModel: string;
  hyperparameters: FineTuneHyperparameters;
  /** A local adapter to continue training from (the command backend's FLT_INIT_ADAPTER). */
  initAdapter?: string;
  /** A fine-tuned model of the backend's own to continue training instead of `baseModel`. */
  initModel?: string;
}

export interface FineTuneBackend {
  /** Idempotent: returns the id of an already uploaded file with the same tag name and content hash if one exists. */
  uploadTrainingFile(args: { tag: JobTag; localPath: string; sha256: string }): Promise<string>;
  /** The job already created for this tag, or null. */
  findJob(tag: JobTag): Promise<FineTuneJobState | null>;
  createJob(args: CreateJobArgs): Promise<FineTuneJobState>;
  getJob(jobId: string): Promise<FineTuneJobState>;
  cancelJob(jobId: string): Promise<void>;
}

/** Unknown statuses already warned about, per provider, so a job polled for hours logs each once per worker. */
const warnedStatuses = new Set<string>();

/**
 * A status the provider added after this code was written: polled as running, so the wait goes on rather than
 * ending the stage, and logged once, so that an operator can tell when it needs a mapping.
 */
export function unknownStatus(provider: string, jobId: string, status: string): FineTuneStatus {
  const key = `${provider}\u0000${status}`;
  if (!warnedStatuses.has(key)) {
    warnedStatuses.add(key);
    console.warn(`${provider} fine-tune job ${jobId} has status "${status}", unknown here; treated as running.`);
  }
  return 'running';
}

/** How many recent events a job state carries. */
export const eventTail = 10;

/** Remote file name: the content hash in the name is what makes a found file safe to reuse. */
export function trainingFileName(tag: JobTag, sha256: string): string {
  return `${tagName(tag)}-${sha256.slice(0, 12)}.jsonl`;
}

/** The local training file as an uploadable File, backed by the disk rather than read into memory. */
export async function trainingFile(localPath: string, name: string): Promise<File> {
  return new File([await openAsBlob(localPath)], name, { type: 'application/jsonl' });
}

/** Reads an API key from the worker environment: unset, a MissingSecret failure that names only the variable. */
export { providerApiKey, readApiKey } from '../secrets';

/** The openai-compatible provider a remote backend runs through (its endpoint, key variable and timeout). */
export function openAiCompatibleProvider(providers: ProvidersConfig, name: string): OpenAiCompatibleProviderConfig {
  const provider = providers[name];
  if (!provider) throw new Error(`Fine-tune backend: unknown provider "${name}".`);
  if (provider.kind !== 'openai-compatible') {
    throw new Error(`Fine-tune backend: provider "${name}" is ${provider.kind}, not openai-compatible.`);
  }
  return provider;
}

/**
 * Of several jobs carrying the same tag (a create that was retried after the provider had already accepted it),
 * the one to follow: a live or succeeded job before a failed or cancelled one, newest first within each group.
 */
export function pickJob<T>(jobs: T[], status: (job: T) => FineTuneStatus, createdAt: (job: T) => number): T | null {
  const dead = (job: T) => status(job) === 'failed' || status(job) === 'cancelled';
  const sorted = [...jobs].sort((a, b) => Number(dead(a)) - Number(dead(b)) || createdAt(b) - createdAt(a));
  return sorted[0] ?? null;
}

/** The newest `eventTail` messages, oldest first, whatever order the provider listed them in (any time unit). */
export function recentEvents<T>(events: T[], createdAt: (event: T) => number, message: (event: T) => string): string[] {
  return [...events]
    .sort((a, b) => createdAt(a) - createdAt(b))
    .slice(-eventTail)
    .map(message);
}
