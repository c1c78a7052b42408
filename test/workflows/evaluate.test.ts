// The evaluation workflow on the real dev server, against the provider test double's simulated model.
import type { evaluationRun, EvaluationRunResult } from '../../workflows/evaluation-run';
import { searchAttributes } from '../../core/search-attributes';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { EvaluationRunInput } from '../../workflows/evaluation-run';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';
import * as path from 'node:path';

const fpbTest = path.resolve(__dirname, '../../../shared/data/semievol/fpb/test.csv');

describe('evaluationRun', () => {
  let double: ProviderDouble;
  const { items } = loadSemiEvolCsv(fpbTest);
  const sample = items.slice(0, 120);

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.7 }, 'sim-model-2': { accuracy: 0.3 } } },
    });
    await double.setGold(
      sample.map((i) => ({
        question: i.question,
        answer: i.answer!,
        choices: i.options.map((_, k) => String.fromCharCode(65 + k)),
      })),
    );
  });
  afterAll(async () => double?.stop());

  it('scores each model near its simulated accuracy, counts cost, and never pays twice on a re-run', async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const test = await deps.store.writeJsonl(sample);
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const input = (runId: string): EvaluationRunInput => ({
      runId,
      task: 'fpb',
      providers: {
        double: {
          kind: 'openai-compatible',
          baseURL: double.baseURL,
          apiKeyEnv: 'FLT_TEST_KEY',
          testDouble: true,
          requestTimeoutSeconds: 30,
          // A price of seven significant digits: the summed cost has digits below a millionth of a dollar.
          prices: { inputPerMillionTokens: 0.1234567, outputPerMillionTokens: 2, trainingPerMillionTokens: 0 },
          maxConcurrency: 8,
        },
      },
      models: [
        { provider: 'double', model: 'sim-model' },
        { provider: 'double', model: 'sim-model-2' },
      ],
      test,
      sampling: { temperature: 0, maxTokens: 64, seed: 1 },
      metric: 'option-letter',
      execution: { shardSize: 25, parallelShards: 3 },
    });
    try {
      await worker.run(async () => {
        const firstId = `eval-${Date.now()}`;
        const first = await client.workflow.execute<typeof evaluationRun>('evaluationRun', {
          taskQueue: worker.taskQueue,
          workflowId: firstId,
          args: [input(`eval-a-${Date.now()}`)],
        });
        const [strong, weak] = first.evaluations;
        expect(strong.score.total).toBe(120);
        expect(strong.score.accuracy).toBeGreaterThan(0.55);
        expect(strong.score.accuracy).toBeLessThan(0.85);
        expect(weak.score.accuracy).toBeLessThan(strong.score.accuracy);
        expect(first.usage.calls).toBe(240);
        expect(first.usage.costUsd).toBeGreaterThan(0);
        // FltCostUsd is the cost rounded to a millionth of a dollar, with no float noise for the Web UI to show.
        const shown = (await client.workflow.getHandle(firstId).describe()).typedSearchAttributes.get(
          searchAttributes.costUsd,
        )!;
        expect(shown).toBeCloseTo(first.usage.costUsd, 6);
        expect(shown).not.toBe(first.usage.costUsd);
        expect(String(shown)).toMatch(/^\d+(\.\d{1,6})?$/);

        // The same requests again under a new run id: every call comes from the response cache.
        const before = (await double.requests()).length;
        const again = await client.workflow.execute<typeof evaluationRun>('evaluationRun', {
          taskQueue: worker.taskQueue,
          workflowId: `eval-b-${Date.now()}`,
          args: [input(`eval-b-${Date.now()}`)],
        });
        expect(again.usage).toMatchObject({ calls: 0, cachedCalls: 240 });
        const accuracies = (run: EvaluationRunResult) => run.evaluations.map((e) => e.score.accuracy);
        expect(accuracies(again)).toEqual(accuracies(first));
        expect((await double.requests()).length).toBe(before);
      });
    } finally {
      await close();
    }
  });
});

describe('evaluationRun on the embedded llama.cpp path', () => {
  it('answers through the real tiny GGUF model with log-probabilities end to end', async () => {
    const modelPath = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');
    const deps = tempDeps();
    const { items } = loadSemiEvolCsv(fpbTest);
    const test = await deps.store.writeJsonl(items.slice(0, 4));
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `llama-${Date.now()}`;
    try {
      const result = await worker.run(() =>
        client.workflow.execute<typeof evaluationRun>('evaluationRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [
            {
              runId,
              task: 'fpb',
              providers: {
                local: { kind: 'llama-cpp', modelPath, contextSize: 1024, gpu: false, threads: 1, maxConcurrency: 1 },
              },
              models: [{ provider: 'local', model: 'tiny-random' }],
              test,
              sampling: { temperature: 0, maxTokens: 8, seed: 1, logprobs: true },
              metric: 'option-letter',
              execution: { shardSize: 2, parallelShards: 2 },
            } satisfies EvaluationRunInput,
          ],
        }),
      );
      expect(result.evaluations[0].score.total).toBe(4);
      expect(result.usage.calls).toBe(4);
      expect(result.usage.completionTokens).toBeGreaterThan(0);
      const answers = await deps.store.readAll<{ responses: { logprobs: number[] }[] }>(
        (await deps.store.lookup(`runs/${runId}/evaluate-1/answers-00000`))!,
      );
      expect(answers).toHaveLength(2);
      for (const answer of answers)
        expect(answer.responses[0].logprobs.every((lp) => Number.isFinite(lp) && lp <= 0)).toBe(true);
    } finally {
      await close();
      await deps.gateway.close();
    }
  });
});

describe('evaluationRun with the number metric', () => {
  it('scores open numeric questions with a relative tolerance', async () => {
    const items = Array.from({ length: 40 }, (_, i) => ({
      id: `n${i}`,
      question: `What is ${i} times 1000 plus 7?`,
      options: [],
      answer: String(i * 1000 + 7),
    }));
    const double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 1 } } },
      gold: items.map((i) => ({
        question: i.question,
        answer: i.answer,
        choices: [i.answer, String(Number(i.answer) * 2 + 1)],
      })),
    });
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      const result = await worker.run(async () =>
        client.workflow.execute<typeof evaluationRun>('evaluationRun', {
          taskQueue: worker.taskQueue,
          workflowId: `numbers-${Date.now()}`,
          args: [
            {
              runId: `numbers-${Date.now()}`,
              task: 'arithmetic',
              providers: {
                double: {
                  kind: 'openai-compatible',
                  baseURL: double.baseURL,
                  apiKeyEnv: 'FLT_TEST_KEY',
                  testDouble: true,
                  requestTimeoutSeconds: 30,
                  prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
                  maxConcurrency: 8,
                },
              },
              models: [{ provider: 'double', model: 'sim-model' }],
              test: await deps.store.writeJsonl(items),
              sampling: { temperature: 0, maxTokens: 64, seed: 1 },
              metric: 'number',
              execution: { shardSize: 20, parallelShards: 2 },
            } satisfies EvaluationRunInput,
          ],
        }),
      );
      // The simulated model knows every answer here (accuracy 1), so every number matches within 1e-2.
      expect(result.evaluations[0].score).toMatchObject({ total: 40, correct: 40 });
    } finally {
      await close();
      await double.stop();
    }
  });
});
