// What a run that ended without a result spent: its own FltCostUsd (the stages it finished) plus that of each stage
// workflow its failure came through (the shards that stage finished), which each workflow keeps current itself.
import type { Client } from '@temporalio/client';
import { searchAttributes } from '../core/search-attributes';
import { closeEvent } from './run-tree';

const costOf = async (client: Client, workflowId: string): Promise<number> =>
  (await client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(searchAttributes.costUsd) ?? 0;

/** The measured calls a closed run paid for, in dollars, its failing stage's finished shards included. */
export async function closedRunSpentUsd(client: Client, workflowId: string): Promise<number> {
  const event = await closeEvent(client, workflowId);
  const failed = new Set<string>();
  const failure = event?.workflowExecutionFailedEventAttributes?.failure;
  for (let f = failure, depth = 0; f && depth < 10; f = f.cause, depth++) {
    const child = f.childWorkflowExecutionFailureInfo?.workflowExecution?.workflowId;
    if (child) failed.add(child);
  }
  const costs = await Promise.all([workflowId, ...failed].map((id) => costOf(client, id)));
  return costs.reduce((sum, cost) => sum + cost, 0);
}

/** `failed after spending $X` and the like, for a run in `status` (a Temporal status name) that has closed. */
export async function closedRunSpendLine(client: Client, workflowId: string, status: string): Promise<string> {
  const ended = status.toLowerCase().replace(/_/g, ' ');
  return `${ended} after spending $${(await closedRunSpentUsd(client, workflowId)).toFixed(4)}`;
}
