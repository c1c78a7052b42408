// What a run that stopped making progress is waiting on, for a test to fail with instead of its timeout: the pending
// activities and child workflows of the run and of its children, with their attempts, workers and last failures.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import * as fs from 'node:fs';

const { PendingActivityState } = temporal.api.enums.v1;
const seconds = (t: { seconds?: { toNumber(): number } | number | null } | null | undefined) =>
  t?.seconds == null ? null : typeof t.seconds === 'number' ? t.seconds : t.seconds.toNumber();
const ago = (t: Parameters<typeof seconds>[0]) => {
  const s = seconds(t);
  return s === null ? 'never' : `${Math.round(Date.now() / 1000 - s)} s ago`;
};

export async function describeStuckRun(client: Client, workflowId: string, runId?: string, depth = 0): Promise<string> {
  const indent = '  '.repeat(depth);
  const { raw, status, type } = await client.workflow.getHandle(workflowId, runId).describe();
  const lines = [`${indent}${type} ${workflowId}: ${status.name}, ${raw.workflowExecutionInfo?.historyLength} events`];
  for (const a of raw.pendingActivities ?? []) {
    lines.push(
      `${indent}  activity ${a.activityId} ${a.activityType?.name}: ${PendingActivityState[a.state ?? 0]}, ` +
        `attempt ${a.attempt}, worker ${a.lastWorkerIdentity || '-'}, started ${ago(a.lastStartedTime)}, ` +
        `heartbeat ${ago(a.lastHeartbeatTime)}, next attempt ${ago(a.nextAttemptScheduleTime)}` +
        (a.lastFailure?.message ? `, last failure: ${a.lastFailure.message}` : ''),
    );
  }
  for (const c of raw.pendingChildren ?? []) {
    try {
      lines.push(await describeStuckRun(client, c.workflowId!, c.runId ?? undefined, depth + 1));
    } catch (err) {
      lines.push(`${indent}  child ${c.workflowId}: ${err instanceof Error ? err.message : err}`);
    }
  }
  const task = raw.pendingWorkflowTask;
  if (task) lines.push(`${indent}  workflow task: attempt ${task.attempt}, scheduled ${ago(task.scheduledTime)}`);
  return lines.join('\n');
}

/** The last `lines` lines of a log file, or a note that it has none. */
export function tailOf(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

/**
 * Runs a test's body, failing it `afterMs` in with what `diagnose` says instead of leaving it to the test timeout
 * (which abandons the body without a word). Give it a margin under the test's timeout.
 */
export async function failStuckWith<T>(afterMs: number, diagnose: () => Promise<string>, body: () => Promise<T>) {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      diagnose().then(
        (text) => reject(new Error(`still running after ${afterMs / 1000} s:\n${text}`)),
        (err: unknown) => reject(new Error(`still running after ${afterMs / 1000} s (no diagnosis: ${err})`)),
      );
    }, afterMs);
  });
  try {
    return await Promise.race([body(), stuck]);
  } finally {
    clearTimeout(timer);
  }
}
