// A worker killed while it wrote a trainer's or a checkpoint server's pid file leaves it empty. Read as a number, an
// empty pid is 0, and on a host without /proc (macOS) a process group of 0 is the caller's own: cancelling such a job
// or stopping such a server signalled the worker itself. The cancel runs in a process of its own group here, so a
// wrong signal ends that process, not the test.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnTs } from '../../lib/ts-process';

test('a torn pid file is no process group: cancelling the job and stopping the server signal nothing', async () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-torn-pid-'));
  const procRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-no-proc-'));
  try {
    fs.mkdirSync(path.join(workDir, 'flt-torn'));
    fs.writeFileSync(path.join(workDir, 'flt-torn', 'pid'), '');
    fs.mkdirSync(path.join(workDir, 'checkpoint-servers', 'run-1', 'model-1'), { recursive: true });
    fs.writeFileSync(path.join(workDir, 'checkpoint-servers', 'run-1', 'model-1', 'pid'), '');

    const script = path.resolve(__dirname, '../support/cancel-recorded-job.ts');
    const child = spawnTs(script, [workDir, procRoot, 'flt-torn', 'run-1', 'model-1'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    expect({ ...exit, output }).toEqual({ code: 0, signal: null, output: 'done\n' });
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
    fs.rmSync(procRoot, { recursive: true, force: true });
  }
});
