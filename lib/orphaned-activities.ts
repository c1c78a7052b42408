// A worker restarted after a crash frees at once the activities its dead predecessor on the same host had started,
// instead of leaving them until their heartbeat timeout (minutes) tells the server the worker is gone. Only attempts
// whose worker identity (`<pid>@<host>`, see workerIdentity) names this host and a process that no longer runs are
// failed; Temporal then retries them under their retry policy, and the retry finds every finished call in the cache.
// The worker sweeps before it polls and again every few seconds for as long as a heartbeat timeout: one sweep can miss
// an orphan (the visibility store lists a new workflow late, or a busy machine outlasts the sweep's deadline).
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function readOrEmpty(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return '';
  }
}

/**
 * Where a pid means one process: the hostname, the kernel's boot id and the pid namespace. Two containers can share a
 * hostname (and a kernel) yet number their processes apart, so a hostname alone would let one worker fail the live
 * attempts of another whose pid happens not to run here. Without a process table (not Linux), the hostname alone.
 */
export function localHost(procRoot = '/proc', hostname = os.hostname()): string {
  const bootId = readOrEmpty(() => fs.readFileSync(path.join(procRoot, 'sys/kernel/random/boot_id'), 'utf8'));
  // e.g. "pid:[4026531836]": the namespace's inode, the same for every process in it.
  const pidNamespace = readOrEmpty(() => fs.readlinkSync(path.join(procRoot, 'self/ns/pid'))).replace(/\D/g, '');
  return bootId || pidNamespace ? `${hostname}/${bootId.slice(0, 8)}/${pidNamespace}` : hostname;
}

/** True when two identities from localHost name one machine (same hostname) under different boots: it rebooted. */
export function rebootedSince(recorded: string, current: string): boolean {
  const [recordedName, recordedBoot] = recorded.split('/');
  const [currentName, currentBoot] = current.split('/');
  return recordedName === currentName && !!recordedBoot && !!currentBoot && recordedBoot !== currentBoot;
}

let thisHost: string | undefined;
/** This process's localHost(), read once. */
export const cachedLocalHost = () => (thisHost ??= localHost());

/** The identity the worker polls under; an attempt it leaves behind when it dies names it. */
export const workerIdentity = (host = cachedLocalHost(), pid = process.pid) => `${pid}@${host}`;

/**
 * True when `identity` is a worker of this host whose process is gone. A worker that has not polled yet owns no
 * activity, so its own pid in an identity (a restarted container reusing the pid) also means a dead predecessor.
 */
export function deadLocalWorker(
  identity: string,
  host = cachedLocalHost(),
  self = process.pid,
  alive = running,
): boolean {
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
