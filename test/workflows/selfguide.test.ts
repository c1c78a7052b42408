// A SELF-GUIDE run end to end on the real dev server: a classification and a generation task against the provider
// test double (OpenAI fine-tuning jobs), and both through the embedded llama.cpp path with the in-context backend.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ProvidersConfig } from '../../core/config';
import { storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import type { SelfGuidePipeline } from '../../workflows/selfguide-stages';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, temporalAddress, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const taskDir = (name: string) => path.resolve(__dirname, '../../../shared/data/selfguide', name);
const settings = { inputTemperature: 0.8, inputLengthFilter: true, outputLengthFilter: true, epochs: 2 };

describe('selfGuideRun against the provider test double', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 40, gain: 0.4 } },
    });
  });
  afterAll(async () => double?.stop());

  it('generates, filters, annotates, fine-tunes and evaluates a classification and a generation task', async () => {
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
      generation: { rounds: 4, promptsPerRound: 10, maxTokens: 500, maxPromptTokens: 3000 },
      annotation: { samples: 10, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 100 },
      evaluation: { maxTokens: 64, contextTokens: 4096, rouge: 'words' },
      execution: { shardSize: 10, parallelShards: 2 },
      seed: 0,
    };
    const notes: string[] = [];
    const classification = await storeSelfGuideTask(
      deps.store,
      { format: 'selfguide-task', path: taskDir('task1385') },
      20,
      notes,
    );
    const generation = await storeSelfGuideTask(
      deps.store,
      { format: 'selfguide-task', path: taskDir('task036') },
      20,
      notes,
    );
    const testItems = async (ref: typeof classification.test) =>
      deps.store.readAll<{ input: string; output: string }>(ref);
    await double.setGold([
      ...(await testItems(classification.test)).map((i) => ({
        question: i.input,
        answer: i.output,
        choices: classification.task.labels,
      })),
      ...(await testItems(generation.test)).map((i) => ({ question: i.input, answer: i.output })),
    ]);

    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const stamp = Date.now();
    const start = (runId: string, run: typeof classification) =>
      client.workflow.start('selfGuideRun', {
        taskQueue: worker.taskQueue,
        workflowId: runId,
        args: [{ runId, ...pipeline, ...run, settings } satisfies SelfGuideRunInput],
      });
    try {
      await worker.run(async () => {
        const handles = [await start(`sg-cls-${stamp}`, classification), await start(`sg-gen-${stamp}`, generation)];
        const [cls, gen]: SelfGuideRunResult[] = await Promise.all(handles.map((h) => h.result()));

        for (const result of [cls, gen]) {
          const f = result.inputs.filters;
          expect(result.inputs.generated).toBe(40);
          expect(f.kept + f.empty + f.noise + f.length + f.duplicate).toBe(40);
          expect(f.kept).toBeGreaterThan(10);
          expect(result.synthetic.pairs).toBeGreaterThan(3);
          expect(result.evaluations.map((e) => e.stage)).toEqual([
            'evaluate-few-shot',
            'evaluate-self-icl',
            'evaluate-few-shot-fine-tune',
            'evaluate-self-guide',
          ]);
          expect(result.evaluations.every((e) => e.score.total === 20)).toBe(true);
          expect(result.models.selfGuide.model).toMatch(/^ft:sim-model/);
          expect(result.models.fewShotFineTune.model).toMatch(/^ft:sim-model/);
          expect(result.usage.costUsd).toBeGreaterThan(0);
        }
        expect(cls.settings.outputLengthFilter).toBe(false);
        expect(cls.evaluations[0].score.metric).toBe('exact-match');
        expect(gen.evaluations[0].score.metric).toBe('rouge-l');
        // SELF-GUIDE trains on more (mostly right) pairs than few-shot fine-tuning's handful of gold examples.
        expect(cls.evaluations[3].score.score).toBeGreaterThanOrEqual(cls.evaluations[2].score.score);

        const creates = (await double.requests()).filter(
          (r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs',
        );
        expect(creates).toHaveLength(4);
        const described = await handles[0].describe();
        expect(described.typedSearchAttributes.getAll().find((a) => a.key.name === 'FltStage')?.value).toBe('done');
        expect(described.typedSearchAttributes.getAll().find((a) => a.key.name === 'FltAccuracy')?.value).toBeCloseTo(
          cls.evaluations[3].score.score,
          10,
        );

        // `flt list` names each run's score by its metric, read from its result.
        const scores = new Map<string, string>();
        for (let attempt = 0; attempt < 100 && scores.size < 2; attempt++) {
          const { stdout } = await promisify(execFile)(
            path.join(root, 'node_modules/.bin/tsx'),
            [path.join(root, 'client.ts'), 'list', '--method', 'selfguide', '--stage', 'done', '--limit', '1000'],
            { env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress() } },
          );
          for (const row of stdout.split('\n').map((line) => line.split('\t')))
            if (row[0] === `sg-cls-${stamp}` || row[0] === `sg-gen-${stamp}`) scores.set(row[0], row[5]);
          if (scores.size < 2) await new Promise((r) => setTimeout(r, 200));
        }
        expect(scores.get(`sg-cls-${stamp}`)).toBe(`exact-match ${cls.evaluations[3].score.score.toFixed(3)}`);
        expect(scores.get(`sg-gen-${stamp}`)).toBe(`rouge-l ${gen.evaluations[3].score.score.toFixed(3)}`);
      });
    } finally {
      await close();
    }
  });
});

describe('selfGuideRun on the embedded llama.cpp path', () => {
  it('runs both task kinds through the tiny GGUF model with the in-context fine-tune backend', async () => {
    const deps = tempDeps();
    const pipeline: SelfGuidePipeline = {
      providers: {
        local: {
          kind: 'llama-cpp',
          modelPath: path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf'),
          contextSize: 2048,
          gpu: false,
          threads: 1,
          maxConcurrency: 1,
        },
      },
      model: { provider: 'local', model: 'tiny-random' },
      fineTune: { backend: { kind: 'in-context', k: 2 }, lora: false, maxExampleTokens: 2000 },
      generation: { rounds: 1, promptsPerRound: 2, maxTokens: 12, maxPromptTokens: 3000 },
      annotation: { samples: 3, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 6 },
      evaluation: { maxTokens: 6, contextTokens: 2048, rouge: 'words' },
      execution: { shardSize: 2, parallelShards: 1 },
      seed: 1,
    };
    const notes: string[] = [];
    const runs = [
      await storeSelfGuideTask(deps.store, { format: 'selfguide-task', path: taskDir('task190') }, 2, notes),
      await storeSelfGuideTask(deps.store, { format: 'selfguide-task', path: taskDir('task036') }, 2, notes),
    ];
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      await worker.run(async () => {
        for (const run of runs) {
          const runId = `sg-llama-${run.task.name}-${Date.now()}`;
          const result: SelfGuideRunResult = await client.workflow.execute('selfGuideRun', {
            taskQueue: worker.taskQueue,
            workflowId: runId,
            args: [
              {
                runId,
                ...pipeline,
                ...run,
                settings: { ...settings, inputLengthFilter: false },
              } satisfies SelfGuideRunInput,
            ],
          });
          expect(result.inputs.generated).toBe(2);
          expect(result.evaluations).toHaveLength(4);
          expect(result.evaluations.every((e) => e.score.total === 2 && e.score.score >= 0 && e.score.score <= 1)).toBe(
            true,
          );
          expect(result.usage.calls).toBeGreaterThan(0);
          expect(result.models.fewShotFineTune.demonstrations?.k).toBe(2);
        }
      });
    } finally {
      await close();
      await deps.gateway.close();
    }
  });
});
