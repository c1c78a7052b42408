// A SELF-GUIDE run in which the provider refuses one input-generation prompt and one annotation: both are recorded,
// reported and left out of the synthetic data, and the run goes on; past `execution.maxItemFailureShare` the stage
// stops the run with one sentence.
import { WorkflowFailedError } from '@temporalio/client';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { mixSeed } from '../../core/selfguide-prompts';
import type { IoExample } from '../../core/types';
import { summarizeResult } from '../../lib/methods';
import { storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const seed = 0;

describe('per-item failures in SELF-GUIDE', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: {
        models: { 'sim-model': { accuracy: 0.5 } },
        fineTune: { stepMs: 40 },
        refuse: [
          // Round 1's third generation prompt, and the annotation of the third kept input (each has its own seed).
          { prompt: '^As an input generator', seed: mixSeed(seed, 1, 2) },
          { seed: mixSeed(seed, 2) },
        ],
      },
    });
    providers = {
      double: {
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

  const run = async (runId: string, maxItemFailureShare: number): Promise<SelfGuideRunResult> => {
    const task = await storeSelfGuideTask(
      deps.store,
      { format: 'selfguide-task', path: path.resolve(__dirname, '../../../shared/data/selfguide/task1385') },
      5,
      [],
    );
    const input: SelfGuideRunInput = {
      runId,
      providers,
      model: { provider: 'double', model: 'sim-model' },
      fineTune: {
        backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
        lora: false,
        maxExampleTokens: 2000,
      },
      generation: { rounds: 2, promptsPerRound: 5, maxTokens: 200, maxPromptTokens: 3000 },
      annotation: { samples: 10, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 100 },
      evaluation: { maxTokens: 32, contextTokens: 4096, rouge: 'words' },
      execution: { shardSize: 5, parallelShards: 2, maxItemFailureShare },
      seed,
      ...task,
      settings: { inputTemperature: 0.8, inputLengthFilter: false, outputLengthFilter: true, epochs: 1 },
    };
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      return await worker.run(() =>
        client.workflow.execute('selfGuideRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [input],
        }),
      );
    } finally {
      await close();
    }
  };

  it('records a refused generation prompt and a refused annotation, reports both and keeps neither', async () => {
    const runId = `selfguide-item-failures-${Date.now()}`;
    const result = await run(runId, 0.25);
    const refusal = expect.stringMatching(/400 The provider test double refuses this request/);
    expect(result.itemFailures?.['generate-inputs']).toEqual({
      count: 1,
      of: 10,
      examples: [{ id: 'round 1 prompt 3', message: refusal }],
    });
    expect(result.itemFailures?.['annotate-outputs']).toMatchObject({
      count: 1,
      examples: [{ id: 'input 3', message: refusal }],
    });
    expect(result.inputs.generated).toBe(9);
    const kept = await deps.store.readAll<{ input: string }>(
      (await deps.store.lookup(`runs/${runId}/filter-inputs/kept`))!,
    );
    expect(result.itemFailures?.['annotate-outputs']?.of).toBe(kept.length);
    const pairs = await deps.store.readAll<IoExample>(result.synthetic.data);
    expect(pairs.map((p) => p.input)).not.toContain(kept[2].input);
    const summary = summarizeResult('selfGuideRun', result);
    expect(summary).toContainEqual(
      expect.stringMatching(/^generate-inputs: 1 of 10 items failed and were dropped: round 1 prompt 3: /),
    );
    expect(summary).toContainEqual(
      expect.stringMatching(/^annotate-outputs: 1 of \d+ items failed and were dropped: input 3: /),
    );
  });

  it('stops the run when more than maxItemFailureShare of a stage fails, saying so', async () => {
    const failed = await run(`selfguide-item-failures-share-${Date.now()}`, 0.05).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    expect((failed as WorkflowFailedError).cause?.message).toMatch(
      new RegExp(
        '^generate-inputs: 1 of 10 items failed \\(10\\.0%\\), more than execution\\.maxItemFailureShare ' +
          '\\(5\\.0%\\); first: round 1 prompt 3: .*400 ',
      ),
    );
  });
});
