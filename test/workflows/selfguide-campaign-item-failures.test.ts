// A SELF-GUIDE campaign in which the provider refuses one input-generation prompt wherever it is asked: the campaign
// goes on, and its result and `flt result` list the refused items per task and stage, validation and test alike.
import * as path from 'node:path';
import { mixSeed } from '../../core/selfguide-prompts';
import { summarizeResult } from '../../lib/methods';
import { storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import type { SelfGuideCampaignInput, SelfGuideCampaignResult } from '../../workflows/selfguide-campaign';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const seed = 0;
const taskDir = (name: string) => path.resolve(__dirname, '../../../shared/data/selfguide', name);

describe('per-item failures in a SELF-GUIDE campaign', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({
      config: {
        models: { 'sim-model': { accuracy: 0.5 } },
        fineTune: { stepMs: 40 },
        // Round 1's third generation prompt, in the validation branch and in the test run alike.
        refuse: [{ prompt: '^As an input generator', seed: mixSeed(seed, 1, 2) }],
      },
    });
  });
  afterAll(async () => double?.stop());

  it("lists every task run's refused items per task and stage, and the campaign goes on", async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const store = (name: string) =>
      storeSelfGuideTask(deps.store, { format: 'selfguide-task', path: taskDir(name) }, 5, []);
    const runId = `sg-campaign-item-failures-${Date.now()}`;
    const input: SelfGuideCampaignInput = {
      runId,
      validation: [await store('task1385')],
      test: [await store('task1386')],
      grid: { inputTemperature: [0.7], inputLengthFilter: [false], outputLengthFilter: [false], epochs: [1] },
      campaign: { choose: 'across-kinds' },
      concurrency: { branches: 2, cells: 1 },
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
      model: { provider: 'double', model: 'sim-model' },
      fineTune: {
        backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
        lora: false,
        maxExampleTokens: 2000,
      },
      generation: { rounds: 2, promptsPerRound: 5, maxTokens: 200, maxPromptTokens: 3000 },
      annotation: { samples: 10, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 100 },
      evaluation: { maxTokens: 32, contextTokens: 4096, rouge: 'words' },
      execution: { shardSize: 5, parallelShards: 2, maxItemFailureShare: 0.25 },
      seed,
    };
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      const result: SelfGuideCampaignResult = await worker.run(() =>
        client.workflow.execute('selfGuideCampaign', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
      );
      const refused = {
        count: 1,
        of: 10,
        examples: [{ id: 'round 1 prompt 3', message: expect.stringMatching(/400 The provider test double refuses/) }],
      };
      expect(result.itemFailures).toEqual({
        'task1385 generate-inputs t0.7': refused,
        'task1386 test generate-inputs': refused,
      });
      expect(result.test).toHaveLength(1);
      const summary = summarizeResult('selfGuideCampaign', result);
      expect(summary).toContainEqual(
        expect.stringMatching(
          /^task1385 generate-inputs t0\.7: 1 of 10 items failed and were dropped: round 1 prompt 3: /,
        ),
      );
      expect(summary).toContainEqual(
        expect.stringMatching(
          /^task1386 test generate-inputs: 1 of 10 items failed and were dropped: round 1 prompt 3: /,
        ),
      );
    } finally {
      await close();
    }
  });
});
