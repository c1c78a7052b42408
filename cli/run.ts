// `flt run <config>`: a config and its data checked, its inputs stored, and its run started on Temporal.
import { randomBytes } from 'node:crypto';
import { searchAttributes } from '../core/search-attributes';
import { markdownList } from '../core/ui-text';
import { defaultArtifactStore } from '../lib/artifacts';
import { loadRunConfig } from '../lib/config-file';
import { methodOf } from '../lib/methods';
import { taskQueue, uiLink } from '../lib/temporal';
import { connect } from './connection';
import { budgetDetails, budgetPlan, budgetWarning, estimateLine } from './estimate';
import { printResult } from './result';
import { claimRunId } from './run-id-claim';
import { printOutcome, watchRun } from './watch';

function newRunId(method: string, task: string, name?: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return [method, task, name, stamp, randomBytes(2).toString('hex')].filter(Boolean).join('-');
}

/** `flt run <config>`. */
export async function runCommand(file: string, opts: { id?: string; wait?: boolean }): Promise<void> {
  const config = loadRunConfig(file);
  const method = methodOf(config);
  const data = method.load(config);
  const store = defaultArtifactStore();
  const prepared = await method.prepare(config, store, data);
  for (const note of prepared.notes) console.log(note);
  const estimate = method.estimate(config, data);
  const warning = budgetWarning(config.budget, estimate);
  if (warning) console.error(warning);
  const client = await connect();
  const runId = opts.id ?? newRunId(config.method, config.task, config.name);
  const input = { runId, ...prepared.input, budget: budgetPlan(config.budget, estimate) };
  await claimRunId(store, runId, input);
  const handle = await client.workflow.start(method.workflowType, {
    taskQueue: taskQueue(),
    workflowId: runId,
    args: [input],
    typedSearchAttributes: [
      { key: searchAttributes.method, value: config.method },
      { key: searchAttributes.task, value: config.task },
      { key: searchAttributes.baseModel, value: prepared.baseModel },
      { key: searchAttributes.stage, value: 'queued' },
    ],
    staticSummary: `${config.method} on ${config.task}`,
    staticDetails: markdownList([
      `method: ${config.method}`,
      `task: ${config.task}`,
      ...prepared.details,
      ...budgetDetails(config.budget, estimate),
    ]),
  });
  console.log(`run id: ${runId}`);
  console.log(`web UI: ${uiLink(runId)}`);
  console.log(estimateLine(estimate, file));
  if (!opts.wait) return;
  if (process.stdout.isTTY) await printOutcome(client, runId, await watchRun(client, runId, { intervalMs: 2000 }));
  else printResult(runId, method.workflowType, await handle.result(), false);
}
