// Durability of the open-model loop: SemiEvol with the `command` backend (the fake LoRA trainer) and `serve: vllm`
// against the provider double acting as vLLM, its worker process SIGKILLed while M_warm's load is held at the
// server, again while collaborate (which calls M_warm and M_base) has its calls through M_base held, and once more
// with the serving server restarted (adapters forgotten) while the run is paused between stages. The run must
// complete with one trainer per stage, one successful load per adapter per serving-server lifetime, and nothing
// left loaded.
import { Client, Connection } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { controlQuery, pauseSignal, unpauseSignal } from '../../core/workflow-messages';
import { LocalArtifactStore } from '../../lib/artifacts';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { spawnTs } from '../../lib/ts-process';
import type { SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type LoraEvent, type ProviderDouble } from '../support/provider-double';
import { semievolTestInput, vllmLoopOverrides } from '../support/semievol-input';
import { describeStuckRun, failStuckWith, tailOf } from '../support/stuck-run';
import { temporalAddress } from '../support/temporal';
import { prebuiltBundle } from './crash-harness';

const root = path.resolve(__dirname, '../..');
const baseGguf = path.resolve(root, '../shared/models/llama-2-tiny-random.gguf');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fpb = (split: string) => loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`)).items;
jest.setTimeout(300_000);

/** Successful loads of each name, one list per serving-server lifetime (restarts separate them). */
function loadsPerLifetime(events: LoraEvent[]): Record<string, number>[] {
  const lifetimes: Record<string, number>[] = [{}];
  for (const event of events) {
    if (event.action === 'restart') lifetimes.push({});
    else if (event.action === 'load' && event.error === null)
      lifetimes.at(-1)![event.name!] = (lifetimes.at(-1)![event.name!] ?? 0) + 1;
  }
  return lifetimes;
}

describe('durability of a SemiEvol run whose adapters are served on vLLM', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-lora-durability-'));
  const store = new LocalArtifactStore(path.join(home, 'artifacts'));
  const taskQueue = `lora-durability-${process.pid}`;
  const labeled = fpb('labeled').slice(0, 12);
  const unlabeled = fpb('unlabeled').slice(0, 24);
  const test = fpb('test').slice(0, 12);
  let double: ProviderDouble;
  let providers: ProvidersConfig;

  const workerLog = path.join(home, 'workers.log');
  const startWorker = async (): Promise<ChildProcess> => {
    const log = fs.openSync(workerLog, 'a');
    const worker = spawnTs(path.join(root, 'worker.ts'), [], {
      cwd: root,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        FLT_HOME: home,
        FLT_TASK_QUEUE: taskQueue,
        FLT_DURABILITY_KEY: 'k',
        FLT_WORKFLOW_BUNDLE: await prebuiltBundle(),
        // The fake trainer shapes its adapter on this GGUF; the run's model is the double's `sim-model`.
        FLT_BASE_GGUF: baseGguf,
      },
    });
    fs.closeSync(log);
    return worker;
  };
  const stopWorker = async (worker: ChildProcess, signal: NodeJS.Signals) => {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill(signal);
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  };

  beforeAll(async () => {
    const gold = [...labeled, ...unlabeled, ...test].map((i) => ({
      question: i.question,
      answer: i.answer!,
      choices: ['A', 'B', 'C'],
    }));
    double = await startProviderDouble({ config: { models: { 'sim-model': { accuracy: 0.5 } } }, gold });
    providers = {
      'local-vllm': {
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
  afterAll(async () => double?.stop());

  it('completes after kills during a load and a stage and a serving restart, loading what is missing', async () => {
    const runId = `lora-killed-${Date.now()}`;
    const connection = await Connection.connect({ address: temporalAddress() });
    const diagnose = async () =>
      `${await describeStuckRun(new Client({ connection }), runId)}\n` +
      `the double's adapters: ${JSON.stringify(await double.loraAdapters())}\n` +
      `its workers said:\n${tailOf(workerLog, 60)}`;
    await failStuckWith(270_000, diagnose, () => killedRun(runId, connection));
  });

  async function killedRun(runId: string, connection: Connection): Promise<void> {
    const input = await semievolTestInput(
      store,
      runId,
      providers,
      { labeled, unlabeled, test },
      vllmLoopOverrides('local-vllm'),
    );
    await double.holdLoraLoads();
    let worker = await startWorker();
    try {
      const handle = await new Client({ connection }).workflow.start('semievolRun', {
        taskQueue,
        workflowId: input.runId,
        args: [input],
      });

      // 1. M_warm's load reaches the server and is held there; the worker dies. Its successor's attempt finds the
      // adapter not yet listed and loads too; then both loads go through, the dead worker's first.
      await double.waitForHeldLoraLoads(1);
      await stopWorker(worker, 'SIGKILL');
      worker = await startWorker();
      await double.waitForHeldLoraLoads(2);
      // Collaborate's calls through M_base will be held; the serving steps' probes through M_warm go on.
      await double.holdModelCalls({ model: 'sim-model' });
      await double.releaseLoraLoads();

      // 2. The worker dies while collaborate's calls are held; the run is paused at the next stage boundary.
      // A run that fails instead (a retried step refused) says so here rather than leaving the wait unanswered.
      const ended = handle.result().then(() => {
        throw new Error('the run ended before its collaborate calls were held');
      });
      await Promise.race([double.waitForHeldModelCalls(2), ended]);
      ended.catch(() => undefined);
      await stopWorker(worker, 'SIGKILL');
      const killedInCollaborate = Date.now();
      worker = await startWorker();
      await handle.signal(pauseSignal);
      await double.releaseModelCalls();

      // 3. Paused with nothing in flight, the serving server restarts (forgetting M_warm) and so does the worker.
      for (;;) {
        const { raw } = await handle.describe();
        const busy = (raw.pendingActivities?.length ?? 0) + (raw.pendingChildren?.length ?? 0);
        if (busy === 0 && (await handle.query(controlQuery)).paused) break;
        await sleep(200);
      }
      expect(await double.restartLoraServing()).toBe(1);
      await stopWorker(worker, 'SIGKILL');
      worker = await startWorker();
      await handle.signal(unpauseSignal);
      const result: SemievolRunResult = await handle.result();

      const warm = result.models.warm!.model;
      const evolved = result.models.evolved.model;
      expect(result.evaluations.semievol.score.total).toBe(test.length);
      // One trainer run per stage: two job directories, each trained once.
      const jobs = fs.readdirSync(path.join(home, 'jobs')).sort();
      expect(jobs).toEqual([warm, evolved].sort());
      for (const job of jobs) {
        const log = fs.readFileSync(path.join(home, 'jobs', job, 'train.log'), 'utf8');
        expect([job, log.match(/^fake LoRA training of /gm)?.length]).toEqual([job, 1]);
      }
      // M_warm loaded once before the restart and once after; M_evol once; both unloaded at the end.
      const { loaded, events } = await double.loraAdapters();
      expect(loadsPerLifetime(events)).toEqual([{ [warm]: 1 }, { [warm]: 1, [evolved]: 1 }]);
      expect(events.filter((e) => e.action === 'unload' && e.error === null).map((e) => e.name)).toEqual([
        warm,
        evolved,
      ]);
      expect(loaded).toEqual([]);
      // Collaborate's calls were in flight at the kill; stages called both adapters by name; no call was refused.
      const chats = (await double.requests()).filter((r) => r.path === '/v1/chat/completions');
      expect(chats.filter((r) => r.model === 'sim-model' && r.time < killedInCollaborate).length).toBe(2);
      expect(chats.filter((r) => r.model === warm).length).toBeGreaterThan(test.length);
      expect(chats.filter((r) => r.model === evolved).length).toBeGreaterThanOrEqual(test.length);
      expect(chats.filter((r) => r.status !== 200)).toEqual([]);
    } finally {
      await stopWorker(worker, 'SIGTERM');
      await connection.close();
    }
  }
});
