// A worker restarted after a crash frees at once the activities its dead predecessor on the same host had started,
// instead of leaving them until their heartbeat timeout (minutes) tells the server the worker is gone. Only attempts
// whose worker identity (`<pid>@<host>`, see workerIdentity) names this host and a process that no longer runs are
// failed; Temporal then retries them under their retry policy, and the retry finds every finished call in the cache.
// The worker sweeps before it polls and again every few seconds for as long as a heartbeat timeout: one sweep can miss
// an orphan (the visibility store lists a new workflow late, or a busy machine outlasts the sweep's deadline).
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import { deadLocalWorker } from './host-identity';

/**
 * Fails every started activity of the task queue's running workflows whose worker died on this host; returns their
 * number. Call before polling.
 */
export async function failOrphanedActivities(
  client: Client,
  taskQueue: string,
  isDead: (identity: string) => boolean = deadLocalWorker,
): Promise<number> {
  let failed = 0;
  for await (const execution of client.workflow.list({
    query: `ExecutionStatus = "Running" AND TaskQueue = ${JSON.stringify(taskQueue)}`,
  })) {
    const { raw } = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    for (const activity of raw.pendingActivities ?? []) {
      const identity = activity.lastWorkerIdentity ?? '';
      if (
        activity.state !== temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED ||
        !isDead(identity)
      )
        continue;
      const failure = ApplicationFailure.create({
        message: `worker ${identity} exited with this attempt running`,
        type: 'WorkerGone',
        nextRetryDelay: '100 milliseconds',
      });
      try {
        await client.activity.fail(
          { workflowId: execution.workflowId, runId: execution.runId, activityId: activity.activityId! },
          failure,
        );
        failed++;
      } catch {
        // finished, timed out or retried meanwhile: nothing left to free
      }
    }
  }
  return failed;
}

export interface OrphanSweepOptions {
  /** Between sweeps. */
  everyMs: number;
  /** How long the worker keeps sweeping: past the activities' heartbeat timeout, the server has freed what is left. */
  forMs: number;
  /** Each sweep gives up after this long; the next one tries again. */
  deadlineMs: number;
  /** The identity this worker polls under: its attempts are never orphans once it polls. */
  self: string;
  isDead?: (identity: string) => boolean;
  onFreed?: (count: number) => void;
  onError?: (err: unknown) => void;
}

/**
 * Sweeps now (before this worker polls, so its own pid in an identity means a dead predecessor) and then every
 * `everyMs` until `forMs` have passed or `stop` is called. `first` settles with the first sweep, whatever it found.
 * Each sweep asks `connect` for its client, so a server out of reach at one sweep is tried again at the next.
 */
export function sweepOrphanedActivities(
  connect: () => Promise<Client>,
  taskQueue: string,
  options: OrphanSweepOptions,
): { first: Promise<void>; stop: () => Promise<void> } {
  const { everyMs, forMs, deadlineMs, self, isDead = deadLocalWorker, onFreed, onError } = options;
  const stopped = new AbortController();
  const sweep = async (dead: (identity: string) => boolean) => {
    try {
      const client = await connect();
      const freed = await client.withDeadline(Date.now() + deadlineMs, () =>
        failOrphanedActivities(client, taskQueue, dead),
      );
      if (freed) onFreed?.(freed);
    } catch (err) {
      if (!stopped.signal.aborted) onError?.(err);
    }
  };
  const first = sweep(isDead);
  const until = Date.now() + forMs;
  const later = (async () => {
    await first;
    while (!stopped.signal.aborted && Date.now() + everyMs <= until) {
      // Cut short by stop(); the timer's own abort listener goes with each wait, so none pile up over minutes.
      await sleep(everyMs, undefined, { signal: stopped.signal }).catch(() => undefined);
      if (!stopped.signal.aborted) await sweep((identity) => identity !== self && isDead(identity));
    }
  })();
  return {
    first,
    stop: async () => {
      stopped.abort();
      await later;
    },
  };
}
