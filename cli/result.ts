// `flt result`, and how the CLI prints a finished run's result: the method's summary lines and what the run spent, or
// the whole JSON.
import { WorkflowFailedError } from '@temporalio/client';
import { promptCacheShare, type StageUsage } from '../core/types';
import type { StageCost } from '../core/workflow-messages';
import { summarizeResult } from '../lib/methods';
import { closedRunSpendLine } from '../lib/run-spend';
import { connect } from './connection';

/** A run's cost, saying how much of it is estimated serving billed by time rather than measured calls. */
export const costText = (u: StageUsage): string =>
  `$${u.costUsd.toFixed(4)}` +
  (u.timeBilledUsd ? ` (of which $${u.timeBilledUsd.toFixed(4)} estimated time-billed serving)` : '');

/** One line per stage that billed serving by time: what `cost` above estimates rather than measures. */
export const timeBilledLines = (costs: readonly StageCost[] | undefined): string[] =>
  (costs ?? [])
    .filter((c) => c.usage.timeBilledUsd)
    .map((c) => `${c.stage}: estimated time-billed serving $${c.usage.timeBilledUsd!.toFixed(4)}`);

const percent = (share: number) => `${Math.round(share * 100)}%`;

/** The share of the run's prompt tokens the provider's prompt cache served, and each stage's; null where none. */
export function promptCacheLine(u: StageUsage, costs: readonly StageCost[] | undefined): string | null {
  const share = promptCacheShare(u);
  if (share === null) return null;
  const stages = (costs ?? []).flatMap((c) => {
    const stageShare = promptCacheShare(c.usage);
    return stageShare === null ? [] : [`${c.stage} ${percent(stageShare)}`];
  });
  return `prompt cache: ${percent(share)} of prompt tokens${stages.length ? ` (${stages.join(', ')})` : ''}`;
}

export function printResult(runId: string, workflowType: string, result: unknown, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`run ${runId}:`);
  for (const line of summarizeResult(workflowType, result)) console.log(`  ${line}`);
  const { usage: u, costs } = (result as { usage?: StageUsage; costs?: StageCost[] } | null) ?? {};
  if (u)
    console.log(
      `  calls: ${u.calls} paid, ${u.cachedCalls} from cache; ` +
        `tokens: ${u.promptTokens} in, ${u.completionTokens} out; cost: ${costText(u)}`,
    );
  const cache = u && promptCacheLine(u, costs);
  if (cache) console.log(`  ${cache}`);
  for (const line of timeBilledLines(costs)) console.log(`  ${line}`);
}

/** `flt result <runId>`: waits for the run's end. */
export async function resultCommand(runId: string, opts: { json?: boolean }): Promise<void> {
  const client = await connect();
  const handle = client.workflow.getHandle(runId);
  const { type } = await handle.describe();
  const result = await handle.result().catch(async (err: unknown) => {
    // The reason follows on stderr; what the run paid for is known only to its search attributes now.
    if (err instanceof WorkflowFailedError)
      console.log(`run ${runId} ${await closedRunSpendLine(client, runId, 'FAILED')}`);
    throw err;
  });
  printResult(runId, type, result, !!opts.json);
}
