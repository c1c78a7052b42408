// The `flt` command line: start, inspect and control runs on Temporal.
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { connect, runIdArgument, UserError } from './cli/connection';
import { budgetDetails, budgetPlan, budgetWarning, estimateLine, registerEstimateCommand } from './cli/estimate';
import { registerInitCommand } from './cli/init';
import { registerListCommand } from './cli/list';
import { registerOperatorCommands } from './cli/operate';
import { registerReportCommand } from './cli/report';
import { registerResumeCommand } from './cli/resume';
import { registerShowCommand } from './cli/show';
import { registerExportCommand } from './cli/export';
import { claimRunId } from './cli/run-id-claim';
import { printResult } from './cli/result';
import { statusLines } from './cli/status';
import { registerSelfguideCommands } from './cli/selfguide';
import { registerSemievolCommands } from './cli/semievol';
import { validateConfigFile } from './cli/validate';
import { printOutcome, registerWatchCommand, watchRun } from './cli/watch';
import { registerWorkerCommands } from './cli/workers';
import { searchAttributes } from './core/search-attributes';
import { markdownList } from './core/ui-text';
import { defaultArtifactStore } from './lib/artifacts';
import { ConfigError, loadRunConfig } from './lib/config-file';
import { DatasetError } from './lib/datasets';
import { methodOf } from './lib/methods';
import { closedRunSpendLine } from './lib/run-spend';
import { taskQueue, uiLink } from './lib/temporal';

function newRunId(method: string, task: string, name?: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return [method, task, name, stamp, randomBytes(2).toString('hex')].filter(Boolean).join('-');
}

const program = new Command('flt')
  .description('SemiEvol and SELF-GUIDE as durable Temporal pipelines')
  .showHelpAfterError();

program
  .command('validate <config>')
  .description('check a run config and its datasets without starting anything')
  .action(async (file: string) => {
    for (const line of await validateConfigFile(file)) console.log(line);
  });

program
  .command('run <config>')
  .description('validate a config and its data, then start a run')
  .option('--id <runId>', 'run id to use (default: generated)', runIdArgument)
  .option('--wait', 'follow the run until it ends (the live view of `flt watch` in a terminal) and print its result')
  .action(async (file: string, opts: { id?: string; wait?: boolean }) => {
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
  });

program
  .command('status <runId>')
  .description('where a run is: its Temporal status, stage and progress')
  .action(async (runId: string) => {
    for (const line of await statusLines(await connect(), runId)) console.log(line);
  });

program
  .command('result <runId>')
  .description("wait for a run's result and print a summary")
  .option('--json', 'print the whole result as JSON')
  .action(async (runId: string, opts: { json?: boolean }) => {
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
  });

program
  .command('cancel <runId>')
  .description('cancel a run; its remote fine-tune jobs are cancelled too')
  .action(async (runId: string) => {
    await (await connect()).workflow.getHandle(runId).cancel();
    console.log(`cancellation requested for ${runId}`);
  });

registerInitCommand(program);
registerEstimateCommand(program);
registerListCommand(program);
registerWatchCommand(program);
registerOperatorCommands(program);
registerReportCommand(program);
registerResumeCommand(program);
registerShowCommand(program);
registerExportCommand(program);
registerSelfguideCommands(program);
registerSemievolCommands(program);
registerWorkerCommands(program);

program.parseAsync(process.argv).then(
  () => process.exit(0),
  (err) => {
    if (err instanceof ConfigError || err instanceof DatasetError || err instanceof UserError) {
      console.error(err.message);
    } else if (err instanceof WorkflowNotFoundError) {
      console.error(`No run with id ${err.workflowId ?? ''} in this namespace; \`flt list\` shows the runs.`);
    } else if (err instanceof WorkflowFailedError) {
      // The root cause says what went wrong; the layers above it only say where (child workflow, activity).
      let cause: Error = err;
      while (cause.cause instanceof Error) cause = cause.cause;
      console.error(`The run failed: ${cause.message}. \`flt resume <runId>\` starts it again, reusing what finished.`);
    } else {
      console.error(`flt: ${err?.message ?? err}`);
    }
    process.exit(2);
  },
);
