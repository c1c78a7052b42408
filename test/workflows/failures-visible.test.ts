// Failures an operator must see without asking for the result: an activity in retry shows its attempt, last failure
// and next try in its stage's row of `flt watch` and in `flt status`; a failed run shows why in both.
import { statusLines } from '../../cli/status';
import { ProgressRates, renderFrame } from '../../cli/watch-view';
import type { McqItem } from '../../core/types';
import { readRunTree } from '../../lib/run-tree';
import type { EvaluateModelInput } from '../../workflows/evaluate';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const items: McqItem[] = Array.from({ length: 3 }, (_, i) => ({
  id: `q${i}`,
  question: `Question ${i}?`,
  options: ['yes', 'no'],
  answer: 'A',
}));

describe('failures are visible in watch and status', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble();
  });
  afterAll(() => double?.stop());

  const input = async (deps: ReturnType<typeof tempDeps>, runId: string): Promise<EvaluateModelInput> => ({
    runId,
    stage: 'evaluate',
    model: { provider: 'double', model: 'sim-model' },
    test: await deps.store.writeJsonl(items),
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
    execution: { shardSize: 10, parallelShards: 1 },
  });

  it('shows a shard activity in retry: attempt, last failure and next try', async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const runId = `in-retry-${Date.now()}`;
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    await double.configure({ faults: { rate: 1, kinds: ['500'], paths: 'chat/completions' } });
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('evaluateModel', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [await input(deps, runId)],
        });
        // Every call fails with a 500: the shard's activity fails its first attempt and is retried.
        for (;;) {
          const pending = (await handle.describe()).raw.pendingActivities ?? [];
          if (pending.some((a) => (a.attempt ?? 1) >= 2 && a.lastFailure)) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const root = await readRunTree(client, runId);
        const frame = renderFrame({
          root,
          startedAt: new Date(),
          link: 'ui',
          now: Date.now(),
          rates: new ProgressRates(),
        });
        const row = frame.find((line) => line.includes('retrying'));
        expect(row).toMatch(/answerQuestions attempt [2-9]/);
        expect(row).toMatch(/last failure: .*500/);
        expect(row).toMatch(/next try (in \d+s|now)/);

        const status = (await statusLines(client, runId)).join('\n');
        expect(status).toMatch(/retrying: evaluate: answerQuestions attempt [2-9], last failure: .*500/);
        await handle.terminate('test over');
      });
    } finally {
      await double.configure({ faults: { rate: 0 } });
      await close();
    }
  });

  it('shows why a failed run failed', async () => {
    const deps = tempDeps();
    const runId = `failed-visible-${Date.now()}`;
    const absent = '0'.repeat(64);
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      await worker.run(async () => {
        const handle = await client.workflow.start('evaluateModel', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [
            {
              ...(await input(deps, runId)),
              test: { uri: `artifact:sha256/${absent}`, sha256: absent, count: 3, bytes: 100 },
            },
          ],
        });
        await handle.result().catch(() => undefined);
      });
      const root = await readRunTree(client, runId);
      expect(root.status).toBe('FAILED');
      const frame = renderFrame({
        root,
        startedAt: new Date(),
        link: 'ui',
        now: Date.now(),
        rates: new ProgressRates(),
      });
      expect(frame.join('\n')).toMatch(/FAILED: .*listShards.*MissingArtifact/);
      const status = (await statusLines(client, runId)).join('\n');
      expect(status).toMatch(/run .*: FAILED/);
      expect(status).toMatch(/reason: .*listShards.*MissingArtifact/);
    } finally {
      await close();
    }
  });
});
