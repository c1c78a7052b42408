// Spend of a shard whose worker died after writing the shard's output but before the activity completed: the retried
// attempt finds the shard finished and must still report what the dead attempt paid.
import { Client, Connection } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { McqItem } from '../../core/types';
import { LocalArtifactStore } from '../../lib/artifacts';
import { spawnTs } from '../../lib/ts-process';
import type { EvaluationRunInput, EvaluationRunResult } from '../../workflows/evaluation-run';
import { prebuiltBundle } from './crash-harness';
import { startProviderDouble, type RequestLogEntry } from '../support/provider-double';
import { temporalAddress } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
jest.setTimeout(600_000);

const items: McqItem[] = Array.from({ length: 12 }, (_, i) => ({
  id: `q${i}`,
  question: `Did the harvest in year ${i} beat the last one?`,
  options: ['no', 'maybe', 'yes'],
  answer: 'C',
}));
const prices = { inputPerMillionTokens: 2, outputPerMillionTokens: 8, trainingPerMillionTokens: 0 };
const isAnswered = (r: RequestLogEntry) => r.path === '/v1/chat/completions' && r.status === 200 && r.fault === null;

describe('a shard finished by a worker that died before completing it', () => {
  it('is reported with what its dead attempt paid', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'flt-finished-shard-'));
    const taskQueue = `finished-shard-${process.pid}`;
    const double = await startProviderDouble({
      gold: items.map((i) => ({ question: i.question, answer: 'C', choices: ['A', 'B', 'C'] })),
    });
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      FLT_HOME: home,
      FLT_TASK_QUEUE: taskQueue,
      FLT_FINISHED_KEY: 'k',
      FLT_WORKFLOW_BUNDLE: await prebuiltBundle(),
      // The first worker exits right after the first shard's output is written, before the server hears of it.
      FLT_TEST_DIE_AFTER: 'answerQuestions',
      FLT_TEST_DIE_MARKER: path.join(home, 'died'),
    };
    const startWorker = (): ChildProcess =>
      spawnTs(path.join(root, 'test/support/dying-worker.ts'), [], { cwd: root, stdio: 'ignore', env });
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    const first = startWorker();
    let second: ChildProcess | undefined;
    try {
      const runId = `finished-shard-${Date.now()}`;
      const input: EvaluationRunInput = {
        runId,
        task: 'finished-shard',
        providers: {
          double: {
            kind: 'openai-compatible',
            baseURL: double.baseURL,
            apiKeyEnv: 'FLT_FINISHED_KEY',
            testDouble: true,
            requestTimeoutSeconds: 60,
            prices,
            maxConcurrency: 4,
          },
        },
        models: [{ provider: 'double', model: 'sim-model' }],
        test: await new LocalArtifactStore(path.join(home, 'artifacts')).writeJsonl(items),
        sampling: { temperature: 0, maxTokens: 64, seed: 7 },
        metric: 'option-letter',
        execution: { shardSize: 6, parallelShards: 1 },
      };
      const handle = await client.workflow.start('evaluationRun', { taskQueue, workflowId: runId, args: [input] });
      const exitCode = await new Promise((resolve) => first.once('exit', resolve));
      expect(exitCode).toBe(137);
      second = startWorker();
      const result: EvaluationRunResult = await handle.result();
      expect(result.evaluations[0].score.total).toBe(items.length);

      // Every call was answered to a live worker that cached it: all of them are the run's spend, once.
      const paid = (await double.requests()).filter(isAnswered);
      expect(new Set(paid.map((r) => r.requestHash)).size).toBe(items.length);
      const promptTokens = paid.reduce((sum, r) => sum + r.usage!.prompt_tokens, 0);
      const completionTokens = paid.reduce((sum, r) => sum + r.usage!.completion_tokens, 0);
      expect(result.usage).toMatchObject({ calls: items.length, cachedCalls: 0, promptTokens, completionTokens });
      expect(result.usage.costUsd).toBeCloseTo((promptTokens * 2 + completionTokens * 8) / 1e6, 12);
      expect(result.costs.map((c) => c.usage.costUsd)).toEqual([result.usage.costUsd]);
    } finally {
      for (const worker of [first, second])
        if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
      await double.stop();
      await client.connection.close();
    }
  });
});
