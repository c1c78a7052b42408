// Durability of a Together checkpoint download (`serve: download`): the worker process is SIGKILLed while M_warm's
// archive is held halfway at the provider, after the first half is on disk. The run must complete with each archive
// sent once in all (the successor asks for the second half only), the adapter unpacked intact, and each adapter
// loaded once and unloaded at the end.
import { Client, Connection } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { LocalArtifactStore } from '../../lib/artifacts';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { spawnTs } from '../../lib/ts-process';
import type { SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { semievolTestInput } from '../support/semievol-input';
import { temporalAddress } from '../support/temporal';
import { prebuiltBundle } from './crash-harness';

const root = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const fpb = (split: string) => loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`)).items;
jest.setTimeout(300_000);

describe('durability of a Together checkpoint download', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-download-durability-'));
  const store = new LocalArtifactStore(path.join(home, 'artifacts'));
  const downloads = path.join(home, 'jobs', 'together-checkpoints');
  const taskQueue = `download-durability-${process.pid}`;
  const labeled = fpb('labeled').slice(0, 12);
  const unlabeled = fpb('unlabeled').slice(0, 24);
  const test = fpb('test').slice(0, 12);
  let double: ProviderDouble;
  let providers: ProvidersConfig;

  const startWorker = async (): Promise<ChildProcess> =>
    spawnTs(path.join(root, 'worker.ts'), [], {
      cwd: root,
      stdio: 'ignore',
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        FLT_HOME: home,
        FLT_TASK_QUEUE: taskQueue,
        FLT_DURABILITY_KEY: 'k',
        FLT_WORKFLOW_BUNDLE: await prebuiltBundle(),
      },
    });
  const stopWorker = async (worker: ChildProcess, signal: NodeJS.Signals) => {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill(signal);
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  };
  /** The bytes of the one archive being downloaded, on disk so far (0 before its part file exists). */
  const partBytes = () => {
    const parts = fs.existsSync(downloads)
      ? fs.readdirSync(downloads).map((job) => path.join(downloads, job, 'adapter', 'archive.part'))
      : [];
    return parts.filter((p) => fs.existsSync(p)).reduce((sum, p) => sum + fs.statSync(p).size, 0);
  };

  beforeAll(async () => {
    const gold = [...labeled, ...unlabeled, ...test].map((i) => ({
      question: i.question,
      answer: i.answer!,
      choices: ['A', 'B', 'C'],
    }));
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 100 } },
      gold,
    });
    const provider = (baseURL: string) => ({
      kind: 'openai-compatible' as const,
      baseURL,
      apiKeyEnv: 'FLT_DURABILITY_KEY',
      testDouble: true,
      requestTimeoutSeconds: 30,
      prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
      maxConcurrency: 2,
    });
    providers = { together: provider(double.togetherBaseURL), 'local-vllm': provider(double.baseURL) };
  });
  afterAll(async () => double?.stop());

  it('continues a download its killed worker left halfway, and completes with each archive sent once', async () => {
    const input = await semievolTestInput(
      store,
      `download-killed-${Date.now()}`,
      providers,
      { labeled, unlabeled, test },
      {
        model: { provider: 'local-vllm', model: 'sim-model' },
        fineTune: {
          backend: {
            kind: 'together',
            baseURL: double.togetherBaseURL,
            apiKeyEnv: 'FLT_DURABILITY_KEY',
            provider: 'together',
            pollIntervalSeconds: 0.2,
            serve: 'download',
            download: { checkpoint: 'adapter', engine: 'vllm', provider: 'local-vllm' },
          },
          hyperparameters: { epochs: 1 },
          finalHyperparameters: { epochs: 1 },
        },
        options: { propagation: { k: 0 }, collaboration: { maxTokens: 32 }, justification: { maxTokens: 32 } },
        sampling: { temperature: 0, maxTokens: 32, seed: 5 },
        execution: { shardSize: 12, parallelShards: 2 },
      },
    );
    const connection = await Connection.connect({ address: temporalAddress() });
    await double.holdDownloads();
    let worker = await startWorker();
    try {
      const handle = await new Client({ connection }).workflow.start('semievolRun', {
        taskQueue,
        workflowId: input.runId,
        args: [input],
      });
      // M_warm's archive is held halfway at the provider; once that half is on disk, the worker dies.
      await double.waitForHeldDownloads(1);
      const [first] = await double.togetherCheckpoints();
      const half = Math.floor(first.size / 2);
      while (partBytes() < half) await sleep(50);
      await stopWorker(worker, 'SIGKILL');
      worker = await startWorker();
      // The successor's attempt asks for the rest, and is held at the same point; then both go on.
      await double.waitForHeldDownloads(2);
      await double.releaseDownloads();
      const result: SemievolRunResult = await handle.result();

      const warm = result.models.warm!;
      const evolved = result.models.evolved;
      expect(result.evaluations.semievol.score.total).toBe(test.length);
      const archives = await double.togetherCheckpoints();
      expect(archives.map((a) => `${a.jobId}-${a.key}`)).toEqual([warm.model, evolved.model]);
      // M_warm's archive: the dead worker's half, then only the other half; M_evol's: once, whole.
      const completed = archives.map((a) => a.served.filter((r) => r.complete));
      expect(completed).toEqual([
        [{ from: half, bytes: first.size - half, complete: true }],
        [{ from: 0, bytes: archives[1].size, complete: true }],
      ]);
      expect(archives[0].served[0]).toMatchObject({ from: 0, bytes: half });
      for (const [archive, model] of [
        [archives[0], warm],
        [archives[1], evolved],
      ] as const) {
        for (const [file, hash] of Object.entries(archive.files))
          expect(sha256(path.join(model.adapter!.path, file))).toBe(hash);
      }
      const { loaded, events } = await double.loraAdapters();
      expect(events.map((e) => [e.action, e.name, e.error])).toEqual([
        ['load', warm.model, null],
        ['load', evolved.model, null],
        ['unload', warm.model, null],
        ['unload', evolved.model, null],
      ]);
      expect(loaded).toEqual([]);
    } finally {
      await stopWorker(worker, 'SIGTERM');
      await connection.close();
    }
  });
});
