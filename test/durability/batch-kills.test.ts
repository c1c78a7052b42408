// A batched stage across a worker SIGKILL and an expired batch, in a SemiEvol run (collaborate) and a SELF-GUIDE run
// (annotate-outputs): the worker dies while the stage's batch is in progress at the provider; the next worker polls
// that batch on instead of creating one, the batch expires with part of its lines answered, what it left goes to one
// new batch, and what that one leaves goes online. Each batch is created once, no item is paid twice, and the run's
// cost is what the provider's log says it was paid.
import { Client, Connection } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { batchSchema, type ProvidersConfig } from '../../core/config';
import { LocalArtifactStore } from '../../lib/artifacts';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { spawnTs } from '../../lib/ts-process';
import { storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import type { SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type RequestLogEntry } from '../support/provider-double';
import { semievolTestInput } from '../support/semievol-input';
import { temporalAddress } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
jest.setTimeout(300_000);

const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(__dirname, `../../../shared/data/semievol/fpb/${split}.csv`)).items;
const labeled = fpb('labeled').slice(0, 10);
const unlabeled = fpb('unlabeled').slice(0, 20);
const test = fpb('test').slice(0, 5);
const prices = { inputPerMillionTokens: 2, outputPerMillionTokens: 8, trainingPerMillionTokens: 0 };

const answered = (log: RequestLogEntry[]) => log.filter((r) => r.path === '/v1/chat/completions' && r.status === 200);
const batchCreates = (log: RequestLogEntry[]) => log.filter((r) => r.method === 'POST' && r.path === '/v1/batches');

/** What the provider's log says a run paid: batch lines at half price. */
const loggedCost = (log: RequestLogEntry[]) =>
  answered(log).reduce((sum, r) => {
    const share = r.batchId ? 0.5 : 1;
    const { prompt_tokens, completion_tokens } = r.usage!;
    return (
      sum +
      (share * (prompt_tokens * prices.inputPerMillionTokens + completion_tokens * prices.outputPerMillionTokens)) / 1e6
    );
  }, 0);

/**
 * Starts a run on a worker process, SIGKILLs the worker while the run's first batch is in progress, starts another,
 * lets the batches expire after `expireAfterLines` answered lines each, and returns the run's result and the double's
 * log.
 */
async function killDuringBatch<R>(
  expireAfterLines: number,
  start: (client: Client, taskQueue: string, providers: ProvidersConfig, store: LocalArtifactStore) => Promise<string>,
): Promise<{ result: R; log: RequestLogEntry[] }> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-batch-kills-'));
  const taskQueue = `batch-kills-${process.pid}-${Date.now()}`;
  // Batches move only when the test advances them, until the kill is done.
  const double = await startProviderDouble({
    config: { fineTune: { stepMs: 40 }, batches: { stepMs: 0, expireAfterLines } },
    gold: [...labeled, ...unlabeled, ...test].map((i) => ({
      question: i.question,
      answer: i.answer!,
      choices: ['A', 'B', 'C'],
    })),
  });
  const providers: ProvidersConfig = {
    double: {
      kind: 'openai-compatible',
      baseURL: double.baseURL,
      apiKeyEnv: 'FLT_BATCH_KEY',
      testDouble: true,
      batchApi: 'openai',
      requestTimeoutSeconds: 30,
      prices,
      maxConcurrency: 8,
    },
  };
  const startWorker = (): ChildProcess =>
    spawnTs(path.join(root, 'worker.ts'), [], {
      cwd: root,
      stdio: 'ignore',
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        FLT_HOME: home,
        FLT_TASK_QUEUE: taskQueue,
        FLT_BATCH_KEY: 'k',
      },
    });
  const stopWorker = async (worker: ChildProcess, signal: NodeJS.Signals) => {
    if (worker.exitCode !== null || worker.signalCode !== null) return;
    worker.kill(signal);
    await new Promise((resolve) => worker.once('exit', resolve));
  };
  const waitFor = async (what: (log: RequestLogEntry[]) => boolean) => {
    while (!what(await double.requests())) await sleep(100);
  };
  const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  let worker = startWorker();
  try {
    const runId = await start(client, taskQueue, providers, new LocalArtifactStore(path.join(home, 'artifacts')));

    // The batch exists and is being polled: the worker is waiting on it.
    await waitFor((log) => batchCreates(log).length === 1);
    const [created] = batchCreates(await double.requests());
    await waitFor((log) =>
      log.some((r) => r.method === 'GET' && r.path.startsWith('/v1/batches/') && r.seq > created.seq),
    );
    const batchId = (await double.requests())
      .filter((r) => r.method === 'GET' && r.path.startsWith('/v1/batches/'))[0]
      .path.split('/')
      .at(-1)!;
    expect(await double.advanceBatch(batchId)).toBe('in_progress');
    await stopWorker(worker, 'SIGKILL');
    const killedAt = (await double.requests()).at(-1)!.seq;

    worker = startWorker();
    // The new worker polls the same batch; from then on batches move on the double's own clock.
    await waitFor((log) => log.some((r) => r.seq > killedAt && r.path === `/v1/batches/${batchId}`));
    await double.configure({ batches: { stepMs: 50 } });
    await double.advanceBatch(batchId);
    const result: R = await client.workflow.getHandle(runId).result();
    return { result, log: await double.requests() };
  } finally {
    await stopWorker(worker, 'SIGKILL');
    await double.stop();
    await client.connection.close();
  }
}

describe('a batched stage across a worker kill and an expired batch', () => {
  it('creates each batch once and pays every item once: SemiEvol', async () => {
    const { result, log } = await killDuringBatch<SemievolRunResult>(
      30,
      async (client, taskQueue, providers, store) => {
        const runId = `batch-kills-${Date.now()}`;
        const input = await semievolTestInput(
          store,
          runId,
          providers,
          { labeled, unlabeled, test },
          {
            execution: {
              shardSize: 10,
              parallelShards: 2,
              batch: batchSchema.parse({ stages: { collaborate: true }, resubmissions: 1, pollIntervalSeconds: 0.2 }),
            },
          },
        );
        await client.workflow.start('semievolRun', { taskQueue, workflowId: runId, args: [input] });
        return runId;
      },
    );
    // One batch per round: the first (polled on after the kill, not created again) and one for what it left.
    expect(batchCreates(log)).toHaveLength(2);
    // One input file per batch, one training file per fine-tune job: none uploaded twice.
    const fineTuneJobs = log.filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs');
    expect(log.filter((r) => r.method === 'POST' && r.path === '/v1/files')).toHaveLength(2 + fineTuneJobs.length);
    expect(answered(log).filter((r) => r.batchId)).toHaveLength(30 + 30);
    const hashes = answered(log).map((r) => r.requestHash);
    expect(new Set(hashes).size).toBe(hashes.length);
    expect(result.pseudoLabels.counts.questions).toBe(20);
    expect(result.usage.costUsd).toBeCloseTo(loggedCost(log), 9);
  });

  it('creates each batch once and pays every item once: SELF-GUIDE', async () => {
    const taskDir = path.resolve(__dirname, '../../../shared/data/selfguide/task1385');
    const { result, log } = await killDuringBatch<SelfGuideRunResult>(
      4,
      async (client, taskQueue, providers, store) => {
        const runId = `batch-kills-sg-${Date.now()}`;
        const task = await storeSelfGuideTask(store, { format: 'selfguide-task', path: taskDir }, 5, []);
        const input: SelfGuideRunInput = {
          runId,
          providers,
          model: { provider: 'double', model: 'sim-model' },
          fineTune: {
            backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
            lora: false,
            maxExampleTokens: 2000,
          },
          generation: { rounds: 2, promptsPerRound: 10, maxTokens: 500, maxPromptTokens: 3000 },
          annotation: { samples: 5, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 100 },
          evaluation: { maxTokens: 64, contextTokens: 4096, rouge: 'words' },
          execution: {
            shardSize: 10,
            parallelShards: 2,
            batch: batchSchema.parse({
              stages: { 'annotate-outputs': true },
              resubmissions: 1,
              pollIntervalSeconds: 0.2,
            }),
          },
          seed: 0,
          ...task,
          settings: { inputTemperature: 0.8, inputLengthFilter: true, outputLengthFilter: true, epochs: 1 },
        };
        await client.workflow.start('selfGuideRun', { taskQueue, workflowId: runId, args: [input] });
        return runId;
      },
    );
    // The annotation's batch (polled on after the kill) and one for what it left; the rest online.
    expect(batchCreates(log)).toHaveLength(2);
    const kept = result.inputs.filters.kept;
    expect(kept).toBeGreaterThan(8);
    expect(answered(log).filter((r) => r.batchId)).toHaveLength(4 + 4);
    const hashes = answered(log).map((r) => r.requestHash);
    expect(new Set(hashes).size).toBe(hashes.length);
    expect(result.usage.costUsd).toBeCloseTo(loggedCost(log), 9);
  });
});
