// A local trainer judged by a worker that shares its job directory but not its process table: a container in another
// pid namespace on the same kernel, or another host. Its heartbeat, not that worker's /proc, says whether it runs. And
// a trainer that no worker polls any more stops itself.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tagName, type FineTuneBackend } from '../../activities/providers/finetune/backend-common';
import { CommandFineTuneBackend } from '../../activities/providers/finetune/command';
import { terminalFineTuneStatuses, type FineTuneJobState } from '../../core/types';
import { localHost } from '../../lib/host-identity';

let workDir: string;
let trainingPath: string;
let trainingSha: string;
const startedGroups: number[] = [];
const fakeRoots: string[] = [];

/** A process table as another container sees it: its own boot id and pid namespace, and none of our processes. */
function fakeProcRoot(bootId: string, pidNamespace: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-other-proc-'));
  fs.mkdirSync(path.join(root, 'sys/kernel/random'), { recursive: true });
  fs.writeFileSync(path.join(root, 'sys/kernel/random/boot_id'), `${bootId}\n`);
  fs.mkdirSync(path.join(root, 'self/ns'), { recursive: true });
  fs.symlinkSync(pidNamespace, path.join(root, 'self/ns/pid'));
  fs.writeFileSync(path.join(root, 'self/stat'), '1 (node) S 0 1 1 0 -1');
  fakeRoots.push(root);
  return root;
}

type Where = { procRoot?: string; hostname?: string };

function backendAt(where: Where, heartbeatGraceSeconds: number): CommandFineTuneBackend {
  return new CommandFineTuneBackend(
    {
      kind: 'command',
      command: 'echo started; sleep 60',
      provider: 'served',
      servedModel: '{job}',
      pollIntervalSeconds: 1,
      heartbeatGraceSeconds,
    },
    { workDir, env: process.env, killGraceMs: 300, ...where },
  );
}

/** Members of a process group that still run (zombies excluded: this sandbox's PID 1 never reaps orphans). */
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

const pause = () => new Promise((r) => setTimeout(r, 50));

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await pause();
}

async function waitDone(backend: FineTuneBackend, jobId: string): Promise<FineTuneJobState> {
  for (;;) {
    const state = await backend.getJob(jobId);
    if (terminalFineTuneStatuses.includes(state.status)) return state;
    await pause();
  }
}

async function startHere(runId: string): Promise<{ jobId: string; pgid: number; jobDir: string }> {
  const starter = backendAt({}, 1);
  const tag = { runId, stage: 'sft' };
  const fileId = await starter.uploadTrainingFile({ tag, localPath: trainingPath, sha256: trainingSha });
  const { jobId } = await starter.createJob({
    tag,
    trainingFileId: fileId,
    baseModel: 'base/model-7b',
    hyperparameters: {},
  });
  const jobDir = path.join(workDir, jobId);
  const pgid = Number(fs.readFileSync(path.join(jobDir, 'pid'), 'utf8'));
  startedGroups.push(pgid);
  expect(jobId).toBe(tagName(tag));
  return { jobId, pgid, jobDir };
}

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-ft-hosts-'));
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
  for (const root of [workDir, ...fakeRoots]) fs.rmSync(root, { recursive: true, force: true });
});

const thisBootId = () => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const judges: [string, string, () => Where][] = [
  ['another pid namespace', 'pidns', () => ({ procRoot: fakeProcRoot(thisBootId(), 'pid:[4026000001]') })],
  [
    'another host',
    'host',
    () => ({ procRoot: fakeProcRoot('0b0b0b0b-other-boot', 'pid:[4026000001]'), hostname: 'other-host' }),
  ],
];

describe.each(judges)('a trainer judged from %s', (_where, slug, judgeAt) => {
  test('runs while its heartbeat is fresh, and fails naming its host once the heartbeat is silent', async () => {
    const { jobId, pgid, jobDir } = await startHere(`run-${slug}-silent`);
    const where = judgeAt();
    // A grace no heartbeat of a live trainer misses; the other judge's small grace makes a silence quick to see.
    expect((await backendAt(where, 600).getJob(jobId)).status).toBe('running');

    // Killed from outside (OOM killer, its container gone): once no member runs, nothing touches the heartbeat again.
    process.kill(-pgid, 'SIGKILL');
    await until(() => runningMembers(pgid).length === 0);
    const done = await waitDone(backendAt(where, 1), jobId);
    expect(done.status).toBe('failed');
    expect(done.error).toContain(`trainer started on ${localHost()} has been silent for`);
    expect(fs.existsSync(path.join(jobDir, 'heartbeat'))).toBe(true);
  });

  test('a cancel from there stops the trainer through its job directory', async () => {
    const { jobId, pgid, jobDir } = await startHere(`run-${slug}-cancel`);
    const judge = backendAt(judgeAt(), 1);
    await until(async () => (await judge.getJob(jobId)).events.includes('started'));
    expect((await backendAt(judgeAt(), 600).getJob(jobId)).status).toBe('running');

    await judge.cancelJob(jobId);
    // The wrapper, not the judge, signals the group: its TERM, then its KILL after the grace.
    await until(() => runningMembers(pgid).length === 0);
    expect((await judge.getJob(jobId)).status).toBe('cancelled');
    expect(fs.existsSync(path.join(jobDir, 'cancelled'))).toBe(true);
  });
});

test('a trainer no worker polls for the trainer host grace stops itself, and reads as failed saying so', async () => {
  // Its host's worker gone for good (or its run terminated): nobody would ever cancel it.
  const backend = new CommandFineTuneBackend(
    {
      kind: 'command',
      command: 'echo started; sleep 60',
      provider: 'served',
      servedModel: '{job}',
      pollIntervalSeconds: 0.5,
      trainerHostGraceSeconds: 1,
    },
    { workDir, env: process.env, killGraceMs: 300 },
  );
  const tag = { runId: 'run-unpolled', stage: 'sft' };
  const fileId = await backend.uploadTrainingFile({ tag, localPath: trainingPath, sha256: trainingSha });
  const { jobId } = await backend.createJob({ tag, trainingFileId: fileId, baseModel: 'base', hyperparameters: {} });
  const pgid = Number(fs.readFileSync(path.join(workDir, jobId, 'pid'), 'utf8'));
  startedGroups.push(pgid);

  await until(() => runningMembers(pgid).length === 0);
  const state = await backend.getJob(jobId);
  expect(state).toMatchObject({
    status: 'failed',
    error: 'trainer stopped itself: no worker polled this job for 2 s: stopping the trainer',
  });
  expect(state.events).toContain('no worker polled this job for 2 s: stopping the trainer');
});
