// A run's side of a shared fine-tune job: joining the job's owner workflow (starting it if need be) and leaving it.
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FineTuneJobDeparture, FineTuneJobRequest, FineTuneJobWaiter } from '../core/contracts';
import type { FineTuneJobState } from '../core/types';
import { attachToJobUpdate, detachFromJobUpdate } from '../core/workflow-messages';
import { contentTag } from './fine-tuning';
import { tagName } from './providers/finetune/backend-common';

/**
 * The owner's workflow id: one per job content on a task queue (the workers that can reach the job: a command
 * backend's trainer lives on their hosts).
 */
export function fineTuneJobOwnerId(taskQueue: string, request: FineTuneJobRequest): string {
  return `fine-tune-job:${taskQueue}:${tagName(contentTag({ ...request, stage: request.tag.stage }))}`;
}

/**
 * An update the owner refused: its start activity failed in a way no retry fixes (the owner retries the rest), so
 * the run's activity fails the same way, naming the cause.
 */
function refused(err: unknown): unknown {
  if (!(err instanceof WorkflowUpdateFailedError)) return err;
  let cause: Error | undefined = err.cause;
  while (cause?.cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
  return ApplicationFailure.create({
    message: cause?.message ?? err.message,
    type: cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined,
    nonRetryable: true,
    cause: err.cause,
  });
}

export function fineTuneJobOwnerActivities() {
  return {
    /** Joins the job's waiters and returns the job, which the owner found or created. */
    async attachToFineTuneJob(waiter: FineTuneJobWaiter): Promise<FineTuneJobState> {
      const { client, info } = Context.current();
      const workflowId = fineTuneJobOwnerId(info.taskQueue, waiter.request);
      try {
        return await client.workflow.executeUpdateWithStart(attachToJobUpdate, {
          args: [waiter],
          startWorkflowOperation: new WithStartWorkflowOperation('fineTuneJobOwner', {
            workflowId,
            taskQueue: info.taskQueue,
            workflowIdConflictPolicy: 'USE_EXISTING',
            args: [],
            staticSummary: `fine-tune job of ${waiter.request.tag.stage}, shared by the runs waiting on it`,
          }),
        });
      } catch (err) {
        throw refused(err);
      }
    },

    /** Leaves the job's waiters; an owner already gone had no job left to stop for this run. */
    async detachFromFineTuneJob(departure: FineTuneJobDeparture): Promise<void> {
      const { client, info } = Context.current();
      try {
        await client.workflow
          .getHandle(fineTuneJobOwnerId(info.taskQueue, departure.request))
          .executeUpdate(detachFromJobUpdate, { args: [departure] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return;
        throw refused(err);
      }
    },
  };
}
