// SELF-GUIDE's best epoch, as the authors choose it: each epoch's checkpoint of the OpenAI job (the double's) is scored
// on the task's validation split and the best is the model evaluated on the test split, recorded in the result.
//
// The double's checkpoints move from the base model's accuracy towards the final model's in equal steps, each knowing
// the inputs of the less accurate ones; with a negative fine-tuning gain on data that is mostly right, every epoch
// knows less than the one before, so the first epoch scores best (and wins any tie, being the fewest).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { bestEpoch } from '../../core/selfguide-campaign';
import { defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import { tsArgs } from '../../lib/ts-process';
import { selfGuideMethod } from '../../lib/methods/selfguide';
import { loadConfiguredTask, storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import type { SelfGuidePipeline } from '../../workflows/selfguide-stages';
import { childId } from '../../workflows/shared';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const task = {
  format: 'selfguide-task' as const,
  path: path.resolve(__dirname, '../../../shared/data/selfguide/task1385'),
};
const settings = { inputTemperature: 0.8, inputLengthFilter: true, outputLengthFilter: true, epochs: 3 };

describe('selfGuideRun choosing the best epoch on the validation split', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.9 } }, fineTune: { stepMs: 40, gain: -0.8 } },
    });
  });
  afterAll(async () => double?.stop());

  it("scores each epoch's checkpoint on validation and evaluates the best on the test split", async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const providers: ProvidersConfig = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 2, trainingPerMillionTokens: 0 },
        maxConcurrency: 16,
      },
    };
    const pipeline: SelfGuidePipeline = {
      providers,
      model: { provider: 'double', model: 'sim-model' },
      fineTune: {
        backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
        lora: false,
        maxExampleTokens: 2000,
      },
      generation: { rounds: 3, promptsPerRound: 10, maxTokens: 500, maxPromptTokens: 3000 },
      annotation: { samples: 10, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 100 },
      evaluation: { maxTokens: 64, contextTokens: 4096, rouge: 'words' },
      execution: { shardSize: 10, parallelShards: 2 },
      seed: 0,
    };
    const run = await storeSelfGuideTask(deps.store, task, 20, []);
    const validation = loadConfiguredTask(task, 'validation').test.slice(0, 30);
    const validationSplit = await deps.store.writeJsonl(validation);
    // The double answers the inputs a model knows with their gold output.
    const scored = [...validation, ...(await deps.store.readAll<{ input: string; output: string }>(run.test))];
    await double.setGold(scored.map((i) => ({ question: i.input, answer: i.output, choices: run.task.labels })));

    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `sg-best-epoch-${Date.now()}`;
    const args = [{ runId, ...pipeline, ...run, validationSplit, settings } satisfies SelfGuideRunInput];
    try {
      const result: SelfGuideRunResult = await worker.run(() =>
        client.workflow.execute('selfGuideRun', { taskQueue: worker.taskQueue, workflowId: runId, args }),
      );
      const choice = result.epochChoice!;
      expect(choice.rule).toBe('best-on-validation');
      expect(choice.scores.map((s) => s.epochs)).toEqual([1, 2, 3]);
      // The last epoch's model is the job's own; the others are its checkpoints, each scored on the 30 items.
      const jobs = (await double.requests()).filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs');
      expect(jobs).toHaveLength(2);
      const scores = choice.scores.map((s) => s.score);
      expect(scores[0]).toBeGreaterThanOrEqual(scores[1]);
      expect(scores[1]).toBeGreaterThanOrEqual(scores[2]);
      expect(scores[0]).toBeGreaterThan(scores[2]);
      expect(choice.epochs).toBe(bestEpoch(choice.scores));
      expect(choice.epochs).toBe(1);
      const chosen = choice.scores[0].model;
      expect(chosen.model).not.toBe(choice.scores[2].model.model);

      // SELF-GUIDE on the test split is the chosen checkpoint.
      expect(result.models.selfGuide).toEqual(chosen);
      const selfGuide = result.evaluations[3];
      expect(selfGuide.stage).toBe('evaluate-self-guide');
      expect(selfGuide.model).toEqual(chosen);
      expect(selfGuide.score.total).toBe(20);
      for (const epochs of [1, 2, 3]) {
        const validation = await client.workflow.getHandle(childId(runId, `validate-self-guide-e${epochs}`)).result();
        expect(validation.score.total).toBe(30);
        expect(validation.score.score).toBe(scores[epochs - 1]);
      }

      // What `flt result` prints.
      const listed = scores.map((s, i) => `${i + 1}: ${(100 * s).toFixed(1)}`).join(', ');
      expect(selfGuideMethod.summarize(result)).toContain(
        `SELF-GUIDE epoch: 1, the best on the validation split (${listed})`,
      );
    } finally {
      await close();
    }
  });

  /** A run whose model is `model` (default the double's `sim-model`), trained by the fake LoRA trainer. */
  async function commandTrainerRun(model: SelfGuideRunInput['model'] = { provider: 'vllm', model: 'sim-model' }) {
    const root = path.resolve(__dirname, '../..');
    const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
    const trainerCommand = [process.execPath, ...tsArgs(path.resolve(root, 'test/support/fake-lora-trainer.ts'))]
      .map(shellQuote)
      .join(' ');
    const baseGguf = path.resolve(root, '../shared/models/llama-2-tiny-random.gguf');
    const deps = tempDeps({ ...process.env, FLT_TEST_KEY: 'k', FLT_BASE_GGUF: baseGguf });
    const pipeline: SelfGuidePipeline = {
      providers: {
        vllm: {
          kind: 'openai-compatible',
          baseURL: double.baseURL,
          apiKeyEnv: 'FLT_TEST_KEY',
          testDouble: true,
          requestTimeoutSeconds: 30,
          prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
          maxConcurrency: 16,
        },
      },
      model: { provider: 'vllm', model: 'sim-model' },
      fineTune: {
        backend: {
          kind: 'command',
          command: trainerCommand,
          provider: 'vllm',
          servedModel: '{job}',
          pollIntervalSeconds: 0.2,
          serve: 'vllm',
        },
        lora: true,
        maxExampleTokens: 2000,
      },
      generation: { rounds: 2, promptsPerRound: 10, maxTokens: 500, maxPromptTokens: 3000 },
      annotation: { samples: 10, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 100 },
      evaluation: { maxTokens: 64, contextTokens: 4096, rouge: 'words' },
      execution: { shardSize: 10, parallelShards: 2 },
      seed: 0,
    };
    const run = await storeSelfGuideTask(deps.store, task, 10, []);
    const validationSplit = await deps.store.writeJsonl(loadConfiguredTask(task, 'validation').test.slice(0, 10));
    const loraBefore = (await double.loraAdapters()).events.length;

    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `sg-best-epoch-cmd-${Date.now()}`;
    const args = [{ runId, ...pipeline, model, ...run, validationSplit, settings: { ...settings, epochs: 2 } }];
    try {
      const result: SelfGuideRunResult = await worker.run(() =>
        client.workflow.execute('selfGuideRun', { taskQueue: worker.taskQueue, workflowId: runId, args }),
      );
      return { result, loraBefore };
    } finally {
      await close();
    }
  }

  it("serves a command trainer's per-epoch adapters for validation, keeps the best and unloads them", async () => {
    const { result, loraBefore } = await commandTrainerRun();
    {
      const choice = result.epochChoice!;
      expect(choice.scores.map((s) => s.epochs)).toEqual([1, 2]);
      expect(choice.epochs).toBe(bestEpoch(choice.scores));
      // An adapter answers as its base model in the double: the epochs tie, and the fewest wins.
      expect(choice.epochs).toBe(1);
      const [first, last] = choice.scores.map((s) => s.model);
      expect(first.model).toBe(`${last.model}-epoch-1`);
      expect(first.adapter!.path).toMatch(/checkpoints\/epoch-1$/);
      expect(result.models.selfGuide).toEqual(first);
      expect(result.evaluations[3].model).toEqual(first);

      // The first epoch's adapter was loaded for its evaluations and, like every adapter of the run, unloaded.
      const { loaded, events } = await double.loraAdapters();
      const lora = events.slice(loraBefore).filter((e) => e.error === null);
      expect(lora.filter((e) => e.action === 'load').map((e) => e.name)).toContain(first.model);
      expect(lora.filter((e) => e.action === 'unload').map((e) => e.name)).toContain(first.model);
      expect(loaded).toEqual([]);
    }
  });

  it('chooses among the epochs of a trainer that continued a configured adapter', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-best-epoch-lora-'));
    const adapterFile = path.join(dir, 'finance.gguf');
    writeLoraAdapter(path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf'), adapterFile, {
      ...defaultLoraSpec,
      seed: 'configured',
    });
    try {
      const lora = { path: adapterFile, serve: 'vllm' as const, baseModel: 'sim-model', continue: true };
      const { result } = await commandTrainerRun({ provider: 'vllm', model: 'finance', lora });
      const choice = result.epochChoice!;
      expect(choice.scores.map((s) => s.epochs)).toEqual([1, 2]);
      expect(choice.scores[0]!.model.adapter!.path).toMatch(/checkpoints\/epoch-1$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
