// The `flt` command line: start, inspect and control runs on Temporal (the commands are in cli/commands.ts).
import { fltProgram } from './cli/commands';

/** One sentence for the errors a user can act on; a stack for anything else would only hide the reason. */
function report(err: unknown): void {
  // Required here, as the commands load them: only a command that reached a config or the server can throw these.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { WorkflowFailedError, WorkflowNotFoundError } =
    require('@temporalio/client') as typeof import('@temporalio/client');
  const { ConfigError } = require('./lib/config-file') as typeof import('./lib/config-file');
  const { DatasetError } = require('./lib/datasets') as typeof import('./lib/datasets');
  const { UserError } = require('./cli/connection') as typeof import('./cli/connection');
  /* eslint-enable @typescript-eslint/no-require-imports */
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
    console.error(`flt: ${(err as Error)?.message ?? err}`);
  }
}

fltProgram()
  .parseAsync(process.argv)
  .then(
    () => process.exit(0),
    (err) => {
      report(err);
      process.exit(2);
    },
  );
