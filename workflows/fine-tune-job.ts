// The owner of one provider fine-tune job, shared by every run that trains on the same content. One owner runs per
// job content (its workflow id is derived from the content tag), so creates are serialized by Temporal's workflow-id
// uniqueness: runs join with an update-with-start, and the job is created once, however their starts overlap. The
// owner stops the job only when the last run waiting on it left because that run was cancelled.
import { allHandlersFinished, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FineTuneJobState } from '../core/types';
import { attachToJobUpdate, detachFromJobUpdate, jobWaitersQuery } from '../core/workflow-messages';
import { fineTuneJobCalls } from './activity-options';
import { hostGone, hostMissed, onHost, onTrainerHosts, startOnTrainerHost } from './trainer-hosts';

const { startFineTuneJob, cancelFineTuneJob } = proxyActivities<Activities>(fineTuneJobCalls);

export async function fineTuneJobOwner(): Promise<void> {
  /** Each waiting run's fineTune workflow id, and the job it waits on (a failed job's successor may differ). */
  const waiters = new Map<string, Pick<FineTuneJobState, 'jobId' | 'hostQueue'>>();
  /** The trainer host of the latest job: a run that joins later finds the job there rather than on another host. */
  let host: string | undefined;
  let busy = false;
  let queued = 0;
  let asked = false;
  /** Creates and cancels run one at a time, so a run that joins during a cancel finds the job already stopped. */
  const oneAtATime = async <T>(work: () => Promise<T>): Promise<T> => {
    queued++;
    // Re-checked after every wake-up: handlers waiting together all wake when it frees, and only the first may take it.
    while (busy) await condition(() => !busy);
    queued--;
    busy = true;
    try {
      return await work();
    } finally {
      busy = false;
    }
  };

  setHandler(attachToJobUpdate, ({ waiterId, request }) => {
    asked = true;
    return oneAtATime(async () => {
      // Finds the live or succeeded job, or creates one (a job that ended without a model is never reused).
      const job = onTrainerHosts(request.backend)
        ? await startOnTrainerHost({ ...request, backend: request.backend }, host)
        : await startFineTuneJob(request);
      host = job.hostQueue;
      waiters.set(waiterId, { jobId: job.jobId, hostQueue: job.hostQueue });
      return job;
    });
  });

  setHandler(detachFromJobUpdate, async ({ waiterId, request, cancelled }) => {
    const job = waiters.get(waiterId);
    if (job === undefined) return; // never joined, or a retried detach
    waiters.delete(waiterId);
    if (!cancelled) return;
    const { jobId, hostQueue } = job;
    await oneAtATime(async () => {
      if ([...waiters.values()].some((other) => other.jobId === jobId)) return; // another run joined this job meanwhile
      const { tag, backend, providers } = request;
      // A trainer is cancelled where it runs, through its host's queue.
      const cancel = hostQueue ? onHost(hostQueue, backend, fineTuneJobCalls).cancelFineTuneJob : cancelFineTuneJob;
      try {
        await cancel({ tag, backend, providers, jobId });
      } catch (err) {
        // The provider refuses to cancel a job that has just ended; nothing is left running then. A trainer host
        // that is gone cannot be reached: its trainer stops itself once no worker has polled it for the grace.
        const error = hostQueue && hostMissed(err) ? hostGone(hostQueue, backend) : String(err);
        log.warn('the fine-tune job could not be cancelled', { jobId, error });
      }
    });
  });

  setHandler(jobWaitersQuery, () => ({ waiters: [...waiters.keys()], queued }));

  // Ends once every run that joined has left; a later run starts a new owner, which finds the job by its tag.
  await condition(() => asked && waiters.size === 0 && !busy && allHandlersFinished());
}
