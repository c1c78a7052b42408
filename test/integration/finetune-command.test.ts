// The local trainer backend against real processes: detached process groups, exit codes, cancellation.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFineTuneBackend } from '../../activities/providers/finetune/backend';
import { tagName, type FineTuneBackend, type JobTag } from '../../activities/providers/finetune/backend-common';
import { CommandFineTuneBackend } from '../../activities/providers/finetune/command';
import type { FineTuneJobState } from '../../core/types';
import { terminalFineTuneStatuses } from '../../core/types';

const providers = {
  served: {
    kind: 'openai-compatible' as const,
    apiKeyEnv: 'UNUSED',
    testDouble: true,
    requestTimeoutSeconds: 5,
    prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
    maxConcurrency: 1,
  },
};
const hyperparameters = { epochs: 2, learningRate: 0.0002, lora: true };

let workDir: string;
let trainingPath: string;
let trainingSha: string;
const startedGroups: number[] = [];

function backendFor(command: string, servedModel = 'lora:{job}@{adapter}'): FineTuneBackend {
  return createFineTuneBackend(
    { kind: 'command', command, provider: 'served', servedModel, pollIntervalSeconds: 1 },
    providers,
    {
      workDir,
      env: { ...process.env, FLT_EXTRA: 'from-worker', FLT_EPOCHS: 'stale' },
    },
  );
}

async function start(backend: FineTuneBackend, tag: JobTag): Promise<FineTuneJobState> {
  const fileId = await backend.uploadTrainingFile({ tag, localPath: trainingPath, sha256: trainingSha });
  const job = await backend.createJob({ tag, trainingFileId: fileId, baseModel: 'base/model-7b', hyperparameters });
  startedGroups.push(pgidOf(job.jobId));
  return job;
}

async function waitDone(backend: FineTuneBackend, jobId: string, timeoutMs = 15_000): Promise<FineTuneJobState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await backend.getJob(jobId);
    if (terminalFineTuneStatuses.includes(state.status)) return state;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${state.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pgidOf = (jobId: string) => Number(fs.readFileSync(path.join(workDir, jobId, 'pid'), 'utf8'));

/** Members of a process group that still run. Zombies don't count: this sandbox's PID 1 never reaps orphans. */
function runningMembers(pgid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((e) => {
      try {
        const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(pgrp) === pgid && state !== 'Z' ? [Number(e)] : [];
      } catch {
        return [];
      }
    });
}

function groupGone(pgid: number): boolean {
  if (process.platform === 'linux') return runningMembers(pgid).length === 0;
  try {
    process.kill(-pgid, 0);
    return false;
  } catch {
    return true;
  }
}

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-ft-command-'));
  trainingPath = path.join(workDir, 'source.jsonl');
  fs.writeFileSync(trainingPath, '{"input":"2+2","output":"4"}\n');
  trainingSha = createHash('sha256').update(fs.readFileSync(trainingPath)).digest('hex');
});

afterAll(() => {
  for (const pgid of startedGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(workDir, { recursive: true, force: true });
});

test('tagName is deterministic, provider-safe and at most 40 characters', () => {
  expect(tagName({ runId: 'run-42', stage: 'sft' })).toBe('flt-run-42-sft');
  // Sanitizing would make these equal, so each gets a hash of its raw run id and stage.
  expect(tagName({ runId: 'Run_42', stage: 'SFT round 1' })).toMatch(/^flt-run-42-sft-round-1-[0-9a-f]{8}$/);
  expect(tagName({ runId: 'Run_42', stage: 'SFT round 1' })).not.toBe(
    tagName({ runId: 'run-42', stage: 'sft-round-1' }),
  );
  const long = { runId: 'semievol-' + 'x'.repeat(60), stage: 'round-1' };
  const name = tagName(long);
  expect(name).toMatch(/^flt-[a-z0-9-]+-[0-9a-f]{8}$/);
  expect(name.length).toBeLessThanOrEqual(40);
  expect(tagName(long)).toBe(name);
  expect(tagName({ ...long, stage: 'round-2' })).not.toBe(name);
});

test('a trainer that succeeds reports its adapter, served model, log and environment', async () => {
  const backend = backendFor(
    'echo training; env | grep "^FLT_" | sort; sleep 0.3; ' +
      'mkdir -p "$FLT_OUTPUT_DIR" && echo ok > "$FLT_OUTPUT_DIR/adapter.bin"; echo saved',
  );
  const tag = { runId: 'run-ok', stage: 'sft' };
  const created = await start(backend, tag);
  const jobId = tagName(tag);
  expect(created.jobId).toBe(jobId);
  expect(['running', 'succeeded']).toContain(created.status);

  const done = await waitDone(backend, jobId);
  const jobDir = path.join(workDir, jobId);
  expect(done.status).toBe('succeeded');
  expect(done.adapterPath).toBe(path.join(jobDir, 'adapter'));
  expect(done.resultModel).toBe(`lora:${jobId}@${path.join(jobDir, 'adapter')}`);
  expect(fs.readFileSync(path.join(jobDir, 'adapter', 'adapter.bin'), 'utf8')).toBe('ok\n');
  expect(done.error).toBeNull();

  const log = fs.readFileSync(path.join(jobDir, 'train.log'), 'utf8');
  expect(log).toContain('training');
  expect(log).toContain(`FLT_TRAIN_FILE=${path.join(jobDir, 'train.jsonl')}`);
  expect(log).toContain(`FLT_OUTPUT_DIR=${path.join(jobDir, 'adapter')}`);
  expect(log).toContain('FLT_BASE_MODEL=base/model-7b');
  expect(log).toContain('FLT_EPOCHS=2');
  expect(log).toContain('FLT_LEARNING_RATE=0.0002');
  expect(log).toContain('FLT_LORA=1');
  expect(log).toContain(`FLT_JOB_NAME=${jobId}`);
  expect(log).toContain('FLT_EXTRA=from-worker');
  expect(done.events.at(-1)).toBe('saved');
  expect(done.events.length).toBeLessThanOrEqual(10);
});

test('a trainer that fails reports failed with the tail of its log', async () => {
  const backend = backendFor('echo loading; echo "CUDA out of memory" >&2; exit 3');
  const tag = { runId: 'run-fail', stage: 'sft' };
  const { jobId } = await start(backend, tag);
  const done = await waitDone(backend, jobId);
  expect(done.status).toBe('failed');
  expect(done.error).toContain('code 3');
  expect(done.error).toContain('CUDA out of memory');
  expect(done.resultModel).toBeNull();
  expect(done.events).toEqual(['loading', 'CUDA out of memory']);
});

test('findJob returns the job createJob started, and null before that', async () => {
  const backend = backendFor('sleep 0.2');
  const tag = { runId: 'run-find', stage: 'sft' };
  expect(await backend.findJob(tag)).toBeNull();
  const created = await start(backend, tag);
  const found = await backend.findJob(tag);
  expect(found?.jobId).toBe(created.jobId);
  // A retried createJob re-attaches instead of starting a second trainer.
  const again = await backend.createJob({ tag, trainingFileId: 'x', baseModel: 'b', hyperparameters });
  expect(again.jobId).toBe(created.jobId);
  expect(pgidOf(created.jobId)).toBe(startedGroups.at(-1));
  expect((await waitDone(backend, created.jobId)).status).toBe('succeeded');
});

test('upload copies the training file into the job directory once', async () => {
  const backend = backendFor('true');
  const tag = { runId: 'run-upload', stage: 'sft' };
  const first = await backend.uploadTrainingFile({ tag, localPath: trainingPath, sha256: trainingSha });
  expect(first).toBe(path.join(workDir, tagName(tag), 'train.jsonl'));
  expect(fs.readFileSync(first, 'utf8')).toBe(fs.readFileSync(trainingPath, 'utf8'));
  const mtime = fs.statSync(first).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  expect(await backend.uploadTrainingFile({ tag, localPath: trainingPath, sha256: trainingSha })).toBe(first);
  expect(fs.statSync(first).mtimeMs).toBe(mtime);
});

test('cancel kills the whole process group, grandchildren included', async () => {
  // The trainer forks a grandchild and records its pid, as torchrun or data loaders would.
  const backend = backendFor('sh -c "sleep 30" & echo $! > grandchild.pid; echo started; sleep 30');
  const tag = { runId: 'run-cancel', stage: 'sft' };
  const { jobId } = await start(backend, tag);
  const jobDir = path.join(workDir, jobId);
  const pgid = pgidOf(jobId);
  while (!fs.existsSync(path.join(jobDir, 'grandchild.pid'))) await new Promise((r) => setTimeout(r, 20));
  const grandchild = Number(fs.readFileSync(path.join(jobDir, 'grandchild.pid'), 'utf8'));
  expect(runningMembers(pgid)).toEqual(expect.arrayContaining([pgid, grandchild]));
  expect((await backend.getJob(jobId)).status).toBe('running');

  await backend.cancelJob(jobId);
  expect(groupGone(pgid)).toBe(true);
  expect(runningMembers(pgid)).not.toContain(grandchild);
  const state = await backend.getJob(jobId);
  expect(state.status).toBe('cancelled');
  expect(fs.existsSync(path.join(jobDir, 'exitcode'))).toBe(false);
});

test('cancel escalates to SIGKILL for a trainer that ignores SIGTERM', async () => {
  const backend = new CommandFineTuneBackend(
    {
      kind: 'command',
      command: "trap '' TERM; echo stubborn; sleep 30",
      provider: 'served',
      servedModel: '{job}',
      pollIntervalSeconds: 1,
    },
    { workDir, env: process.env, killGraceMs: 300 },
  );
  const tag = { runId: 'run-stubborn', stage: 'sft' };
  const { jobId } = await start(backend, tag);
  const pgid = pgidOf(jobId);
  while (!(await backend.getJob(jobId)).events.includes('stubborn')) await new Promise((r) => setTimeout(r, 20));
  await backend.cancelJob(jobId);
  expect(groupGone(pgid)).toBe(true);
  expect((await backend.getJob(jobId)).status).toBe('cancelled');
});

test('a trainer that died without an exit code is reported as vanished', async () => {
  const backend = backendFor('sleep 30');
  const tag = { runId: 'run-vanish', stage: 'sft' };
  const { jobId } = await start(backend, tag);
  // Killed from outside (OOM killer, host restart): no exit code, no cancelled marker.
  process.kill(-pgidOf(jobId), 'SIGKILL');
  const done = await waitDone(backend, jobId);
  expect(done.status).toBe('failed');
  expect(done.error).toBe('trainer process vanished (worker host restarted?)');
});

test('cancel of a finished job leaves it succeeded', async () => {
  const backend = backendFor('true');
  const tag = { runId: 'run-late-cancel', stage: 'sft' };
  const { jobId } = await start(backend, tag);
  expect((await waitDone(backend, jobId)).status).toBe('succeeded');
  await backend.cancelJob(jobId);
  expect((await backend.getJob(jobId)).status).toBe('succeeded');
});

test("cancel never signals a process group that reused a dead trainer's pid", async () => {
  const backend = backendFor('sleep 30');
  const tag = { runId: 'run-reused-pid', stage: 'sft' };
  const { jobId } = await start(backend, tag);
  process.kill(-pgidOf(jobId), 'SIGKILL');
  expect((await waitDone(backend, jobId)).status).toBe('failed');
  // Another program now leads a process group under the number the job recorded (pids wrap at pid_max; here the
  // recorded pid is pointed at the stranger's group, which is what reuse looks like to the backend).
  const stranger = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  startedGroups.push(stranger.pid!);
  fs.writeFileSync(path.join(workDir, jobId, 'pid'), String(stranger.pid));
  expect((await backend.getJob(jobId)).status).toBe('failed');
  await backend.cancelJob(jobId);
  expect(runningMembers(stranger.pid!)).toEqual([stranger.pid]);
});

test('two concurrent creates for one tag start one trainer', async () => {
  const command = 'echo started >> starts.log; sleep 0.2';
  // Two backends, as two activities (or two workers of this host) would each build.
  const [first, second] = [backendFor(command), backendFor(command)];
  const tag = { runId: 'run-concurrent', stage: 'sft' };
  const trainingFileId = await first.uploadTrainingFile({ tag, localPath: trainingPath, sha256: trainingSha });
  const args = { tag, trainingFileId, baseModel: 'base/model-7b', hyperparameters };
  const [a, b] = await Promise.all([first.createJob(args), second.createJob(args)]);
  startedGroups.push(pgidOf(a.jobId));
  expect(b.jobId).toBe(a.jobId);
  expect((await waitDone(first, a.jobId)).status).toBe('succeeded');
  expect(fs.readFileSync(path.join(workDir, a.jobId, 'starts.log'), 'utf8')).toBe('started\n');
});

test('the process scan reads a large process table without blocking the event loop', async () => {
  // A process table of 1,000 strangers and the trainer, pid 4242, leading its group and carrying its job name.
  const procRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-fake-proc-'));
  const jobId = 'flt-fake-proc-job';
  const processEntry = (pid: number, pgrp: number, environ: string) => {
    fs.mkdirSync(path.join(procRoot, String(pid)));
    fs.writeFileSync(path.join(procRoot, String(pid), 'stat'), `${pid} (python) S 1 ${pgrp} ${pgrp} 0 -1`);
    fs.writeFileSync(path.join(procRoot, String(pid), 'environ'), `PATH=/usr/bin\0${environ}\0`);
  };
  for (let pid = 100; pid < 1100; pid++) processEntry(pid, pid, 'FLT_JOB_NAME=another-job');
  processEntry(4242, 4242, `FLT_JOB_NAME=${jobId}`);
  fs.mkdirSync(path.join(procRoot, 'self'));
  fs.writeFileSync(path.join(procRoot, 'self', 'stat'), '1 (node) S 0 1 1 0 -1');
  fs.mkdirSync(path.join(procRoot, 'sys/kernel/random'), { recursive: true });
  fs.writeFileSync(path.join(procRoot, 'sys/kernel/random/boot_id'), 'fake-boot\n');
  fs.mkdirSync(path.join(workDir, jobId));
  fs.writeFileSync(path.join(workDir, jobId, 'pid'), '4242');
  fs.writeFileSync(path.join(workDir, jobId, 'boot-id'), 'fake-boot');
  const options = { workDir, env: process.env, procRoot };
  const backend = new CommandFineTuneBackend(
    { kind: 'command', command: 'true', provider: 'served', servedModel: '{job}', pollIntervalSeconds: 1 },
    options,
  );

  // Counts the event loop's turns while the scan is awaited: a scan that blocks lets none happen.
  let turns = 0;
  let counting = true;
  const count = () => {
    if (!counting) return;
    turns++;
    setImmediate(count);
  };
  setImmediate(count);
  const state = await backend.getJob(jobId);
  counting = false;
  expect(state.status).toBe('running');
  expect(turns).toBeGreaterThan(0);
  fs.rmSync(procRoot, { recursive: true, force: true });
});
