// Durability of a running evaluation: the worker process SIGKILLed mid-stage, and the Temporal server itself
// stopped and restarted on its SQLite file. Each run must finish with the same answers as an uninterrupted run,
// and no finished model call may be paid for again.
import { Client, Connection } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import { spawnTs } from '../../lib/ts-process';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { LocalArtifactStore } from '../../lib/artifacts';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { freePort, startDevServer, type DevServer } from '../../lib/dev-server';
import type { EvaluationRunInput, EvaluationRunResult } from '../../workflows/evaluation-run';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { repeatsOf } from '../support/repeats';

const root = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A restarted server and a worker reconnecting with backoff take a while on a busy 2-core machine.
jest.setTimeout(300_000);

describe('durability of an evaluation run', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-durability-'));
  const store = new LocalArtifactStore(path.join(home, 'artifacts'));
  const dbFile = path.join(home, 'temporal.sqlite');
  const { items } = loadSemiEvolCsv(path.join(root, 'demo/fpb/test.csv'));
  let ports: { port: number; uiPort: number };
  let server: DevServer;
  let double: ProviderDouble;
  let providers: ProvidersConfig;

  // The reference run gets its own data home: its own artifact store and response cache, nothing shared.
  const referenceHome = mkdtempSync(path.join(os.tmpdir(), 'flt-durability-ref-'));
  const referenceStore = new LocalArtifactStore(path.join(referenceHome, 'artifacts'));
  const startWorker = (dataHome = home, taskQueue = 'durability'): ChildProcess =>
    spawnTs(path.join(root, 'worker.ts'), [], {
      cwd: root,
      stdio: 'ignore',
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: server.address,
        FLT_HOME: dataHome,
        FLT_TASK_QUEUE: taskQueue,
        FLT_DURABILITY_KEY: 'k',
      },
    });
  const stopWorker = async (worker: ChildProcess, signal: NodeJS.Signals) => {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill(signal);
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  };
  const answered = async () =>
    (await double.requests()).filter((r) => r.path === '/v1/chat/completions' && r.status === 200 && r.fault === null);
  const input = async (runId: string, seed: number, into = store): Promise<EvaluationRunInput> => ({
    runId,
    task: 'durability',
    providers,
    models: [{ provider: 'double', model: 'sim-model' }],
    test: await into.writeJsonl(items),
    sampling: { temperature: 1, maxTokens: 64, seed },
    metric: 'option-letter',
    execution: { shardSize: 10, parallelShards: 2 },
  });
  const client = async () => new Client({ connection: await Connection.connect({ address: server.address }) });

  beforeAll(async () => {
    ports = { port: await freePort(), uiPort: await freePort() };
    server = await startDevServer({ ...ports, dbFile });
    // 150 ms per call and 2 calls at a time: a 60-question run takes a few seconds, long enough to interrupt.
    double = await startProviderDouble({
      config: { latencyMs: 150 },
      gold: items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] })),
    });
    providers = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_DURABILITY_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 2,
      },
    };
  });
  afterAll(async () => {
    await double?.stop();
    await server?.stop();
  });

  it('survives SIGKILLs of the worker mid-stage with identical answers and no finished call paid twice', async () => {
    const c = await client();
    // The reference: the same run id and seed, uninterrupted, on a worker with its own store and cache.
    let worker = startWorker(referenceHome, 'durability-reference');
    const reference = await c.workflow.execute('evaluationRun', {
      taskQueue: 'durability-reference',
      workflowId: 'reference',
      args: [await input('killed', 12, referenceStore)],
    });
    await stopWorker(worker, 'SIGTERM');
    await double.clearRequests();

    const handle = await c.workflow.start('evaluationRun', {
      taskQueue: 'durability',
      workflowId: 'killed',
      args: [await input('killed', 12)],
    });
    const killTimes: number[] = [];
    worker = startWorker();
    for (const threshold of [10, 25, 40]) {
      while ((await answered()).length < threshold) await sleep(50);
      await stopWorker(worker, 'SIGKILL');
      killTimes.push(Date.now());
      worker = startWorker();
    }
    const result = await handle.result();
    await stopWorker(worker, 'SIGTERM');

    expect(result.evaluations[0].score.total).toBe(60);
    // Only calls in flight at a kill are asked again: a repeated call's first answer was still on its way to the
    // worker (sent before the kill, answered at most a moment before it, while the worker was yet to store it).
    const calls = await answered();
    expect(new Set(calls.map((r) => r.requestHash)).size).toBe(60);
    expect(repeatsOf(calls, killTimes).finishedRepeated).toEqual([]);

    // Byte-identical per-question verdicts (same content address) as the uninterrupted run.
    expect(result.evaluations[0].score.details.sha256).toBe(reference.evaluations[0].score.details.sha256);
    expect(result.evaluations[0].score.accuracy).toBe(reference.evaluations[0].score.accuracy);
  });

  it('survives the Temporal server stopping and restarting mid-run, twice', async () => {
    let c = await client();
    const worker = startWorker();
    const handle = await c.workflow.start('evaluationRun', {
      taskQueue: 'durability',
      workflowId: 'restarted',
      args: [await input('restarted', 13)],
    });
    await double.clearRequests();
    for (const threshold of [15, 35]) {
      while ((await answered()).length < threshold) await sleep(50);
      await server.stop();
      await sleep(1000);
      server = await startDevServer({ ...ports, dbFile });
    }
    c = await client();
    const result: EvaluationRunResult = await c.workflow.getHandle(handle.workflowId).result();
    await stopWorker(worker, 'SIGTERM');
    expect(result.evaluations[0].score.total).toBe(60);
    const calls = await answered();
    expect(new Set(calls.map((r) => r.requestHash)).size).toBe(60);
  });
});
