// A fine-tune child outlives no parent: when SELF-GUIDE's few-shot fine-tune fails, the run fails, and the SELF-GUIDE
// fine-tune running beside it is cancelled (not terminated), so its job at the provider ends cancelled, not billing.
import { WorkflowFailedError } from '@temporalio/client';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import type { SelfGuideRunInput } from '../../workflows/selfguide';
import type { SelfGuidePipeline } from '../../workflows/selfguide-stages';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const taskDir = (name: string) => path.resolve(__dirname, '../../../shared/data/selfguide', name);
const settings = { inputTemperature: 0.8, inputLengthFilter: true, outputLengthFilter: true, epochs: 2 };

interface DoubleJob {
  id: string;
  status: string;
  metadata?: Record<string, string>;
}

describe('a fine-tune child when its parent fails', () => {
  let double: ProviderDouble;
  // Every job step lasts a minute: both jobs are certainly still validating until the test itself ends one.
  beforeAll(async () => {
    double = await startProviderDouble({ config: { fineTune: { stepMs: 60_000 } } });
  });
  afterAll(async () => double?.stop());

  const jobs = async (): Promise<DoubleJob[]> =>
    (
      (await (await fetch(`${double.baseURL}/fine_tuning/jobs?limit=100`)).json()) as {
        data: DoubleJob[];
      }
    ).data;
  const jobCreates = async () =>
    (await double.requests()).filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs').length;

  it('is cancelled, and cancels its job, when the sibling fine-tune fails the SELF-GUIDE run', async () => {
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
      generation: { rounds: 2, promptsPerRound: 10, maxTokens: 500, maxPromptTokens: 3000 },
      annotation: { samples: 5, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 100 },
      evaluation: { maxTokens: 64, contextTokens: 4096, rouge: 'words' },
      execution: { shardSize: 10, parallelShards: 2 },
      seed: 0,
    };
    const task = await storeSelfGuideTask(deps.store, { format: 'selfguide-task', path: taskDir('task1385') }, 20, []);
    const runId = `sg-parent-fails-${Date.now()}`;
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      await worker.run(async () => {
        const before = await jobCreates();
        const run = await client.workflow.start('selfGuideRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [{ runId, ...pipeline, ...task, settings } satisfies SelfGuideRunInput],
        });
        // Both fine-tunes have created their jobs, which sit validating for a minute.
        while ((await jobCreates()) - before < 2) await new Promise((r) => setTimeout(r, 100));
        const fewShot = (await jobs()).find((job) => job.metadata?.flt_tag?.endsWith('-fine-tune-few-shot'));
        const selfGuide = (await jobs()).find((job) => job.metadata?.flt_tag?.endsWith('-fine-tune'));
        expect(fewShot?.status).toBe('validating_files');
        expect(selfGuide?.status).toBe('validating_files');

        // The provider ends the few-shot job: that child fails, and with it the run.
        await fetch(`${double.baseURL}/fine_tuning/jobs/${fewShot!.id}/cancel`, { method: 'POST' });
        await expect(run.result()).rejects.toBeInstanceOf(WorkflowFailedError);

        // The SELF-GUIDE fine-tune is closed by the parent's close policy; once it has closed, its job has ended.
        const sibling = client.workflow.getHandle(`${runId}--fine-tune`);
        await sibling.result().catch(() => undefined);
        expect((await sibling.describe()).status.name).toBe('CANCELLED');
        expect((await jobs()).find((job) => job.id === selfGuide!.id)?.status).toBe('cancelled');
      });
    } finally {
      await close();
    }
  });
});
