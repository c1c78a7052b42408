// How the CLI prints a finished run's result: the method's summary lines and what the run spent, or the whole JSON.
import type { StageUsage } from '../core/types';
import { summarizeResult } from '../lib/methods';

export function printResult(runId: string, workflowType: string, result: unknown, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`run ${runId}:`);
  for (const line of summarizeResult(workflowType, result)) console.log(`  ${line}`);
  const u = (result as { usage?: StageUsage } | null)?.usage;
  if (u)
    console.log(
      `  calls: ${u.calls} paid, ${u.cachedCalls} from cache; ` +
        `tokens: ${u.promptTokens} in, ${u.completionTokens} out; cost: $${u.costUsd.toFixed(4)}`,
    );
}
