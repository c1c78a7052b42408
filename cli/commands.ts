// Every `flt` command: its arguments, options and help. Each command's implementation is required only when the
// command runs, so `flt --help` loads commander and this file, and each command only the libraries it uses (the
// Temporal client, zod, yaml and the S3 client together take most of a second to load; bench 9 measures start-up).
import { Command, Option } from 'commander';
import { exportFormats, exportKinds } from '../lib/export-dataset';
import {
  count,
  defaultPageSize,
  executionStatus,
  oneOf,
  onOff,
  percentile,
  positive,
  runIdArgument,
  seconds,
} from './arguments';
import { starterMethods, starterProviders, type StarterProvider } from './starter-config';

/** A command's implementation module, by its path relative to this file. */
function load<T>(module: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(module) as T;
}

const validate = () => load<typeof import('./validate')>('./validate');
const run = () => load<typeof import('./run')>('./run');
const status = () => load<typeof import('./status')>('./status');
const result = () => load<typeof import('./result')>('./result');
const operate = () => load<typeof import('./operate')>('./operate');
const init = () => load<typeof import('./init')>('./init');
const estimate = () => load<typeof import('./estimate')>('./estimate');
const list = () => load<typeof import('./list')>('./list');
const watch = () => load<typeof import('./watch')>('./watch');
const report = () => load<typeof import('./report')>('./report');
const resume = () => load<typeof import('./resume')>('./resume');
const show = () => load<typeof import('./show')>('./show');
const review = () => load<typeof import('./review')>('./review');
const exportData = () => load<typeof import('./export')>('./export');
const selfguide = () => load<typeof import('./selfguide')>('./selfguide');
const semievol = () => load<typeof import('./semievol')>('./semievol');
const workers = () => load<typeof import('./workers')>('./workers');

function runCommands(program: Command): void {
  program
    .command('validate <config>')
    .description('check a run config and its datasets without starting anything')
    .action((file: string) => validate().validateCommand(file));

  program
    .command('run <config>')
    .description('validate a config and its data, then start a run')
    .option('--id <runId>', 'run id to use (default: generated)', runIdArgument)
    .option('--wait', 'follow the run until it ends (the live view of `flt watch` in a terminal) and print its result')
    .action((file: string, opts: { id?: string; wait?: boolean }) => run().runCommand(file, opts));

  program
    .command('status <runId>')
    .description('where a run is: its Temporal status, stage and progress')
    .action((runId: string) => status().statusCommand(runId));

  program
    .command('result <runId>')
    .description("wait for a run's result and print a summary")
    .option('--json', 'print the whole result as JSON')
    .action((runId: string, opts: { json?: boolean }) => result().resultCommand(runId, opts));

  program
    .command('cancel <runId>')
    .description('cancel a run; its remote fine-tune jobs are cancelled too')
    .action((runId: string) => operate().cancelCommand(runId));

  program
    .command('init')
    .description('write a commented starter config on the bundled demo data')
    .argument('<method>', starterMethods.join(' or '), oneOf(starterMethods))
    .option(
      '--provider <kind>',
      `where the model runs: ${starterProviders.join(', ')}`,
      oneOf(starterProviders),
      'test-double' as StarterProvider,
    )
    .option('--out <file>', 'the file to write, never overwritten (default: <method>-<provider>.yaml)')
    .option('--model-path <file>', 'llama-cpp: the GGUF model (default: $FLT_MODEL_PATH, else models/model.gguf)')
    .action((method, opts) => init().initCommand(method, opts));

  program
    .command('estimate <config>')
    .description("expected calls, tokens and cost per stage, from the config's data and prices; starts nothing")
    .action((file: string) => estimate().estimateCommand(file));
}

function inspectCommands(program: Command): void {
  program
    .command('list')
    .description("list this project's runs, newest first")
    .option('--method <method>', 'only this method')
    .option('--task <task>', 'only this task')
    .option('--stage <stage>', 'only runs at this stage')
    .option(
      '--status <status>',
      'only this Temporal status, in any letter case (running, completed, failed, ...)',
      executionStatus,
    )
    .option('--limit <n>', 'at most this many', (v) => Number(v), 20)
    .action((opts) => list().listCommand(opts));

  program
    .command('watch <runId>')
    .description(
      'a live view of a run: stages with progress bars, rate and time left, fine-tune jobs, spend and budget',
    )
    .option('--interval <seconds>', 'seconds between redraws', seconds, 2)
    .option('--once', 'draw one frame and exit')
    .action((runId: string, opts: { interval: number; once?: boolean }) => watch().watchCommand(runId, opts));
}

function operatorCommands(program: Command): void {
  program
    .command('pause <runId>')
    .description('start no new paid step (shard, round, stage) until unpaused; steps in flight finish')
    .action((runId: string) => operate().pauseCommand(runId));

  program
    .command('unpause <runId>')
    .description('let a paused run go on')
    .action((runId: string) => operate().unpauseCommand(runId));

  program
    .command('approve <runId>')
    .description('let the stage waiting for approval (over budget, or a fine-tune that needs approval) start')
    .option('--stage <stage>', 'approve this stage in advance, before it asks')
    .action((runId: string, opts: { stage?: string }) => operate().approveCommand(runId, opts));

  program
    .command('review <runId>')
    .description('accept or reject, item by item, what a run waiting for review would fine-tune on')
    .addOption(
      new Option('--export <file>', 'write the items under review to a new file, one JSON object a line').conflicts(
        'apply',
      ),
    )
    .option('--apply <file>', 'send the decisions in an exported file ("decision": "accept" or "reject")')
    .action((runId: string, opts: { export?: string; apply?: string }) => review().reviewCommand(runId, opts));

  program
    .command('budget <runId>')
    .description("change a running run's budget; a stage waiting only for budget goes on once it fits")
    .option('--usd <dollars>', 'the new budget in dollars', positive)
    .option('--tokens <tokens>', 'the new budget in tokens (prompt, completion and training)', positive)
    .action((runId: string, opts: { usd?: number; tokens?: number }) => operate().budgetCommand(runId, opts));
}

function dataCommands(program: Command): void {
  program
    .command('report <runId>')
    .description("a completed run's report: <runId>.html (charts) and <runId>.md (summary tables)")
    .option('--out <dir>', 'where to write the two files (default: $FLT_HOME/reports)')
    .action((runId: string, opts: { out?: string }) => report().reportCommand(runId, opts));

  program
    .command('resume <runId>')
    .description(
      'start a new run from an earlier one, reusing everything it finished; --set changes a setting of its input',
    )
    .option(
      '--set <key=value>',
      'change a setting, by its key in the config file (repeatable), e.g. semievol.selection.theta=60',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--from <stage>', 'run this stage and every later one again, paying anew (stages before it are reused)')
    .option('--id <runId>', 'id of the new run (default: the old id with a -resumed suffix)', runIdArgument)
    .action((runId: string, opts: { set: string[]; from?: string; id?: string }) =>
      resume().resumeCommand(runId, opts),
    );

  program
    .command('show <runId> [stage]')
    .description(
      "a run's items, paged: SemiEvol's questions through collaborate, justify and select; " +
        "SELF-GUIDE's generated inputs through generate-inputs, filter-inputs and annotate-outputs",
    )
    .option('--selected', "only the items SemiEvol selected, or SELF-GUIDE's filters kept")
    .option('--rejected', "only the items SemiEvol did not select, or SELF-GUIDE's filters removed")
    .option('--reason <reason>', 'only the items left out for this recorded reason (noise, duplicate, no-answer, ...)')
    .option('--grep <regex>', 'only the items whose text or answers match (any letter case)')
    .option('--limit <n>', `items per page (default ${defaultPageSize})`, count(1))
    .option('--offset <n>', 'matching items to skip', count(0))
    .option('--json', 'the matching items as JSON lines (every one, unless --limit or --offset is given)')
    .action((runId: string, stage: string | undefined, opts) => show().showCommand(runId, stage, opts));

  const whats = [...new Set(Object.values(exportKinds).flatMap((kinds) => Object.keys(kinds)))];
  program
    .command('export <runId>')
    .description(
      "a run's data as a dataset Hugging Face `datasets` loads, with a dataset card: SemiEvol's selected " +
        "questions or pseudo-labels, SELF-GUIDE's synthetic pairs or filtered inputs, or either's training set",
    )
    .addOption(new Option('--what <what>', 'which data').choices(whats).makeOptionMandatory())
    .addOption(new Option('--format <format>', 'the data file').choices(exportFormats).default('jsonl'))
    .option('--out <dir>', 'a new or empty folder (default: <runId>-<what>)')
    .action((runId: string, opts) => exportData().exportCommand(runId, opts));
}

/** Commands of one method: tools that work on recorded data and call no model. */
function methodCommands(program: Command): void {
  program
    .command('selfguide')
    .description('SELF-GUIDE tools')
    .command('filter')
    .description('apply the input filters (empty, noise, length, duplicate) to recorded inputs, in generation order')
    .requiredOption('--task <dir>', 'task folder (only its task.json is read: the gold examples and noise terms)')
    .requiredOption('--inputs <file>', 'JSONL, one {"input", "round"?} per line, in generation order')
    .requiredOption('--length-filter <on|off>', 'apply the length rule (mean ± 2 std of the gold inputs)', onOff)
    .requiredOption('--output <file>', 'JSONL written with one {"input", "kept", "reason"} per input')
    .option(
      '--filters <ours|authors>',
      "whose rules apply, as generation.filters (the authors' by round)",
      oneOf(['ours', 'authors']),
    )
    .action((opts) => selfguide().filterCommand(opts));

  program
    .command('semievol')
    .description("SemiEvol's own commands")
    .command('select')
    .description(
      'recompute consistency, pseudo-labels, entropies and the selection from recorded outputs, calling no model',
    )
    .option('--input <file>', 'recorded outputs: one {id, question, options, collaborators, reflection} per line')
    .option('--run <runId>', 'a finished SemiEvol run: its recorded outputs, from the artifact store')
    .option('--theta <theta>', "keep entropies up to this percentile (0-100); with --run, the run's own", percentile)
    .requiredOption(
      '--output <file>',
      'where to write the selected questions, one {id, pseudo_label, entropy, consistent} per line',
    )
    .option(
      '--among <which>',
      '"all" pseudo-labels are thresholded (paper, the default for --input), or only the "self-justified" ones ' +
        "(authors' code); with --run, the run's own",
      oneOf(['all', 'self-justified']),
    )
    .option('--strict', "keep entropies strictly below the threshold (authors' code)")
    .option('--no-strict', "keep entropies at or below the threshold (paper); with --run, the run's own is the default")
    .option(
      '--entropy-over <span>',
      'entropy over the deciding "response" (the default for --input) or its last "answer-span" line; with --run, ' +
        "the run's own",
      oneOf(['response', 'answer-span']),
    )
    .option(
      '--answers <reading>',
      'read and compare answers as "ours" (the default for --input) or as the "authors" code does; with --run, the ' +
        "run's own",
      oneOf(['ours', 'authors']),
    )
    .action((opts) => semievol().selectCommand(opts));
}

function workerCommands(program: Command): void {
  program
    .command('workers')
    .description("the worker deployment's versions: status, drainage, pollers and open runs of each")
    .option('--deployment <name>', 'the worker deployment (default: $FLT_WORKER_DEPLOYMENT)')
    .action((opts: { deployment?: string }) => workers().workersCommand(opts));

  program
    .command('rollout <buildId>')
    .description('send new runs to this version of the worker deployment (pinned runs stay where they are)')
    .option('--deployment <name>', 'the worker deployment (default: $FLT_WORKER_DEPLOYMENT)')
    .action((buildId: string, opts: { deployment?: string }) => workers().rolloutCommand(buildId, opts));
}

/** The `flt` program with every command, in the order `flt --help` lists them. */
export function fltProgram(): Command {
  const program = new Command('flt')
    .description('SemiEvol and SELF-GUIDE as durable Temporal pipelines')
    .showHelpAfterError();
  runCommands(program);
  inspectCommands(program);
  operatorCommands(program);
  dataCommands(program);
  methodCommands(program);
  workerCommands(program);
  return program;
}
