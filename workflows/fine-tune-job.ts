// The owner of one provider fine-tune job, shared by every run that trains on the same content. One owner runs per
// job content (its workflow id is derived from the content tag), so creates are serialized by Temporal's workflow-id
// uniqueness: runs join with an update-with-start, and the job is created once, however their starts overlap. The
// owner stops the job only when the last run waiting on it left because that run was cancelled.
import { allHandlersFinished, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { attachToJobUpdate, detachFromJobUpdate, jobWaitersQuery } from '../core/workflow-messages';
import { fineTuneJobCalls } from './activity-options';

const { startFineTuneJob, cancelFineTuneJob } = proxyActivities<Activities>(fineTuneJobCalls);

export async function fineTuneJobOwner(): Promise<void> {
  /** Each waiting run's fineTune workflow id, and the job it waits on (a failed job's successor may differ). */
  const waiters = new Map<string, string>();
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
      const job = await startFineTuneJob(request);
      waiters.set(waiterId, job.jobId);
      return job;
    });
  });

  setHandler(detachFromJobUpdate, async ({ waiterId, request, cancelled }) => {
    const jobId = waiters.get(waiterId);
    if (jobId === undefined) return; // never joined, or a retried detach
    waiters.delete(waiterId);
    if (!cancelled) return;
    await oneAtATime(async () => {
      if ([...waiters.values()].includes(jobId)) return; // another run joined this job meanwhile
      const { tag, backend, providers } = request;
      try {
        await cancelFineTuneJob({ tag, backend, providers, jobId });
      } catch (err) {
        // The provider refuses to cancel a job that has just ended; nothing is left running then.
        log.warn('the fine-tune job could not be cancelled', { jobId, error: String(err) });
      }
    });
  });

  setHandler(jobWaitersQuery, () => ({ waiters: [...waiters.keys()], queued }));

  // Ends once every run that joined has left; a later run starts a new owner, which finds the job by its tag.
  await condition(() => asked && waiters.size === 0 && !busy && allHandlersFinished());
}
