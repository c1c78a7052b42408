// The `command` backend's trainers on hosts of their own (Temporal's worker-specific task queues): a trainer worker
// taken from the trainer task queue names its host's queue, and the job's start and every later activity of it (the
// polls, a cancel) go there, to the one host that sees the trainer's processes and job directory. A host that does not
// take an activity within the grace is taken for gone: its job counts as failed, so `retryFailedJobs` trains anew on
// whichever trainer host takes the new job.
import { TimeoutType } from '@temporalio/common';
import {
  ActivityFailure,
  log,
  patched,
  proxyActivities,
  TimeoutFailure,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FineTuneJobRequest, RemoteFineTuneBackendConfig } from '../core/contracts';
import type { FineTuneJobState } from '../core/types';
import { fineTuneJobCalls } from './activity-options';

type CommandBackend = Extract<RemoteFineTuneBackendConfig, { kind: 'command' }>;

const defaultGraceSeconds = 600;

/** Whether a job's activities go to trainer hosts: `command` jobs started before this keep the run's task queue. */
export const onTrainerHosts = (backend: RemoteFineTuneBackendConfig): backend is CommandBackend =>
  backend.kind === 'command' && patched('trainer-host-queues');

const graceSeconds = (backend: RemoteFineTuneBackendConfig) =>
  (backend.kind === 'command' && backend.trainerHostGraceSeconds) || defaultGraceSeconds;

/** Activities on a trainer host's queue, failing with a schedule-to-start timeout when it does not take them. */
export const onHost = (hostQueue: string, backend: RemoteFineTuneBackendConfig, options: ActivityOptions) =>
  proxyActivities<Activities>({
    ...options,
    taskQueue: hostQueue,
    scheduleToStartTimeout: `${graceSeconds(backend)} seconds`,
  });

/** True when the host did not take the activity within the grace. */
export const hostMissed = (err: unknown): boolean =>
  err instanceof ActivityFailure &&
  err.cause instanceof TimeoutFailure &&
  err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START;

export const hostGone = (hostQueue: string, backend: RemoteFineTuneBackendConfig): string =>
  `trainer host ${hostQueue} did not take the job's next activity within the grace of ${graceSeconds(backend)} s ` +
  '(trainerHostGraceSeconds): its worker is gone';

/** The job as failed on a host that is gone, so the run's retry policy for failed jobs takes over. */
export const failedOnGoneHost = (job: FineTuneJobState, backend: RemoteFineTuneBackendConfig): FineTuneJobState => ({
  ...job,
  status: 'failed',
  resultModel: null,
  error: hostGone(job.hostQueue!, backend),
});

/**
 * Starts (or finds) the job on `hostQueue`, the host of the owner's earlier job, or on the host of a trainer worker
 * that takes it from the trainer task queue; a host gone before it took the start is replaced by another.
 */
export async function startOnTrainerHost(
  request: FineTuneJobRequest & { backend: CommandBackend },
  hostQueue?: string,
): Promise<FineTuneJobState> {
  const trainerQueue = request.backend.trainerTaskQueue ?? `${workflowInfo().taskQueue}-trainer`;
  const { trainerHostQueue } = proxyActivities<Activities>({ ...fineTuneJobCalls, taskQueue: trainerQueue });
  for (let host = hostQueue ?? (await trainerHostQueue()); ; host = await trainerHostQueue()) {
    try {
      const job = await onHost(host, request.backend, fineTuneJobCalls).startFineTuneJob(request);
      return { ...job, hostQueue: host };
    } catch (err) {
      if (!hostMissed(err)) throw err;
      log.warn('starting the job on another trainer host', { error: hostGone(host, request.backend) });
    }
  }
}
