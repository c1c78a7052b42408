// Spend across worker kills: every call the provider answered to a worker that lived to store the answer is counted
// once in the run's usage, though the attempt that paid it was killed before it could report.
import { Client, Connection } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import type { McqItem } from '../../core/types';
import { LocalArtifactStore } from '../../lib/artifacts';
import { ResponseCache } from '../../lib/response-cache';
import { spawnTs } from '../../lib/ts-process';
import type { EvaluationRunInput, EvaluationRunResult } from '../../workflows/evaluation-run';
import { startProviderDouble, type RequestLogEntry } from '../support/provider-double';
import { temporalAddress } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
jest.setTimeout(300_000);

const items: McqItem[] = Array.from({ length: 40 }, (_, i) => ({
  id: `q${i}`,
  question: `Did revenue in quarter ${i} grow?`,
  options: ['no', 'maybe', 'yes'],
  answer: 'C',
}));
const prices = { inputPerMillionTokens: 2, outputPerMillionTokens: 8, trainingPerMillionTokens: 0 };
const isAnswered = (r: RequestLogEntry) => r.path === '/v1/chat/completions' && r.status === 200 && r.fault === null;

/** Response-cache entries written so far: one per call whose answer reached the worker. */
const cachedResponses = (home: string) => ResponseCache.count(path.join(home, 'artifacts', 'response-cache'));

describe('spend across worker kills', () => {
  it('counts every call answered to a worker once, though the shard attempts that paid them were killed', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'flt-paid-kills-'));
    const taskQueue = `paid-kills-${process.pid}`;
    const double = await startProviderDouble({
      gold: items.map((i) => ({ question: i.question, answer: 'C', choices: ['A', 'B', 'C'] })),
    });
    const providers: ProvidersConfig = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_PAID_KEY',
        testDouble: true,
        requestTimeoutSeconds: 60,
        prices,
        maxConcurrency: 2,
      },
    };
    const startWorker = (): ChildProcess =>
      spawnTs(path.join(root, 'worker.ts'), [], {
        cwd: root,
        stdio: 'ignore',
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: temporalAddress(),
          FLT_HOME: home,
          FLT_TASK_QUEUE: taskQueue,
          FLT_PAID_KEY: 'k',
        },
      });
    const stopWorker = async (worker: ChildProcess, signal: NodeJS.Signals) => {
      if (worker.exitCode !== null || worker.signalCode !== null) return;
      worker.kill(signal);
      await new Promise((resolve) => worker.once('exit', resolve));
    };
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
    let worker = startWorker();
    try {
      const runId = `paid-kills-${Date.now()}`;
      const input: EvaluationRunInput = {
        runId,
        task: 'paid-kills',
        providers,
        models: [{ provider: 'double', model: 'sim-model' }],
        test: await new LocalArtifactStore(path.join(home, 'artifacts')).writeJsonl(items),
        sampling: { temperature: 0, maxTokens: 64, seed: 5 },
        metric: 'option-letter',
        execution: { shardSize: 20, parallelShards: 1 },
      };
      // One kill in each shard, a few calls into it. The double lets that many calls through and holds the next ones,
      // so where the run stops is certain: 5 into the first shard; then its retry's 15 (those not stored) and 3 more.
      const passedBeforeKills = [5, 15 + 3];
      await double.holdModelCalls({ after: passedBeforeKills[0] });
      const handle = await client.workflow.start('evaluationRun', { taskQueue, workflowId: runId, args: [input] });
      /** Calls held at the double when a worker was killed: answered later to a dead socket, never to a worker. */
      const lostAtKills = new Set<number>();
      for (const kill of passedBeforeKills.keys()) {
        // Both of the worker's calls held, and every answer before them stored: nothing is on its way to the worker.
        await double.waitForHeldModelCalls(2);
        const answeredBefore = (await double.requests()).filter(isAnswered);
        while (cachedResponses(home) < new Set(answeredBefore.map((r) => r.requestHash)).size) await sleep(50);
        await stopWorker(worker, 'SIGKILL');
        const killedAt = Date.now();
        const logged = new Set((await double.requests()).map((r) => r.seq));
        await double.releaseModelCalls();
        // The two held calls are answered now, to the dead worker's closed sockets.
        let lost: RequestLogEntry[] = [];
        while (lost.length < 2) {
          await sleep(50);
          lost = (await double.requests()).filter((r) => r.time < killedAt && !logged.has(r.seq));
        }
        lost.forEach((r) => lostAtKills.add(r.seq));
        // Held again before the next worker exists, so none of its calls can slip past the count.
        if (kill + 1 < passedBeforeKills.length) await double.holdModelCalls({ after: passedBeforeKills[kill + 1] });
        worker = startWorker();
      }
      const result: EvaluationRunResult = await handle.result();
      expect(result.evaluations[0].score.total).toBe(items.length);

      const paid = (await double.requests()).filter((r) => isAnswered(r) && !lostAtKills.has(r.seq));
      expect(lostAtKills.size).toBe(4);
      expect(new Set(paid.map((r) => r.requestHash)).size).toBe(items.length);
      const promptTokens = paid.reduce((sum, r) => sum + r.usage!.prompt_tokens, 0);
      const completionTokens = paid.reduce((sum, r) => sum + r.usage!.completion_tokens, 0);
      expect(result.usage).toMatchObject({ calls: paid.length, promptTokens, completionTokens });
      expect(result.usage.costUsd).toBeCloseTo((promptTokens * 2 + completionTokens * 8) / 1e6, 12);
    } finally {
      await stopWorker(worker, 'SIGKILL');
      await double.stop();
      await client.connection.close();
    }
  });
});
