// A run that fails in a stage still shows what it spent, the failing stage's paid calls included: `flt status` and
// `flt result` say "failed after spending $X".
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { statusLines } from '../../cli/status';
import type { McqItem } from '../../core/types';
import { tsArgs } from '../../lib/ts-process';
import type { EvaluationRunInput } from '../../workflows/evaluation-run';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, temporalAddress, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
jest.setTimeout(180_000);

// Two questions too long for the double's context: 2 of 20 items refused is over the default 5% failure share.
const items: McqItem[] = Array.from({ length: 20 }, (_, i) => ({
  id: `q${i}`,
  question: i >= 18 ? `A long question ${'word '.repeat(400)}?` : `Did output in month ${i} rise?`,
  options: ['yes', 'no'],
  answer: 'A',
}));
const prices = { inputPerMillionTokens: 100, outputPerMillionTokens: 400, trainingPerMillionTokens: 0 };

describe('the spend of a failed run', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({ config: { maxPromptChars: 1000 } });
  });
  afterAll(() => double?.stop());

  it('is shown by flt status and flt result, with the paid calls of the stage it failed in', async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const runId = `failed-spend-${Date.now()}`;
    const input: EvaluationRunInput = {
      runId,
      task: 'failed-spend',
      providers: {
        double: {
          kind: 'openai-compatible',
          baseURL: double.baseURL,
          apiKeyEnv: 'FLT_TEST_KEY',
          testDouble: true,
          requestTimeoutSeconds: 10,
          maxConcurrency: 4,
          prices,
        },
      },
      models: [{ provider: 'double', model: 'sim-model' }],
      test: await deps.store.writeJsonl(items),
      sampling: { temperature: 0, maxTokens: 8, seed: 1 },
      metric: 'option-letter',
      execution: { shardSize: 5, parallelShards: 1 },
    };
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      const outcome = await worker.run(() =>
        client.workflow
          .execute('evaluationRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] })
          .catch((err: unknown) => err),
      );
      let cause = outcome as Error | undefined;
      while (cause?.cause) cause = cause.cause as Error;
      expect(cause?.message).toMatch(/2 of 20 items failed/);

      const answered = (await double.requests()).filter((r) => r.path === '/v1/chat/completions' && r.status === 200);
      expect(answered).toHaveLength(18);
      const paidUsd = answered.reduce(
        (sum, r) => sum + (r.usage!.prompt_tokens * 100 + r.usage!.completion_tokens * 400) / 1e6,
        0,
      );
      expect(paidUsd).toBeGreaterThan(0.001);
      const spent = `failed after spending $${paidUsd.toFixed(4)}`;

      expect(await statusLines(client, runId)).toContain(spent);
      const printed = await promisify(execFile)(
        process.execPath,
        tsArgs(path.join(root, 'client.ts'), ['result', runId]),
        {
          cwd: root,
          env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress() },
        },
      ).catch((err: { stdout: string; code: number }) => err);
      expect(printed).toMatchObject({ code: 2, stdout: `run ${runId} ${spent}\n` });
    } finally {
      await close();
    }
  });
});
