// One item the provider refuses (a 400, such as a prompt over the context window) is recorded and dropped, and the
// stage goes on; a stage where more than `execution.maxItemFailureShare` of the items fail stops with a clear message.
import { WorkflowFailedError } from '@temporalio/client';
import type { McqItem } from '../../core/types';
import type { EvaluateModelInput, ModelEvaluation } from '../../workflows/evaluate';
import type { SelfGuideEvaluateInput, SelfGuideEvaluation } from '../../workflows/selfguide-evaluate';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const items = (long: number): McqItem[] =>
  Array.from({ length: 20 }, (_, i) => ({
    id: `q${i}`,
    question: i < long ? `A long question ${'word '.repeat(400)}?` : `Question ${i}?`,
    options: ['yes', 'no'],
    answer: 'A',
  }));

describe('per-item failures', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({ config: { maxPromptChars: 1000 } });
  });
  afterAll(() => double?.stop());

  async function evaluate(long: number, maxItemFailureShare?: number): Promise<ModelEvaluation> {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const runId = `item-failures-${long}-${Date.now()}`;
    const input: EvaluateModelInput = {
      runId,
      stage: 'evaluate',
      model: { provider: 'double', model: 'sim-model' },
      test: await deps.store.writeJsonl(items(long)),
      providers: {
        double: {
          kind: 'openai-compatible',
          baseURL: double.baseURL,
          apiKeyEnv: 'FLT_TEST_KEY',
          testDouble: true,
          requestTimeoutSeconds: 10,
          maxConcurrency: 4,
          prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        },
      },
      sampling: { temperature: 0, maxTokens: 8, seed: 1 },
      metric: 'option-letter',
      execution: { shardSize: 5, parallelShards: 2, ...(maxItemFailureShare ? { maxItemFailureShare } : {}) },
    };
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      return await worker.run(() =>
        client.workflow.execute('evaluateModel', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [input],
          workflowExecutionTimeout: '1 minute',
        }),
      );
    } finally {
      await close();
    }
  }

  it('records an item the provider refuses, drops it from the output and goes on', async () => {
    const evaluation = await evaluate(1);
    expect(evaluation.score.total).toBe(19);
    expect(evaluation.itemFailures).toMatchObject({ count: 1, of: 20 });
    expect(evaluation.itemFailures!.examples).toEqual([
      { id: 'q0', message: expect.stringMatching(/400 .*maximum context length/) },
    ]);
  });

  it('stops a stage where more than maxItemFailureShare of the items fail, saying so', async () => {
    const failed = await evaluate(2).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    expect((failed as WorkflowFailedError).cause?.message).toMatch(
      /^evaluate: 2 of 20 items failed \(10\.0%\), more than execution\.maxItemFailureShare \(5\.0%\); first: q0: 400 /,
    );
    // A larger share lets the same stage finish.
    expect((await evaluate(2, 0.2)).score.total).toBe(18);
  });

  it("SELF-GUIDE's evaluation records and drops a refused test item too", async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const runId = `item-failures-selfguide-${Date.now()}`;
    const tests = Array.from({ length: 20 }, (_, i) => ({
      input: i === 0 ? `A long input ${'word '.repeat(400)}` : `Input ${i}`,
      output: `Output ${i}`,
    }));
    const input: SelfGuideEvaluateInput = {
      runId,
      stage: 'evaluate-test',
      task: {
        name: 'echo',
        kind: 'generation',
        metric: 'rouge',
        instruction: 'Repeat the input.',
        examples: [{ input: 'a', output: 'a' }],
        labels: [],
        noise_terms: [],
      },
      model: { provider: 'double', model: 'sim-model' },
      providers: {
        double: {
          kind: 'openai-compatible',
          baseURL: double.baseURL,
          apiKeyEnv: 'FLT_TEST_KEY',
          testDouble: true,
          requestTimeoutSeconds: 10,
          maxConcurrency: 4,
          prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        },
      },
      prompting: { kind: 'few-shot' },
      maxTokens: 16,
      rouge: 'words',
      seed: 1,
      test: await deps.store.writeJsonl(tests),
      execution: { shardSize: 5, parallelShards: 2 },
    };
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      const evaluation: SelfGuideEvaluation = await worker.run(() =>
        client.workflow.execute('selfGuideEvaluate', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [input],
          workflowExecutionTimeout: '1 minute',
        }),
      );
      expect(evaluation.score.total).toBe(19);
      expect(evaluation.itemFailures).toMatchObject({ count: 1, of: 20, examples: [{ id: 'shard 1 item 1' }] });
    } finally {
      await close();
    }
  });
});
