// A worker restarted after a crash frees at once the activities its dead predecessor on the same host had started,
// instead of leaving them until their heartbeat timeout (minutes) tells the server the worker is gone. Only attempts
// whose worker identity (the SDK's default `<pid>@<hostname>`) names this host and a process that no longer runs are
// failed; Temporal then retries them under their retry policy, and the retry finds every finished call in the cache.
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import * as os from 'node:os';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * True when `identity` is a worker of this host whose process is gone. A worker that has not polled yet owns no
 * activity, so its own pid in an identity (a restarted container reusing the pid) also means a dead predecessor.
 */
export function deadLocalWorker(identity: string, host = os.hostname(), self = process.pid, alive = running): boolean {
  const match = /^(\d+)@(.+)$/.exec(identity);
  if (!match || match[2] !== host) return false;
  const pid = Number(match[1]);
  return pid === self || !alive(pid);
}

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
