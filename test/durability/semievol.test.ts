// Durability of a SemiEvol run: the worker process SIGKILLed mid-collaboration and mid-justification. The run must
// finish, no finished model call may be paid for again (only the calls in flight at a kill are repeated), and no
// finished stage may run again (its fine-tune job is found, not created twice).
import { Client, Connection } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import { spawnTs } from '../../lib/ts-process';
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProvidersConfig } from '../../core/config';
import { LocalArtifactStore } from '../../lib/artifacts';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { SemievolRunResult } from '../../workflows/semievol';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { semievolTestInput } from '../support/semievol-input';
import { temporalAddress } from '../support/temporal';
import { repeatsOf } from '../support/repeats';

const root = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fpb = (split: string) => loadSemiEvolCsv(path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`)).items;

describe('durability of a SemiEvol run', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-semievol-durability-'));
  const store = new LocalArtifactStore(path.join(home, 'artifacts'));
  const taskQueue = `semievol-durability-${process.pid}`;
  const labeled = fpb('labeled').slice(0, 20);
  const unlabeled = fpb('unlabeled').slice(0, 40);
  const test = fpb('test').slice(0, 20);
  let double: ProviderDouble;
  let providers: ProvidersConfig;

  const startWorker = (): ChildProcess =>
    spawnTs(path.join(root, 'worker.ts'), [], {
      cwd: root,
      stdio: 'ignore',
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        FLT_HOME: home,
        FLT_TASK_QUEUE: taskQueue,
        FLT_DURABILITY_KEY: 'k',
      },
    });
  const stopWorker = async (worker: ChildProcess, signal: NodeJS.Signals) => {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill(signal);
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  };
  const answered = async () =>
    (await double.requests()).filter((r) => r.path === '/v1/chat/completions' && r.status === 200 && r.fault === null);

  beforeAll(async () => {
    // 100 ms per call, 2 at a time: the 160 collaborator calls take about 8 s, long enough to interrupt.
    const gold = [...labeled, ...unlabeled, ...test].map((i) => ({
      question: i.question,
      answer: i.answer!,
      choices: ['A', 'B', 'C'],
    }));
    double = await startProviderDouble({
      config: { latencyMs: 100, models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 50 } },
      gold,
    });
    providers = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_DURABILITY_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 2,
      },
    };
  });
  afterAll(async () => double?.stop());

  it('survives SIGKILLs of the worker mid-stage without paying for a finished call or stage twice', async () => {
    const input = await semievolTestInput(
      store,
      `semievol-killed-${Date.now()}`,
      providers,
      { labeled, unlabeled, test },
      { sampling: { temperature: 0, maxTokens: 64, seed: 5 } },
    );
    const connection = await Connection.connect({ address: temporalAddress() });
    let worker = startWorker();
    try {
      const handle = await new Client({ connection }).workflow.start('semievolRun', {
        taskQueue,
        workflowId: input.runId,
        args: [input],
      });
      // Mid-collaboration (160 calls), then past it: into self-justification or the evaluations after it.
      const killTimes: number[] = [];
      for (const threshold of [40, 175]) {
        while ((await answered()).length < threshold) await sleep(50);
        await stopWorker(worker, 'SIGKILL');
        killTimes.push(Date.now());
        worker = startWorker();
      }
      const result: SemievolRunResult = await handle.result();

      expect(result.pseudoLabels.counts.questions).toBe(40);
      expect(result.evaluations.semievol.score.total).toBe(20);
      const calls = await answered();
      const distinct = new Set(calls.map((r) => r.requestHash)).size;
      expect(distinct).toBe(40 * 4 + result.pseudoLabels.justified + 4 * 20);
      const { repeated, finishedRepeated } = repeatsOf(calls, killTimes);
      console.log(
        `SemiEvol: ${killTimes.length} kills, ${repeated.length} repeated calls, ` +
          `${finishedRepeated.length} of them finished before a kill`,
      );
      expect(finishedRepeated).toEqual([]);
      expect(
        (await double.requests()).filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs'),
      ).toHaveLength(2);
    } finally {
      await stopWorker(worker, 'SIGTERM');
      await connection.close();
    }
  });
});
