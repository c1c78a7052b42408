// A SemiEvol run whose fine-tunes are Together jobs whose adapters are downloaded and served on the run's own vLLM
// (`serve: download`), on the real dev server against the provider double (Together's API and vLLM's adapter routes):
// each job's checkpoint is downloaded once, even when the first download breaks midway, loaded from the job
// directory, called by the stages and unloaded at the end; a run cancelled mid-download loads nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { ProvidersConfig } from '../../core/config';
import { semievolOptionsSchema } from '../../core/semievol-config';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const fpb = (split: string) =>
  loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`), {
    requireAnswer: split !== 'unlabeled',
  }).items;
const labeled = fpb('labeled').slice(0, 20);
const unlabeled = fpb('unlabeled').slice(0, 40);
const test = fpb('test').slice(0, 20);
const gold = (items: McqItem[]) =>
  items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] }));

describe('semievolRun with Together checkpoints downloaded and served on vLLM', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });
  const provider = (baseURL: string) => ({
    kind: 'openai-compatible' as const,
    baseURL,
    apiKeyEnv: 'FLT_TEST_KEY',
    testDouble: true,
    requestTimeoutSeconds: 30,
    prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
    maxConcurrency: 8,
  });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 100 } },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
    providers = { together: provider(double.togetherBaseURL), 'local-vllm': provider(double.baseURL) };
  });
  afterAll(async () => double?.stop());
  afterEach(async () => {
    await double.releaseDownloads();
    await double.configure({ checkpointDownloads: { cutMidway: 0 } });
  });

  /** Jobs are found by what they train on: another `epochs` makes jobs no earlier test created. */
  const input = async (runId: string, epochs: number): Promise<SemievolRunInput> => ({
    runId,
    task: 'fpb',
    providers,
    model: { provider: 'local-vllm', model: 'sim-model' },
    data: {
      labeled: await deps.store.writeJsonl(labeled),
      unlabeled: await deps.store.writeJsonl(unlabeled.map((i) => ({ ...i, answer: null }))),
      unlabeledGold: await deps.store.writeJsonl(unlabeled.map(({ id, answer }) => ({ id, answer }))),
      test: await deps.store.writeJsonl(test),
    },
    fineTune: {
      backend: {
        kind: 'together',
        baseURL: double.togetherBaseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        provider: 'together',
        pollIntervalSeconds: 0.1,
        serve: 'download',
        download: { checkpoint: 'adapter', engine: 'vllm', provider: 'local-vllm' },
      },
      hyperparameters: { epochs },
      finalHyperparameters: { epochs },
    },
    options: semievolOptionsSchema.parse({
      propagation: { k: 0 },
      collaboration: { maxTokens: 32 },
      justification: { maxTokens: 32 },
    }),
    sampling: { temperature: 0, maxTokens: 32, seed: 5 },
    execution: { shardSize: 20, parallelShards: 2 },
  });

  it('downloads each checkpoint once (the first continued after breaking midway), serves and unloads it', async () => {
    await double.configure({ checkpointDownloads: { cutMidway: 1 } });
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `td-${Date.now() % 1e7}`;
    try {
      await double.clearRequests();
      const before = (await double.loraAdapters()).events.length;
      const result: SemievolRunResult = await worker.run(async () =>
        client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 1)],
        }),
      );
      const warm = result.models.warm!;
      const evolved = result.models.evolved;
      for (const model of [warm, evolved]) {
        expect(model).toMatchObject({ provider: 'local-vllm', serving: { engine: 'vllm', provider: 'local-vllm' } });
        expect(model.model).toMatch(/^ft-.*-adapter$/);
        expect(model.adapter!.path.startsWith(deps.jobsDir)).toBe(true);
        expect(fs.existsSync(path.join(model.adapter!.path, 'adapter_config.json'))).toBe(true);
      }

      // Each archive went over the wire once: the broken first download was continued from where it broke (less
      // what the client had not read when the connection closed), never restarted.
      const archives = await double.togetherCheckpoints();
      expect(archives.map((a) => `${a.jobId}-${a.key}`).sort()).toEqual([evolved.model, warm.model].sort());
      const [broken, whole] = [...archives].sort((a, b) => b.served.length - a.served.length);
      expect(whole.served).toEqual([{ from: 0, bytes: whole.size, complete: true }]);
      expect(broken.served.map((r) => r.complete)).toEqual([false, true]);
      const [cut, rest] = broken.served;
      expect(rest.from).toBeGreaterThan(0);
      expect(rest.from).toBeLessThanOrEqual(cut.bytes);
      expect(rest.from + rest.bytes).toBe(broken.size);

      const { loaded, events } = await double.loraAdapters();
      expect(events.slice(before).map((e) => [e.action, e.name, e.error])).toEqual([
        ['load', warm.model, null],
        ['load', evolved.model, null],
        ['unload', warm.model, null],
        ['unload', evolved.model, null],
      ]);
      expect(loaded).toEqual([]);
      const chats = (await double.requests()).filter((r) => r.path === '/v1/chat/completions');
      expect(chats.filter((r) => r.model === warm.model).length).toBeGreaterThan(test.length);
      expect(chats.filter((r) => r.model === evolved.model).length).toBeGreaterThanOrEqual(test.length);
      expect(chats.every((r) => r.status === 200)).toBe(true);
    } finally {
      await close();
    }
  });

  it('loads nothing when the run is cancelled while a checkpoint downloads', async () => {
    await double.holdDownloads();
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `tdc-${Date.now() % 1e7}`;
    try {
      const before = (await double.loraAdapters()).events.length;
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 2)],
        });
        await double.waitForHeldDownloads(1);
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      });
      expect((await double.loraAdapters()).events.slice(before)).toEqual([]);
    } finally {
      await close();
    }
  });
});
