// The `flt` command line: start, inspect and control runs on Temporal.
import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { registerSelfguideCommands } from './cli/selfguide';
import { registerSemievolCommands } from './cli/semievol';
import { searchAttributes } from './core/search-attributes';
import { defaultArtifactStore } from './lib/artifacts';
import { dataConverter } from './lib/payload-codec';
import { ConfigError, loadRunConfig } from './lib/config-file';
import { DatasetError } from './lib/datasets';
import { methodOf, summarizeResult } from './lib/methods';
import { taskQueue, temporalConnectConfig, uiLink } from './lib/temporal';
import { progressQuery } from './workflows/shared';

async function connect(): Promise<Client> {
  const { connectionOptions, namespace } = temporalConnectConfig();
  try {
    const connection = await Connection.connect({ ...connectionOptions, connectTimeout: '5 seconds' });
    return new Client({ connection, namespace, dataConverter: dataConverter() });
  } catch (err: any) {
    throw new UserError(`Cannot reach Temporal at ${connectionOptions.address} (${err?.message ?? err}); start a local server with \`npm run server\` or set TEMPORAL_ADDRESS.`);
  }
}

class UserError extends Error {}

function newRunId(method: string, task: string, name?: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return [method, task, name, stamp, randomBytes(2).toString('hex')].filter(Boolean).join('-');
}

function printResult(runId: string, workflowType: string, result: any, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`run ${runId}:`);
  for (const line of summarizeResult(workflowType, result)) console.log(`  ${line}`);
  const u = result?.usage;
  if (u) console.log(`  calls: ${u.calls} paid, ${u.cachedCalls} from cache; tokens: ${u.promptTokens} in, ${u.completionTokens} out; cost: $${u.costUsd.toFixed(4)}`);
}

const program = new Command('flt').description('SemiEvol and SELF-GUIDE as durable Temporal pipelines').showHelpAfterError();

program
  .command('validate <config>')
  .description('check a run config and its datasets without starting anything')
  .action(async (file: string) => {
    const config = loadRunConfig(file);
    const prepared = await methodOf(config).prepare(config, defaultArtifactStore());
    console.log(`${file}: valid ${config.method} config for task "${config.task}"`);
    for (const note of prepared.notes) console.log(`  ${note}`);
  });

program
  .command('run <config>')
  .description('validate a config and its data, then start a run')
  .option('--id <runId>', 'run id to use (default: generated)')
  .option('--wait', 'follow the run until it ends and print its result')
  .action(async (file: string, opts: { id?: string; wait?: boolean }) => {
    const config = loadRunConfig(file);
    const method = methodOf(config);
    const prepared = await method.prepare(config, defaultArtifactStore());
    for (const note of prepared.notes) console.log(note);
    const client = await connect();
    const runId = opts.id ?? newRunId(config.method, config.task, config.name);
    const handle = await client.workflow.start(method.workflowType, {
      taskQueue: taskQueue(),
      workflowId: runId,
      args: [{ runId, ...prepared.input }],
      typedSearchAttributes: [
        { key: searchAttributes.method, value: config.method },
        { key: searchAttributes.task, value: config.task },
        { key: searchAttributes.baseModel, value: prepared.baseModel },
        { key: searchAttributes.stage, value: 'queued' },
      ],
      staticSummary: `${config.method} on ${config.task}`,
      staticDetails: [`method: ${config.method}`, `task: ${config.task}`, ...prepared.details].join('\n'),
    });
    console.log(`run id: ${runId}`);
    console.log(`web UI: ${uiLink(runId)}`);
    if (opts.wait) printResult(runId, method.workflowType, await handle.result(), false);
  });

program
  .command('status <runId>')
  .description('where a run is: its Temporal status, stage and progress')
  .action(async (runId: string) => {
    const handle = (await connect()).workflow.getHandle(runId);
    const description = await handle.describe();
    console.log(`run ${runId}: ${description.status.name}`);
    if (description.status.name === 'RUNNING') {
      const progress = await handle.query(progressQuery);
      console.log(`stage: ${progress.stage}`);
      for (const s of progress.stages) console.log(`  ${s.stage}: ${s.done}/${s.total}`);
      console.log(`calls: ${progress.usage.calls} paid, ${progress.usage.cachedCalls} cached; tokens: ${progress.usage.promptTokens + progress.usage.completionTokens}; cost: $${progress.usage.costUsd.toFixed(4)}`);
    }
    console.log(`web UI: ${uiLink(runId)}`);
  });

program
  .command('result <runId>')
  .description("wait for a run's result and print a summary")
  .option('--json', 'print the whole result as JSON')
  .action(async (runId: string, opts: { json?: boolean }) => {
    const handle = (await connect()).workflow.getHandle(runId);
    const { type } = await handle.describe();
    printResult(runId, type, await handle.result(), !!opts.json);
  });

program
  .command('cancel <runId>')
  .description('cancel a run; its remote fine-tune jobs are cancelled too')
  .action(async (runId: string) => {
    await (await connect()).workflow.getHandle(runId).cancel();
    console.log(`cancellation requested for ${runId}`);
  });

program
  .command('list')
  .description("list this project's runs, newest first")
  .option('--method <method>', 'only this method')
  .option('--task <task>', 'only this task')
  .option('--stage <stage>', 'only runs at this stage')
  .option('--status <status>', 'only this Temporal status (Running, Completed, Failed, ...)')
  .option('--limit <n>', 'at most this many', (v) => Number(v), 20)
  .action(async (opts: { method?: string; task?: string; stage?: string; status?: string; limit: number }) => {
    const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;
    const clauses = [`${searchAttributes.method.name} IS NOT NULL`];
    if (opts.method) clauses.push(`${searchAttributes.method.name} = ${quote(opts.method)}`);
    if (opts.task) clauses.push(`${searchAttributes.task.name} = ${quote(opts.task)}`);
    if (opts.stage) clauses.push(`${searchAttributes.stage.name} = ${quote(opts.stage)}`);
    if (opts.status) clauses.push(`ExecutionStatus = ${quote(opts.status)}`);
    let shown = 0;
    for await (const run of (await connect()).workflow.list({ query: clauses.join(' AND ') })) {
      const attrs = run.typedSearchAttributes;
      const accuracy = attrs.get(searchAttributes.accuracy);
      console.log([run.workflowId, run.status.name, attrs.get(searchAttributes.method), attrs.get(searchAttributes.task), attrs.get(searchAttributes.stage), accuracy === undefined ? '' : `accuracy ${accuracy.toFixed(3)}`, run.startTime.toISOString()].join('\t'));
      if (++shown >= opts.limit) break;
    }
    if (!shown) console.log('no runs match');
  });

registerSelfguideCommands(program);
registerSemievolCommands(program);

program.parseAsync(process.argv).then(
  () => process.exit(0),
  (err) => {
    if (err instanceof ConfigError || err instanceof DatasetError || err instanceof UserError) {
      console.error(err.message);
    } else if (err instanceof WorkflowNotFoundError) {
      console.error(`No run with id ${err.workflowId ?? ''} in this namespace; \`flt list\` shows the runs.`);
    } else if (err instanceof WorkflowFailedError) {
      console.error(`The run failed: ${err.cause?.message ?? err.message}`);
    } else {
      console.error(`flt: ${err?.message ?? err}`);
    }
    process.exit(2);
  },
);
