// Cancels a job and stops a checkpoint server whose records are in a given job directory, as a worker on a host
// without /proc would (macOS): run in its own process group by a test, so a signal the code sends to the wrong group
// (its own) ends this process and not the test. Prints "done" when both returned.
import { stopCheckpointServer } from '../../activities/checkpoint-servers';
import { CommandFineTuneBackend } from '../../activities/providers/finetune/command';

async function main(): Promise<void> {
  const [workDir, procRoot, jobId, runId, name] = process.argv.slice(2) as [string, string, string, string, string];
  const backend = new CommandFineTuneBackend(
    { kind: 'command', command: 'true', provider: 'served', servedModel: '{job}', pollIntervalSeconds: 1 },
    { workDir, env: {}, procRoot, killGraceMs: 200 },
  );
  await backend.cancelJob(jobId);
  await stopCheckpointServer(workDir, { runId, name, stopGraceSeconds: 0.2 }, procRoot);
  process.stdout.write('done\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
