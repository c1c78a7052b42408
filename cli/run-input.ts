// A run's input as it was started, read from its history's first event: what `resume` copies and `semievol select
// --run` takes its selection from.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { UserError } from './connection';

export async function runInput(client: Client, handle: WorkflowHandle): Promise<Record<string, unknown>> {
  const history = await handle.fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new UserError(`Run ${handle.workflowId} has no start event in its history.`);
  const [input] = (await decodeArrayFromPayloads(
    client.options.loadedDataConverter,
    started.input?.payloads,
  )) as Record<string, unknown>[];
  return input;
}
