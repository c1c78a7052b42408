// Issue 16's deployment on one machine: a real S3 server (versitygw) holds the artifact store and the response cache,
// and three worker processes with their own FLT_HOMEs, as three machines would have, run SemiEvol: two inference
// workers and one trainer worker, with the `command` trainer (the fake LoRA trainer) and `serve: vllm` (the provider
// double acting as vLLM). The trainer worker is SIGKILLed while its trainer certainly runs, and an inference worker
// while it certainly runs a collaborate shard (its calls held at the double, its finished calls saved); both start
// again. The run must end as one worker's run of the same input on its own double does: one trainer per stage, on the
// trainer host only, one load per adapter, and no finished call paid twice.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { defaultArtifactStore, type ArtifactStore } from '../../lib/artifacts';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { spawnTs } from '../../lib/ts-process';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble, type RequestLogEntry } from '../support/provider-double';
import { repeatsOf } from '../support/repeats';
import { startS3Server, type S3Server } from '../support/s3-server';
import { semievolTestInput, vllmLoopOverrides } from '../support/semievol-input';
import { describeStuckRun, failStuckWith, tailOf } from '../support/stuck-run';
import { temporalAddress } from '../support/temporal';
import { prebuiltBundle, withoutUsage } from './crash-harness';

const root = path.resolve(__dirname, '../..');
const baseGguf = path.resolve(root, '../shared/models/llama-2-tiny-random.gguf');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fpb = (split: string) => loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`)).items;
const { PendingActivityState } = temporal.api.enums.v1;
jest.setTimeout(420_000);

type Role = 'all' | 'inference' | 'trainer';

/** One worker process, as one machine runs it: its own FLT_HOME, the shared store, a role. */
class HostWorker {
  process: ChildProcess | undefined;
  constructor(
    readonly role: Role,
    readonly home: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: string,
  ) {}

  get pid(): number | undefined {
    return this.process?.pid;
  }

  async start(): Promise<void> {
    const log = fs.openSync(this.log, 'a');
    this.process = spawnTs(path.join(root, 'worker.ts'), ['--role', this.role], {
      cwd: root,
      stdio: ['ignore', log, log],
      env: { ...this.env, FLT_HOME: this.home, FLT_WORKFLOW_BUNDLE: await prebuiltBundle() },
    });
    fs.closeSync(log);
  }

  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

/** One deployment: its own double, task queue and S3 prefix, and its workers. */
class Deployment {
  readonly workers: HostWorker[] = [];
  readonly dir: string;
  readonly log: string;
  readonly store: ArtifactStore;
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly name: string,
    readonly double: ProviderDouble,
    readonly s3: S3Server,
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `flt-hosts-${name}-`));
    this.log = path.join(this.dir, 'workers.log');
    this.env = {
      ...process.env,
      ...s3.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      FLT_TASK_QUEUE: `hosts-${name}-${process.pid}`,
      FLT_ARTIFACT_ROOT: `s3://${s3.bucket}/${name}`,
      FLT_HOSTS_KEY: 'k',
      // The fake trainer shapes its adapter on this GGUF; the run's model is the double's `sim-model`.
      FLT_BASE_GGUF: baseGguf,
    };
    this.store = defaultArtifactStore({ ...this.env, FLT_HOME: path.join(this.dir, 'cli') });
  }

  worker(name: string, role: Role, env: NodeJS.ProcessEnv = {}): HostWorker {
    const worker = new HostWorker(role, path.join(this.dir, name), { ...this.env, ...env }, this.log);
    this.workers.push(worker);
    return worker;
  }

  get providers(): ProvidersConfig {
    return {
      'local-vllm': {
        kind: 'openai-compatible',
        baseURL: this.double.baseURL,
        apiKeyEnv: 'FLT_HOSTS_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 2,
      },
    };
  }

  /** Calls the run's shards finished and saved in the bucket: the entries of every response-cache segment. */
  async savedCalls(): Promise<number> {
    const prefix = `${this.name}/names/response-cache/`;
    let saved = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.client.send(
        new ListObjectsV2Command({ Bucket: this.s3.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const { Key } of page.Contents ?? []) {
        const name = Key!.slice(`${this.name}/names/`.length).replace(/\.json$/, '');
        saved += (await this.store.lookup(name))?.count ?? 0;
      }
      token = page.NextContinuationToken;
    } while (token);
    return saved;
  }

  async stopAll(signal: NodeJS.Signals): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop(signal)));
  }
}

const isProbe = (r: RequestLogEntry) =>
  (r.messages as { content?: string }[] | undefined)?.[0]?.content === 'Say OK.' && r.model !== 'sim-model';
/** The model calls the run paid for: answered chat calls, the serving steps' one-token probes aside. */
const paidChats = (log: RequestLogEntry[]) =>
  log.filter((r) => r.path === '/v1/chat/completions' && r.status === 200 && r.fault === null && !isProbe(r));

/** The pids of the workers that run a started activity of `type` in the run or its children. */
async function workersRunning(client: Client, workflowId: string, type: string): Promise<number[]> {
  const { raw } = await client.workflow.getHandle(workflowId).describe();
  const pids = (raw.pendingActivities ?? [])
    .filter((a) => a.activityType?.name === type && a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)
    .map((a) => Number(a.lastWorkerIdentity?.split('@')[0]));
  for (const child of raw.pendingChildren ?? []) pids.push(...(await workersRunning(client, child.workflowId!, type)));
  return pids;
}

async function waitForFile(folder: string, pattern: RegExp, except: string[] = []): Promise<string> {
  for (;;) {
    const found = fs.readdirSync(folder).find((f) => pattern.test(f) && !except.includes(f));
    if (found) return found;
    await sleep(100);
  }
}

describe('SemiEvol on three hosts sharing an S3 store: two inference workers and a trainer worker', () => {
  const labeled = fpb('labeled').slice(0, 12);
  const unlabeled = fpb('unlabeled').slice(0, 24);
  const test = fpb('test').slice(0, 12);
  const gold = [...labeled, ...unlabeled, ...test].map((i) => ({
    question: i.question,
    answer: i.answer!,
    choices: ['A', 'B', 'C'],
  }));
  let s3: S3Server;
  const doubles: ProviderDouble[] = [];
  const deployments: Deployment[] = [];

  const deployment = async (name: string) => {
    const double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, logMessages: true },
      gold,
    });
    doubles.push(double);
    const created = new Deployment(name, double, s3);
    deployments.push(created);
    return created;
  };
  const input = (d: Deployment, runId: string): Promise<SemievolRunInput> =>
    semievolTestInput(d.store, runId, d.providers, { labeled, unlabeled, test }, vllmLoopOverrides('local-vllm'));

  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    for (const d of deployments) await d.stopAll('SIGKILL');
    for (const double of doubles) await double.stop();
    await s3?.stop();
  });

  it('ends as a single worker does after the trainer worker and an inference worker are killed mid-stage', async () => {
    const runId = `hosts-${Date.now()}`;
    const connection = await Connection.connect({ address: temporalAddress() });
    const client = new Client({ connection });
    try {
      // The reference: one worker doing everything, on its own double, prefix and task queue.
      const single = await deployment('single');
      await single.worker('all', 'all').start();
      const reference: SemievolRunResult = await client.workflow.execute('semievolRun', {
        taskQueue: single.env.FLT_TASK_QUEUE!,
        workflowId: runId,
        args: [await input(single, runId)],
      });
      await single.stopAll('SIGTERM');

      const spread = await deployment('spread');
      const diagnose = async () =>
        `${await describeStuckRun(client, runId)}\nits workers said:\n${tailOf(spread.log, 80)}`;
      await failStuckWith(390_000, diagnose, () => spreadRun(spread, client, runId, reference));
    } finally {
      await connection.close();
    }
  });

  async function spreadRun(spread: Deployment, client: Client, runId: string, reference: SemievolRunResult) {
    const hold = fs.mkdtempSync(path.join(spread.dir, 'trainer-hold-'));
    const inference = [spread.worker('inference-a', 'inference'), spread.worker('inference-b', 'inference')];
    const trainer = spread.worker('trainer', 'trainer', { FLT_FAKE_TRAINER_HOLD: hold });
    for (const worker of spread.workers) await worker.start();
    const handle = await client.workflow.start('semievolRun', {
      taskQueue: spread.env.FLT_TASK_QUEUE!,
      workflowId: runId,
      args: [await input(spread, runId)],
    });
    const kills: number[] = [];

    // 1. The warm-up trainer runs (held at its start): its worker dies and starts again on the same host.
    const warmUp = await waitForFile(hold, /\.held$/);
    await trainer.stop('SIGKILL');
    kills.push(Date.now());
    await trainer.start();
    // Collaborate's calls through M_base will be held; the serving steps' probes through M_warm go on.
    await spread.double.holdModelCalls({ model: 'sim-model' });
    fs.writeFileSync(path.join(hold, warmUp.replace(/\.held$/, '.release')), '');

    // 2. Both collaborate shards run, every inference worker running one has its two call slots held, and every call
    // answered so far is saved in the bucket: an inference worker running a shard dies and starts again.
    let owners: number[];
    for (;;) {
      owners = await workersRunning(client, runId, 'collaborateOnShard');
      const held = await spread.double.heldModelCalls();
      if (owners.length === 2 && held === 2 * new Set(owners).size) {
        const paid = paidChats(await spread.double.requests()).length;
        if ((await spread.savedCalls()) === paid) break;
      }
      await sleep(200);
    }
    const victim = inference.find((w) => w.pid === owners[0])!;
    expect(victim).toBeDefined();
    await victim.stop('SIGKILL');
    kills.push(Date.now());
    await victim.start();
    await spread.double.releaseModelCalls();

    // 3. The evolution trainer is released when it starts.
    const evolution = await waitForFile(hold, /\.held$/, [warmUp]);
    fs.writeFileSync(path.join(hold, evolution.replace(/\.held$/, '.release')), '');
    const result: SemievolRunResult = await handle.result();
    await spread.stopAll('SIGTERM');

    // The same run, but for where each deployment's trainer keeps its adapters and the evolution job's name, which
    // names the warm-up adapter it starts from by that path (as do the stored adapter folders, in their manifests).
    const hostFree = (r: SemievolRunResult, jobs: string) =>
      JSON.parse(
        JSON.stringify(withoutUsage(r), (key, value: unknown) => (key === 'archive' ? undefined : value))
          .replaceAll(`${jobs}/`, '<jobs>/')
          .replaceAll(r.models.evolved.model, '<evolved>'),
      );
    expect(hostFree(result, path.join(trainer.home, 'jobs'))).toEqual(
      hostFree(reference, path.dirname(path.dirname(reference.models.warm!.adapter!.path))),
    );
    // One trainer per stage, on the trainer host only.
    const jobs = fs.readdirSync(path.join(trainer.home, 'jobs')).sort();
    expect(jobs).toEqual([result.models.warm!.model, result.models.evolved.model].sort());
    for (const job of jobs) {
      const log = fs.readFileSync(path.join(trainer.home, 'jobs', job, 'train.log'), 'utf8');
      expect([job, log.match(/^fake LoRA training of /gm)?.length]).toEqual([job, 1]);
    }
    for (const worker of inference) expect(fs.existsSync(path.join(worker.home, 'jobs'))).toBe(false);
    // Each adapter is in the bucket, stored once by the trainer host, for hosts that cannot see its disk.
    for (const model of [result.models.warm!, result.models.evolved])
      expect(await spread.store.lookup(`adapters/${model.model}`)).toEqual(model.adapter!.archive!.ref);
    // Each adapter loaded once, and unloaded at the end.
    const { loaded, events } = await spread.double.loraAdapters();
    const loads = events.filter((e) => e.action === 'load' && e.error === null).map((e) => e.name);
    expect(loads.sort()).toEqual(jobs);
    expect(loaded).toEqual([]);
    // No call finished (and saved) before a kill was paid again; the held calls were in flight at the kill.
    const log = await spread.double.requests();
    expect(repeatsOf(paidChats(log), kills).finishedRepeated).toEqual([]);
    expect(log.filter((r) => r.method === 'POST' && /\/files$/.test(r.path))).toEqual([]);
  }
});
