// SELF-GUIDE with every stage that calls the model sent through the provider's Batch API (`mode: true`), on the test
// double's OpenAI batches: each generation round is one batch, annotation another, each evaluation one more, each
// created once; nothing goes online; no item is paid twice; the run's cost counts the answers at the batch price.
import * as path from 'node:path';
import { batchSchema, type ProvidersConfig } from '../../core/config';
import { storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import type { SelfGuidePipeline } from '../../workflows/selfguide-stages';
import { startProviderDouble, type ProviderDouble, type RequestLogEntry } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const taskDir = path.resolve(__dirname, '../../../shared/data/selfguide/task1385');
const prices = { inputPerMillionTokens: 2, outputPerMillionTokens: 8, trainingPerMillionTokens: 0 };

const chatCalls = (log: RequestLogEntry[]) => log.filter((r) => r.path === '/v1/chat/completions' && r.status === 200);

describe('SELF-GUIDE through the Batch API', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 40 }, batches: { stepMs: 50 } },
    });
  });
  afterAll(async () => double?.stop());

  it('sends each generation round, the annotation and each evaluation as a batch, paying each item once', async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const providers: ProvidersConfig = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        batchApi: 'openai',
        requestTimeoutSeconds: 30,
        prices,
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
      annotation: { samples: 5, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 100 },
      evaluation: { maxTokens: 64, contextTokens: 4096, rouge: 'words' },
      execution: {
        shardSize: 10,
        parallelShards: 2,
        batch: batchSchema.parse({ mode: true, pollIntervalSeconds: 0.1 }),
      },
      seed: 0,
    };
    const run = await storeSelfGuideTask(deps.store, { format: 'selfguide-task', path: taskDir }, 10, []);
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `sg-batch-${Date.now()}`;
    const settings = { inputTemperature: 0.8, inputLengthFilter: true, outputLengthFilter: true, epochs: 1 };
    let result: SelfGuideRunResult;
    try {
      result = await worker.run(() =>
        client.workflow.execute('selfGuideRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [{ runId, ...pipeline, ...run, settings } satisfies SelfGuideRunInput],
        }),
      );
    } finally {
      await close();
    }
    const log = await double.requests();

    const creates = log.filter((r) => r.method === 'POST' && r.path === '/v1/batches');
    expect(creates).toHaveLength(3 + 1 + result.evaluations.length);
    const lines = chatCalls(log).filter((r) => r.batchId);
    const perBatch = [...new Set(lines.map((r) => r.batchId))].map(
      (id) => lines.filter((r) => r.batchId === id).length,
    );
    expect(perBatch.slice(0, 3)).toEqual([10, 10, 10]);
    expect(perBatch[3]).toBe(result.inputs.filters.kept);
    expect(perBatch.slice(4).sort()).toEqual(result.evaluations.map((e) => e.score.total).sort());
    expect(result.inputs.generated).toBe(30);

    // Every answer was paid once, and none online.
    const hashes = chatCalls(log).map((r) => r.requestHash);
    expect(new Set(hashes).size).toBe(hashes.length);
    expect(chatCalls(log).filter((r) => !r.batchId)).toHaveLength(0);

    const paid = chatCalls(log).reduce((sum, r) => {
      const share = r.batchId ? 0.5 : 1;
      const { prompt_tokens, completion_tokens } = r.usage!;
      return (
        sum +
        (share * (prompt_tokens * prices.inputPerMillionTokens + completion_tokens * prices.outputPerMillionTokens)) /
          1e6
      );
    }, 0);
    expect(result.usage.costUsd).toBeCloseTo(paid, 9);
  });
});
