// A SemiEvol run whose fine-tunes are the `command` backend running the fake LoRA trainer, with `serve: vllm`
// against the provider double's vLLM routes: each adapter is loaded once per serving-server lifetime, stages call
// it by name, and the run unloads it at the end; a serving restart mid-run is healed by the next stage's re-load.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { ProvidersConfig } from '../../core/config';
import { semievolOptionsSchema } from '../../core/semievol-config';
import type { McqItem } from '../../core/types';
import { controlQuery, pauseSignal, progressQuery, unpauseSignal } from '../../core/workflow-messages';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { fakeTrainerCommand, manifestFileName } from '../support/fake-lora-trainer';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const baseGguf = path.resolve(root, '../shared/models/llama-2-tiny-random.gguf');
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

describe('semievolRun with adapters served on vLLM', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  // The fake trainer needs a GGUF base to shape its adapter; the run's base model is the double's `sim-model`.
  const deps = tempDeps({ ...process.env, FLT_TEST_KEY: 'k', FLT_BASE_GGUF: baseGguf });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } } },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
    providers = {
      'local-vllm': {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 8,
      },
    };
  });
  afterAll(async () => double?.stop());

  /** The double's LoRA history outlives restarts: each test reads only the events after its own start. */
  let seen = 0;
  const loraNow = async () => {
    const { loaded, events } = await double.loraAdapters();
    return { loaded, events: events.slice(seen) };
  };

  beforeEach(async () => {
    await double.restartLoraServing();
    await double.clearRequests();
    seen = (await double.loraAdapters()).events.length;
  });

  const input = async (runId: string): Promise<SemievolRunInput> => ({
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
        kind: 'command',
        command: fakeTrainerCommand,
        provider: 'local-vllm',
        servedModel: '{job}',
        pollIntervalSeconds: 0.2,
        serve: 'vllm',
      },
      hyperparameters: { epochs: 1 },
      finalHyperparameters: { epochs: 1 },
    },
    options: semievolOptionsSchema.parse({
      propagation: { k: 0 },
      collaboration: { maxTokens: 32 },
      justification: { maxTokens: 32 },
      // M_evol continues from M_warm's adapter: the trainer gets FLT_INIT_ADAPTER.
      evolution: { from: 'warm' },
    }),
    sampling: { temperature: 0, maxTokens: 32, seed: 5 },
    execution: { shardSize: 20, parallelShards: 2 },
  });

  const successfulLoads = async () => (await loraNow()).events.filter((e) => e.action === 'load' && e.error === null);

  it('loads each adapter once, calls it by name in every stage, and unloads both at the end', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `semievol-serving-${Date.now()}`;
    try {
      const args = [await input(runId)];
      const result: SemievolRunResult = await worker.run(() =>
        client.workflow.execute('semievolRun', { taskQueue: worker.taskQueue, workflowId: runId, args }),
      );
      const warm = result.models.warm!;
      const evolved = result.models.evolved;
      expect(warm).toMatchObject({ provider: 'local-vllm', serving: { engine: 'vllm', provider: 'local-vllm' } });
      expect(warm.model).toMatch(/^flt-/);
      expect(warm.adapter).toEqual({
        name: warm.model,
        path: expect.stringContaining(warm.model),
        // Stored by its trainer's host, for hosts that cannot see the job's folder.
        archive: { ref: expect.objectContaining({ count: expect.any(Number) }), root: warm.adapter!.path },
      });
      expect(evolved.model).not.toBe(warm.model);
      // M_evol was trained on from M_warm's adapter file, on the base model's name rather than the adapter's.
      const manifest = JSON.parse(fs.readFileSync(path.join(evolved.adapter!.path, manifestFileName), 'utf8'));
      expect(manifest).toMatchObject({ initAdapter: warm.adapter!.path, baseModel: 'sim-model' });

      const { loaded, events } = await loraNow();
      const lora = events.filter((e) => e.action !== 'restart');
      expect(lora.map((e) => [e.action, e.name, e.error])).toEqual([
        ['load', warm.model, null],
        ['load', evolved.model, null],
        ['unload', warm.model, null],
        ['unload', evolved.model, null],
      ]);
      expect(loaded).toEqual([]);

      // Stages name the adapters: collaborators and justification through M_warm, evaluations of both.
      const chats = (await double.requests()).filter((r) => r.path === '/v1/chat/completions');
      expect(chats.filter((r) => r.model === warm.model).length).toBeGreaterThan(test.length);
      expect(chats.filter((r) => r.model === evolved.model).length).toBeGreaterThanOrEqual(test.length);
      expect(chats.every((r) => r.status === 200)).toBe(true);
      expect(result.evaluations.semievol.score.total).toBe(test.length);
    } finally {
      await close();
    }
  });

  it('unloads the adapters it loaded when the run is cancelled', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `semievol-serving-cancel-${Date.now()}`;
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId)],
        });
        // Once the run holds M_warm (the warm-up stage is done), cancel it.
        const warmUpDone = async () =>
          (await handle.query(progressQuery)).stages.find((s) => s.stage === 'warm-up')?.done === 1;
        while (!(await warmUpDone())) await sleep(100);
        await handle.cancel();
        await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      });
      const { loaded, events } = await loraNow();
      expect(loaded).toEqual([]);
      const loads = events.filter((e) => e.action === 'load' && e.error === null);
      expect(loads).toHaveLength(1);
      expect(events.filter((e) => e.action === 'unload' && e.error === null).map((e) => e.name)).toEqual([
        loads[0]!.name,
      ]);
    } finally {
      await close();
    }
  });

  it('re-loads an adapter that a restarted serving server forgot, and completes', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `semievol-serving-restart-${Date.now()}`;
    try {
      const result: SemievolRunResult = await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(runId)],
        });
        // Once M_warm is served, pause the run at its next stage boundary and restart the serving server there.
        while ((await successfulLoads()).length === 0) await sleep(100);
        await handle.signal(pauseSignal);
        for (;;) {
          const { raw } = await handle.describe();
          const busy = (raw.pendingActivities?.length ?? 0) + (raw.pendingChildren?.length ?? 0);
          if (busy === 0 && (await handle.query(controlQuery)).paused) break;
          await sleep(200);
        }
        expect(await double.restartLoraServing()).toBe(1);
        await handle.signal(unpauseSignal);
        return handle.result();
      });
      const warm = result.models.warm!;
      const loads = (await successfulLoads()).map((e) => e.name);
      // M_warm twice (once per serving-server lifetime), M_evol once.
      expect(loads.filter((name) => name === warm.model)).toHaveLength(2);
      expect(loads.filter((name) => name === result.models.evolved.model)).toHaveLength(1);
      expect((await loraNow()).loaded).toEqual([]);
      const chats = (await double.requests()).filter((r) => r.path === '/v1/chat/completions');
      expect(chats.every((r) => r.status === 200)).toBe(true);
    } finally {
      await close();
    }
  });

  it('re-loads an adapter that the serving server forgot in the middle of a stage, and completes', async () => {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `semievol-serving-midstage-${Date.now()}`;
    const provider = providers['local-vllm']!;
    try {
      // Collaborate's calls through M_base wait, filling every slot the provider allows (8); probes through M_warm
      // go on. The serving server restarts while the stage is stuck there.
      await double.holdModelCalls({ model: 'sim-model' });
      const result: SemievolRunResult = await worker.run(async () => {
        const handle = await client.workflow.start('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          // Salted: the earlier tests' answers, in the shared response cache, would keep the calls from the double.
          args: [{ ...(await input(runId)), providers: { 'local-vllm': { ...provider, cacheSalt: 'mid-stage' } } }],
        });
        await double.waitForHeldModelCalls(8);
        expect(await double.restartLoraServing()).toBe(1);
        await double.releaseModelCalls();
        return handle.result();
      });
      const warm = result.models.warm!;
      // Collaborate's calls through M_warm met vLLM's 404; the adapter was loaded again and they were answered.
      const chats = (await double.requests()).filter((r) => r.path === '/v1/chat/completions');
      expect(chats.some((r) => r.model === warm.model && r.status === 404)).toBe(true);
      const loads = (await successfulLoads()).map((e) => e.name);
      expect(loads.filter((name) => name === warm.model)).toHaveLength(2);
      expect(loads.filter((name) => name === result.models.evolved.model)).toHaveLength(1);
      expect((await loraNow()).loaded).toEqual([]);
      expect(result.evaluations.semievol.score.total).toBe(test.length);
    } finally {
      await double.releaseModelCalls();
      await close();
    }
  });
});
