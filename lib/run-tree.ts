// The live state of a run: its workflow and every running child workflow under it, from Temporal's describe (which
// lists pending children, and pending activities with their last heartbeat), each with its progress and control
// queries, the fine-tune job a fineTune child waits on and the provider batch each batch wait polls (both from the
// workflow's history). Read-only: works on any run the client can reach, wherever it was started.
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { BatchPart } from '../core/batch';
import type { FineTuneJobState } from '../core/types';
import { controlQuery, progressQuery, type ControlState, type RunProgress } from '../core/workflow-messages';

export interface PendingActivity {
  type: string;
  attempt: number;
  /**
   * The last heartbeat's details: `{done, of}` for model calls and a batch's planning (shards planned),
   * `{status, lastEvent, progress}` for a fine-tune wait, `{batchId, status, done, of, failed, pollError?}` for a
   * batch wait.
   */
  heartbeat: unknown;
  /** Which batch a `waitForStageBatch` polls; absent for other activities, or when the history could not be read. */
  batch?: BatchOfWait;
  lastFailure: string | null;
  /** When the next attempt starts while the activity waits out its retry backoff; null while an attempt runs. */
  nextAttemptAt: Date | null;
}

/** A batch as its stage names it: the stage's batch name (with the round and the provider group), part, provider. */
export interface BatchOfWait {
  stage: string;
  part: number;
  provider: string;
}

export interface FineTuneJobView {
  jobId: string;
  status: string;
  /** The job's events the client has seen, oldest first. */
  events: string[];
  /** Percent of the training done, where the provider reports it. */
  progress?: number | null;
}

export interface RunNode {
  workflowId: string;
  type: string;
  status: string;
  /** Null when the workflow has none or no worker answered the query in time. */
  progress: RunProgress | null;
  control: ControlState | null;
  activities: PendingActivity[];
  fineTuneJob: FineTuneJobView | null;
  children: RunNode[];
  /** Why a run that failed, timed out or was terminated ended; null while it runs or when it completed. */
  failure: string | null;
  /**
   * The parent's stage when `flt watch` first saw this child, where it keeps the child once it has closed; absent from
   * what `readRunTree` reads.
   */
  stageOfParent?: string;
}

/** How long a query may wait for a worker: a run whose workers are down still shows what describe knows. */
const queryDeadlineMs = 5_000;

async function queryOrNull<T>(client: Client, run: () => Promise<T>): Promise<T | null> {
  try {
    return await client.withDeadline(Date.now() + queryDeadlineMs, run);
  } catch {
    return null;
  }
}

const decode = <T>(client: Client, payloads: temporal.api.common.v1.IPayloads | null | undefined): Promise<T> =>
  decodeFromPayloadsAtIndex<T>(client.options.loadedDataConverter, 0, payloads?.payloads);

/** The job a fineTune workflow started last (a failed job may be followed by a new one) and its status. */
async function fineTuneJob(
  client: Client,
  workflowId: string,
  activities: PendingActivity[],
): Promise<FineTuneJobView | null> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  let started: FineTuneJobState | null = null;
  for (const event of history.events ?? []) {
    const schedule = event.activityTaskScheduledEventAttributes;
    if (schedule) scheduled.set(String(event.eventId), schedule.activityType?.name ?? '');
    const completed = event.activityTaskCompletedEventAttributes;
    // A run that shares its job (workflows/fine-tune-job.ts) learns it from joining the job's owner.
    const type = completed ? scheduled.get(String(completed.scheduledEventId)) : undefined;
    if (completed && (type === 'startFineTuneJob' || type === 'attachToFineTuneJob'))
      started = await decode<FineTuneJobState>(client, completed.result);
  }
  if (!started) return null;
  const waiting = activities.find((a) => a.type === 'waitForFineTuneJob')?.heartbeat as
    { status?: string; lastEvent?: string | null; progress?: number | null } | undefined;
  const events = [...started.events];
  if (waiting?.lastEvent && events.at(-1) !== waiting.lastEvent) events.push(waiting.lastEvent);
  const progress = waiting ? waiting.progress : started.progress;
  return { jobId: started.jobId, status: waiting?.status ?? started.status, events, progress: progress ?? null };
}

/**
 * The batch each pending `waitForStageBatch` polls, by activity id: its heartbeat carries the batch's id only, the
 * input its scheduling recorded says which part of which stage it is.
 */
async function batchesWaitedFor(
  client: Client,
  workflowId: string,
  activityIds: string[],
): Promise<Map<string, BatchOfWait>> {
  const batches = new Map<string, BatchOfWait>();
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  for (const event of history.events ?? []) {
    const schedule = event.activityTaskScheduledEventAttributes;
    if (!schedule?.activityId || !activityIds.includes(schedule.activityId)) continue;
    const { part } = await decode<{ part: BatchPart }>(client, schedule.input);
    batches.set(schedule.activityId, { stage: part.tag.stage, part: part.tag.part, provider: part.provider });
  }
  return batches;
}

/** A failure and its causes as one line: which stage or activity failed, then the error that ended it. */
export function failureChain(failure: temporal.api.failure.v1.IFailure | null | undefined): string {
  const parts: string[] = [];
  for (let f = failure, depth = 0; f && depth < 10; f = f.cause, depth++) {
    const activity = f.activityFailureInfo?.activityType?.name;
    const child = f.childWorkflowExecutionFailureInfo;
    const type = f.applicationFailureInfo?.type;
    const part = activity
      ? `activity ${activity} failed`
      : child
        ? `${child.workflowType?.name ?? 'child'} ${child.workflowExecution?.workflowId ?? ''} failed`
        : type && f.message && !f.message.startsWith(type)
          ? `${type}: ${f.message}`
          : (f.message ?? '');
    if (part && !parts.includes(part)) parts.push(part);
  }
  return parts.join(': ');
}

/** The event that closed a workflow's latest execution, if it is closed. */
export async function closeEvent(
  client: Client,
  workflowId: string,
): Promise<temporal.api.history.v1.IHistoryEvent | undefined> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId },
    historyEventFilterType: temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
  });
  return history?.events?.[0] ?? undefined;
}

/** Why a closed run ended, from its close event; null when it completed. */
async function closeReason(client: Client, workflowId: string): Promise<string | null> {
  const event = await closeEvent(client, workflowId);
  if (event?.workflowExecutionFailedEventAttributes)
    return failureChain(event.workflowExecutionFailedEventAttributes.failure) || 'failed';
  if (event?.workflowExecutionTimedOutEventAttributes) return 'the run timed out';
  const terminated = event?.workflowExecutionTerminatedEventAttributes;
  if (terminated) return `terminated${terminated.reason ? `: ${terminated.reason}` : ''}`;
  if (event?.workflowExecutionCanceledEventAttributes) return 'cancelled';
  return null;
}

/**
 * The workflow and, while it runs, its running descendants; `queries: false` skips progress and control (no worker
 * needed).
 */
export async function readRunTree(
  client: Client,
  workflowId: string,
  opts: { queries: boolean } = { queries: true },
): Promise<RunNode> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  const running = description.status.name === 'RUNNING';
  const pending = description.raw.pendingActivities ?? [];
  const batchWaits = pending.filter((a) => a.activityType?.name === 'waitForStageBatch').map((a) => a.activityId!);
  const batches = batchWaits.length
    ? await batchesWaitedFor(client, workflowId, batchWaits).catch(() => new Map<string, BatchOfWait>())
    : new Map<string, BatchOfWait>();
  const activities = await Promise.all(
    pending.map(async (a): Promise<PendingActivity> => {
      const batch = batches.get(a.activityId!);
      return {
        type: a.activityType?.name ?? '',
        attempt: a.attempt ?? 1,
        heartbeat: a.heartbeatDetails?.payloads?.length
          ? await decode(client, a.heartbeatDetails).catch(() => null)
          : null,
        lastFailure: a.lastFailure ? failureChain(a.lastFailure) : null,
        nextAttemptAt: optionalTsToDate(a.nextAttemptScheduleTime) ?? null,
        ...(batch ? { batch } : {}),
      };
    }),
  );
  const queries = running && opts.queries;
  const [progress, control, fineTune, children, failure] = await Promise.all([
    queries && description.type !== 'fineTune' ? queryOrNull(client, () => handle.query(progressQuery)) : null,
    queries && description.type !== 'fineTune' ? queryOrNull(client, () => handle.query(controlQuery)) : null,
    // A closed one's job too: `flt watch` keeps a fine-tune stage in view after it ends.
    description.type === 'fineTune' ? fineTuneJob(client, workflowId, activities) : null,
    Promise.all(
      (description.raw.pendingChildren ?? []).map((child) =>
        readRunTree(client, child.workflowId!, opts).catch(() => null),
      ),
    ),
    running || description.status.name === 'COMPLETED' ? null : closeReason(client, workflowId).catch(() => null),
  ]);
  return {
    workflowId,
    type: description.type,
    status: description.status.name,
    progress,
    control,
    activities,
    fineTuneJob: fineTune,
    children: children.filter((c): c is RunNode => c !== null),
    failure,
  };
}

/** Every node of the tree, the root first. */
export function flatten(node: RunNode): RunNode[] {
  return [node, ...node.children.flatMap(flatten)];
}
