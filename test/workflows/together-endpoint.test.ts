// A SemiEvol run whose fine-tunes are Together jobs served through dedicated endpoints (`serve: endpoint`), on the
// real dev server against the provider double: each trained model gets exactly one endpoint, stages call the model
// through it, and the run stops every endpoint it started when it succeeds, is cancelled, or fails.
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
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

describe('semievolRun with models served on Together dedicated endpoints', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 100 } },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
    providers = {
      together: {
        kind: 'openai-compatible',
        baseURL: double.togetherBaseURL,
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
    await double.configure({ togetherEndpoints: { holdStarting: false }, failNextJobs: 0 });
  });

  /** Jobs are found by what they train on: another `evolveEpochs` makes M_evol's job one no earlier test created. */
  const input = async (runId: string, evolveEpochs = 1): Promise<SemievolRunInput> => ({
    runId,
    task: 'fpb',
    providers,
    model: { provider: 'together', model: 'sim-model' },
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
        serve: 'endpoint',
        endpoint: { hardware: '1x_nvidia_h100_80gb_sxm', minReplicas: 1, maxReplicas: 1 },
      },
      hyperparameters: { epochs: 1 },
      finalHyperparameters: { epochs: evolveEpochs },
    },
    options: semievolOptionsSchema.parse({
      propagation: { k: 0 },
      collaboration: { maxTokens: 32 },
      justification: { maxTokens: 32 },
    }),
    sampling: { temperature: 0, maxTokens: 32, seed: 5 },
    execution: { shardSize: 20, parallelShards: 2 },
  });

  /** This run's endpoints, as the double holds them now (run ids are short enough to be kept whole in the tag). */
  const endpointsOf = async (runId: string) =>
    (await double.togetherEndpoints()).filter((e) => e.displayName.startsWith(`flt-${runId}-`));
  /** Waits until this run has an endpoint in `state` (the jest timeout bounds it), and returns it. */
  async function endpointIn(runId: string, state: string) {
    for (;;) {
      const found = (await endpointsOf(runId)).find((e) => e.state === state);
      if (found) return found;
      await sleep(50);
    }
  }
  /** Waits until every endpoint of this run is STOPPED: stopping takes one step of the double's clock. */
  async function allStopped(runId: string) {
    while ((await endpointsOf(runId)).some((e) => e.state !== 'STOPPED')) await sleep(50);
    return endpointsOf(runId);
  }

  it('starts one endpoint per trained model, calls the models through them, and stops both at the end', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `te-${Date.now() % 1e7}`;
    try {
      await double.clearRequests();
      const result: SemievolRunResult = await worker.run(async () =>
        client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId)],
        }),
      );
      const warm = result.models.warm!;
      const evolved = result.models.evolved;
      const endpoints = await allStopped(runId);
      expect(endpoints.map((e) => e.displayName).sort()).toEqual([`flt-${runId}-evolve`, `flt-${runId}-warm-up`]);
      expect(endpoints.map((e) => e.name).sort()).toEqual([evolved.model, warm.model].sort());
      expect(warm.endpoint?.id).toBe(endpoints.find((e) => e.name === warm.model)!.id);

      const requests = await double.requests();
      const creates = requests.filter((r) => r.method === 'POST' && r.path === '/together/v1/endpoints');
      expect(creates).toHaveLength(2);
      const stops = requests.filter((r) => r.method === 'PATCH' && r.path.startsWith('/together/v1/endpoints/'));
      expect(stops).toHaveLength(2);
      // Stages name the endpoints, and each call was answered: a chat naming an endpoint not started is refused.
      const chats = requests.filter((r) => r.path === '/together/v1/chat/completions');
      expect(chats.filter((r) => r.model === warm.model).length).toBeGreaterThan(test.length);
      expect(chats.filter((r) => r.model === evolved.model).length).toBeGreaterThanOrEqual(test.length);
      expect(chats.every((r) => r.status === 200)).toBe(true);
    } finally {
      await close();
    }
  });

  it("counts each endpoint's minutes from its start as estimated time-billed spend, stage by stage", async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `tm-${Date.now() % 1e7}`;
    const endpointPerMinute = 0.06;
    const priced = {
      together: {
        ...providers.together!,
        prices: { ...providers.together!.prices, endpointPerMinute, tokensPerSecond: 100 },
      },
    };
    try {
      const { result, handle } = await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [{ ...(await input(runId)), providers: priced }],
        });
        return { result: (await handle.result()) as SemievolRunResult, handle };
      });
      // The worker's clock readings around each stage, in stage order: warm-up, collaborate, justify, select, ...
      const { events } = await handle.fetchHistory();
      const reads = (events ?? [])
        .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
        .map((e) =>
          defaultPayloadConverter.fromPayload<number>(e.markerRecordedEventAttributes!.details!.result!.payloads![0]!),
        );
      const stages = ['warm-up', 'collaborate', 'justify', 'select', 'evolve', 'evaluate', 'diagnose'];
      expect(reads).toHaveLength(2 * stages.length);
      const billed = (stage: string) => result.costs.find((c) => c.stage === stage)?.usage.timeBilledUsd ?? 0;
      const minutes = (from: number, to: number) => (to - from) / 60_000;
      // Warm-up calls nothing: M_warm's endpoint bills from its start to the stage's end.
      const startedAt = result.models.warm!.endpoint!.startedAt!;
      expect(startedAt).toBeGreaterThanOrEqual(reads[0]!);
      expect(billed('warm-up')).toBeCloseTo(minutes(startedAt, reads[1]!) * endpointPerMinute, 12);
      // Selection calls nothing and is not paid for, but M_warm's endpoint is up all through it.
      expect(billed('select')).toBeCloseTo(minutes(reads[6]!, reads[7]!) * endpointPerMinute, 12);
      const total = result.costs.reduce((sum, c) => sum + (c.usage.timeBilledUsd ?? 0), 0);
      expect(result.usage.timeBilledUsd).toBeCloseTo(total, 12);
      expect(result.usage.costUsd).toBeCloseTo(total, 12); // the calls are free per token here
    } finally {
      await close();
    }
  });

  it('stops the endpoint when the run is cancelled while the endpoint is starting', async () => {
    await double.configure({ togetherEndpoints: { holdStarting: true } });
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `tec-${Date.now() % 1e7}`;
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId)],
        });
        await endpointIn(runId, 'STARTING');
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      });
      const endpoints = await allStopped(runId);
      expect(endpoints.map((e) => e.displayName)).toEqual([`flt-${runId}-warm-up`]);
    } finally {
      await close();
    }
  });

  it('stops the endpoint it started when the run fails afterwards', async () => {
    await double.configure({ togetherEndpoints: { holdStarting: true } });
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `tef-${Date.now() % 1e7}`;
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId, 2)],
        });
        // Once M_warm's endpoint answers and a stage calls it, the next fine-tune job (M_evol's) will fail.
        const warm = await endpointIn(runId, 'STARTING');
        await double.holdModelCalls({ model: warm.name });
        await double.configure({ togetherEndpoints: { holdStarting: false } });
        await double.waitForHeldModelCalls(1);
        await double.configure({ failNextJobs: 1 });
        await double.releaseModelCalls();
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      });
      const endpoints = await allStopped(runId);
      expect(endpoints.map((e) => e.displayName)).toEqual([`flt-${runId}-warm-up`]);
      const history = await client.workflow.getHandle(runId).fetchHistory();
      expect(JSON.stringify(history)).toMatch(/simulated training failure/);
    } finally {
      await close();
    }
  });
});
