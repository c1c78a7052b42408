// A SemiEvol run whose fine-tunes are Fireworks jobs served through a deployment (`serve: deployment`), on the real
// dev server against the provider double: the run creates one deployment of the base model with addons enabled
// (once, even when the create's answer is lost), loads each LoRA onto it, calls each as `model#deployment`, and at
// its end unloads the LoRAs and deletes the deployment; a run cancelled while the deployment is created deletes it.
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const account = 'flt-deploy';

describe('semievolRun with LoRAs served on a Fireworks deployment', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 100 } },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
    providers = {
      fireworks: {
        kind: 'openai-compatible',
        baseURL: double.fireworksInferenceURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 8,
      },
    };
  });
  afterAll(async () => double?.stop());
  afterEach(async () => {
    await double.releaseModelCalls();
    await double.configure({ fireworksDeployments: { holdCreating: false }, faults: { rate: 0 }, failNextJobs: 0 });
  });

  /** Jobs are found by what they train on: another `epochs` makes jobs no earlier test created. */
  const input = async (runId: string, epochs: number): Promise<SemievolRunInput> => ({
    runId,
    task: 'fpb',
    providers,
    model: { provider: 'fireworks', model: 'sim-model' },
    data: {
      labeled: await deps.store.writeJsonl(labeled),
      unlabeled: await deps.store.writeJsonl(unlabeled.map((i) => ({ ...i, answer: null }))),
      unlabeledGold: await deps.store.writeJsonl(unlabeled.map(({ id, answer }) => ({ id, answer }))),
      test: await deps.store.writeJsonl(test),
    },
    fineTune: {
      backend: {
        kind: 'fireworks',
        baseURL: double.fireworksBaseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        account,
        provider: 'fireworks',
        pollIntervalSeconds: 0.1,
        serve: 'deployment',
        deployment: { minReplicas: 1, maxReplicas: 1 },
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

  /** This run's deployments (their ids derive from the run id), as the double holds them now. */
  const deploymentsOf = async (runId: string) =>
    (await double.fireworksDeployments()).deployments.filter((d) => d.name.includes(`/flt-${runId}-`));
  /** Waits until every deployment of this run is deleted: deleting takes one step of the double's clock. */
  async function allDeleted(runId: string) {
    while ((await deploymentsOf(runId)).some((d) => d.state !== 'DELETED')) await sleep(50);
    return deploymentsOf(runId);
  }

  it('loads both LoRAs onto one deployment it creates once, calls them there, and deletes it at the end', async () => {
    const deploymentsPath = `^/fireworks/v1/accounts/${account}/deployments$`;
    await double.configure({
      faults: { rate: 1, kinds: ['lost-reply'], paths: deploymentsPath, methods: ['POST'], limit: 1 },
    });
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `fd-${Date.now() % 1e7}`;
    try {
      await double.clearRequests();
      const result: SemievolRunResult = await worker.run(async () =>
        client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 1)],
        }),
      );
      const [deployment] = await allDeleted(runId);
      expect(await deploymentsOf(runId)).toHaveLength(1);
      const warm = result.models.warm!;
      const evolved = result.models.evolved;
      for (const model of [warm, evolved]) {
        expect(model.model).toMatch(new RegExp(`^accounts/${account}/models/flt-c.*#${deployment.name}$`));
        expect(model.endpoint).toMatchObject({ id: deployment.name, fireworks: { ownsDeployment: true } });
      }
      expect((await double.fireworksDeployments()).deployedModels).toEqual([]);

      const requests = await double.requests();
      const creates = requests.filter((r) => r.method === 'POST' && new RegExp(deploymentsPath).test(r.path));
      // The first create took effect but its answer was lost; its retry, and M_evol's start, were refused (409)
      // and followed the deployment it made.
      expect(creates.map((r) => [r.status, r.fault])).toEqual([
        [0, 'lost-reply'],
        [409, null],
        [409, null],
      ]);
      const loads = requests.filter((r) => r.method === 'POST' && r.path.endsWith('/deployedModels'));
      expect(loads.filter((r) => r.status === 200)).toHaveLength(2);
      // Released at the end: a LoRA unloaded, then the deployment deleted once, taking the other LoRA with it.
      const deletes = requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').at(-2));
      expect(deletes).toEqual(['deployedModels', 'deployments']);
      const chats = requests.filter((r) => r.path === '/fireworks/inference/v1/chat/completions');
      expect(chats.filter((r) => r.model === warm.model).length).toBeGreaterThan(test.length);
      expect(chats.filter((r) => r.model === evolved.model).length).toBeGreaterThanOrEqual(test.length);
      expect(chats.every((r) => r.status === 200)).toBe(true);
    } finally {
      await close();
    }
  });

  it('deletes the deployment it created when the run fails afterwards', async () => {
    await double.configure({ fireworksDeployments: { holdCreating: true } });
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `fdf-${Date.now() % 1e7}`;
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 3)],
        });
        // Once M_warm answers on the deployment and a stage calls it, the next fine-tune job (M_evol's) will fail.
        while (!(await deploymentsOf(runId)).some((d) => d.state === 'CREATING')) await sleep(50);
        await double.holdModelCalls();
        await double.configure({ fireworksDeployments: { holdCreating: false } });
        await double.waitForHeldModelCalls(1);
        await double.configure({ failNextJobs: 1 });
        await double.releaseModelCalls();
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      });
      expect((await allDeleted(runId)).map((d) => d.state)).toEqual(['DELETED']);
      expect((await double.fireworksDeployments()).deployedModels).toEqual([]);
      const history = await client.workflow.getHandle(runId).fetchHistory();
      expect(JSON.stringify(history)).toMatch(/simulated training failure/);
    } finally {
      await close();
    }
  });

  it('deletes the deployment when the run is cancelled while the deployment is being created', async () => {
    await double.configure({ fireworksDeployments: { holdCreating: true } });
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `fdc-${Date.now() % 1e7}`;
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 2)],
        });
        while (!(await deploymentsOf(runId)).some((d) => d.state === 'CREATING')) await sleep(50);
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      });
      expect((await allDeleted(runId)).map((d) => d.state)).toEqual(['DELETED']);
    } finally {
      await close();
    }
  });
});
