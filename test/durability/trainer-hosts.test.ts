// Trainers on their own hosts: an inference worker and trainer workers, each a process of its own with its own
// FLT_HOME (so its own job directory) and one shared artifact store, as on separate machines. A `command` fine-tune
// is started on a trainer worker, polled on that host's own task queue, and replaced by a new job on another trainer
// when its host is gone for longer than the grace.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fineTuneJobOwnerId } from '../../activities/fine-tune-job-owner';
import { contentTag } from '../../activities/fine-tuning';
import { tagName } from '../../activities/providers/finetune/backend-common';
import type { FineTuneBackendConfig } from '../../core/config';
import { LocalArtifactStore } from '../../lib/artifacts';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import type { FineTuneInput } from '../../workflows/fine-tune';
import { describeStuckRun, tailOf } from '../support/stuck-run';
import { temporalAddress } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const baseGguf = path.resolve(root, '../shared/models/llama-2-tiny-random.gguf');
const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
const trainerCommand = [process.execPath, ...tsArgs(path.resolve(root, 'test/support/fake-lora-trainer.ts'))]
  .map(shellQuote)
  .join(' ');
const { PendingActivityState } = temporal.api.enums.v1;
type CommandBackend = Extract<FineTuneBackendConfig, { kind: 'command' }>;
type CommandInput = FineTuneInput & { backend: CommandBackend };

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

/** Waits for a state, never for a time; the bound only turns a hang into a failure that says what never came. */
async function until(what: string, condition: () => boolean | Promise<boolean>, diagnose: () => Promise<string>) {
  const giveUp = Date.now() + 150_000;
  while (!(await condition())) {
    if (Date.now() > giveUp) throw new Error(`never saw ${what}\n${await diagnose()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface ActivityRun {
  type: string;
  taskQueue: string;
  /** The worker that started its last attempt, when it completed. */
  identity?: string;
}

/** Every activity a workflow scheduled, in order, with its task queue and the worker that ran it. */
async function activityRuns(handle: WorkflowHandle): Promise<ActivityRun[]> {
  const runs = new Map<string, ActivityRun>();
  for (const event of (await handle.fetchHistory()).events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled)
      runs.set(String(event.eventId), { type: scheduled.activityType!.name!, taskQueue: scheduled.taskQueue!.name! });
    const started = event.activityTaskStartedEventAttributes;
    if (started) runs.get(String(started.scheduledEventId))!.identity = started.identity ?? undefined;
  }
  return [...runs.values()];
}

describe('trainers on their own hosts', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-trainer-hosts-'));
  const store = new LocalArtifactStore(path.join(base, 'shared-artifacts'));
  const taskQueue = `trainer-hosts-${process.pid}`;
  const workers: ChildProcess[] = [];
  const trainerGroups: number[] = [];
  let bundle: string;
  let connection: Connection;
  let client: Client;

  const homeOf = (name: string) => path.join(base, name);
  const logOf = (name: string) => path.join(base, `${name}.log`);
  const startWorker = (role: string, name: string, env: NodeJS.ProcessEnv = {}): ChildProcess => {
    const log = fs.openSync(logOf(name), 'a');
    const worker = spawnTs(path.join(root, 'worker.ts'), ['--role', role], {
      cwd: root,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        FLT_TASK_QUEUE: taskQueue,
        FLT_HOME: homeOf(name),
        FLT_ARTIFACT_ROOT: store.root,
        FLT_WORKFLOW_BUNDLE: bundle,
        FLT_BASE_GGUF: baseGguf,
        ...env,
      },
    });
    fs.closeSync(log);
    workers.push(worker);
    return worker;
  };
  const exited = (worker: ChildProcess) =>
    new Promise<void>((resolve) =>
      worker.exitCode !== null || worker.signalCode !== null ? resolve() : worker.once('exit', () => resolve()),
    );

  beforeAll(async () => {
    // Workers of both roles load one prebuilt bundle rather than bundling the workflows each.
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      logger: new DefaultLogger('WARN'),
    });
    bundle = path.join(base, 'workflows.js');
    fs.writeFileSync(bundle, code);
    connection = await Connection.connect({ address: temporalAddress() });
    client = new Client({ connection });
  });
  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGTERM');
      await exited(worker);
    }
    for (const pgid of trainerGroups.splice(0)) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
  afterAll(async () => {
    await connection?.close();
    fs.rmSync(base, { recursive: true, force: true });
  });

  const fineTuneInput = async (stage: string, backend: Partial<CommandBackend>): Promise<CommandInput> => ({
    runId: `hosts-${stage}-${Date.now()}`,
    stage,
    backend: {
      kind: 'command',
      command: trainerCommand,
      provider: 'served',
      servedModel: '{job}',
      pollIntervalSeconds: 0.5,
      ...backend,
    },
    providers: {},
    baseModel: { provider: 'served', model: 'base/tiny' },
    training: await store.writeJsonl([
      {
        messages: [
          { role: 'user', content: `${stage}?` },
          { role: 'assistant', content: 'yes' },
        ],
      },
    ]),
    hyperparameters: { epochs: 1, learningRate: 1e-4, lora: true },
  });
  /** The owner workflow of the job this input's stage (or its retry's) trains. */
  const ownerOf = (input: CommandInput, stage: string) => {
    const request = { ...input, tag: { runId: input.runId, stage }, baseModel: input.baseModel.model };
    return client.workflow.getHandle(fineTuneJobOwnerId(taskQueue, request));
  };
  const jobName = (input: CommandInput, stage: string) =>
    tagName(contentTag({ ...input, stage, baseModel: input.baseModel.model }));
  const start = (input: FineTuneInput) =>
    client.workflow.start('fineTune', { taskQueue, workflowId: `${input.runId}-ft`, args: [input] });

  it('starts the job on the trainer worker and polls it on that host’s own task queue', async () => {
    const inference = startWorker('inference', 'inference');
    const trainer = startWorker('trainer', 'trainer');
    const input = await fineTuneInput('sft', {});
    const handle = await start(input);
    const model = await handle.result();
    const job = jobName(input, 'sft');
    expect(model).toEqual({ provider: 'served', model: job });

    const owner = await activityRuns(ownerOf(input, 'sft'));
    const waits = (await activityRuns(handle)).filter((a) => a.type === 'waitForFineTuneJob');
    const onTrainer = `${trainer.pid}@`;
    // Picked on the trainer queue, started and polled on the host queue of the trainer that took it.
    expect(owner.map((a) => a.type)).toEqual(['trainerHostQueue', 'startFineTuneJob']);
    expect(owner[0]).toMatchObject({ taskQueue: `${taskQueue}-trainer` });
    expect(owner[0].identity).toMatch(new RegExp(`^${onTrainer}`));
    const hostQueue = owner[1].taskQueue;
    expect(hostQueue.startsWith(`${taskQueue}-trainer@`)).toBe(true);
    expect(owner[1].identity).toMatch(new RegExp(`^${onTrainer}`));
    expect(waits).toEqual([{ type: 'waitForFineTuneJob', taskQueue: hostQueue, identity: expect.any(String) }]);
    expect(waits[0].identity).toMatch(new RegExp(`^${onTrainer}`));
    // The workflows ran on the inference worker; the trainer's job directory is the trainer's alone.
    const workflowTasks = (await handle.fetchHistory()).events!.flatMap((e) =>
      e.workflowTaskStartedEventAttributes ? [e.workflowTaskStartedEventAttributes.identity] : [],
    );
    expect(new Set(workflowTasks)).toEqual(new Set([`${inference.pid}@${workflowTasks[0]!.split('@')[1]}`]));
    expect(fs.existsSync(path.join(homeOf('trainer'), 'jobs', job, 'adapter', 'adapter.gguf'))).toBe(true);
    expect(fs.existsSync(path.join(homeOf('inference'), 'jobs'))).toBe(false);
    // The trainer read the training file from the shared store, its own FLT_HOME holding no artifacts.
    const trained = fs.readFileSync(path.join(homeOf('trainer'), 'jobs', job, 'train.jsonl'));
    expect(createHash('sha256').update(trained).digest('hex')).toBe(input.training.sha256);
    expect(fs.readdirSync(homeOf('trainer'))).toEqual(['jobs']);
  });

  it('cancels the trainer through its host’s queue when the run is cancelled', async () => {
    startWorker('inference', 'inference');
    const trainer = startWorker('trainer', 'trainer', { FLT_FAKE_TRAINER_DELAY_MS: '600000' });
    const input = await fineTuneInput('cancelled', {});
    const handle = await start(input);
    const diagnose = async () => describeStuckRun(client, handle.workflowId);
    const job = path.join(homeOf('trainer'), 'jobs', jobName(input, 'cancelled'));
    await until('the trainer start the job', () => fs.existsSync(path.join(job, 'pid')), diagnose);
    const pgid = Number(fs.readFileSync(path.join(job, 'pid'), 'utf8'));
    trainerGroups.push(pgid);

    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    // The owner ends once its one waiter has left, after the cancel it made for it.
    const owner = ownerOf(input, 'cancelled');
    await owner.result();
    const [, started, cancelled] = await activityRuns(owner);
    expect(cancelled).toMatchObject({ type: 'cancelFineTuneJob', taskQueue: started.taskQueue });
    expect(cancelled.identity).toMatch(new RegExp(`^${trainer.pid}@`));
    expect(runningMembers(pgid)).toEqual([]);
    expect(fs.existsSync(path.join(job, 'cancelled'))).toBe(true);
  });

  it('fails a job whose trainer host is gone past the grace and trains a new one on another trainer', async () => {
    const inference = startWorker('inference', 'inference');
    // Trainer A trains slowly enough to be killed mid-job; B, started only once A has the job, trains at once.
    const trainerA = startWorker('trainer', 'trainer-a', { FLT_FAKE_TRAINER_DELAY_MS: '600000' });
    const input = await fineTuneInput('gone', { trainerHostGraceSeconds: 3, retryFailedJobs: 1 });
    const handle = await start(input);
    const diagnose = async () =>
      `${await describeStuckRun(client, handle.workflowId)}\ninference worker:\n${tailOf(logOf('inference'))}`;
    const jobA = path.join(homeOf('trainer-a'), 'jobs', jobName(input, 'gone'));
    await until('trainer A start the job', () => fs.existsSync(path.join(jobA, 'pid')), diagnose);
    const pgid = Number(fs.readFileSync(path.join(jobA, 'pid'), 'utf8'));
    trainerGroups.push(pgid);
    const polledByA = async () =>
      ((await handle.describe()).raw.pendingActivities ?? []).some(
        (a) =>
          a.activityType?.name === 'waitForFineTuneJob' &&
          a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
          a.lastWorkerIdentity?.startsWith(`${trainerA.pid}@`),
      );
    await until('trainer A poll the job', polledByA, diagnose);

    trainerA.kill('SIGKILL');
    await exited(trainerA);
    const trainerB = startWorker('trainer', 'trainer-b');
    const model = await handle.result();

    const retried = jobName(input, 'gone-retry1');
    expect(model).toEqual({ provider: 'served', model: retried });
    expect(fs.existsSync(path.join(homeOf('trainer-b'), 'jobs', retried, 'adapter', 'adapter.gguf'))).toBe(true);
    const retriedOwner = await activityRuns(ownerOf(input, 'gone-retry1'));
    expect(retriedOwner.map((a) => a.identity?.split('@')[0])).toEqual([String(trainerB.pid), String(trainerB.pid)]);
    // The failed job's message names the host and the grace; the inference worker logged it when starting anew.
    const hostA = (await activityRuns(ownerOf(input, 'gone')))[1].taskQueue;
    await until(
      'the failed job logged',
      () => fs.readFileSync(logOf('inference'), 'utf8').includes(`trainer host ${hostA} did not take`),
      diagnose,
    );
    expect(fs.readFileSync(logOf('inference'), 'utf8')).toContain('within the grace of 3 s');
    // Nobody polls A's trainer any more: it stops itself rather than train on for nobody.
    await until('trainer A stop itself', () => runningMembers(pgid).length === 0, diagnose);
    expect(fs.readFileSync(path.join(jobA, 'train.log'), 'utf8')).toMatch(/no worker polled this job for \d+ s/);
    expect(inference.exitCode).toBeNull();
  });
});
