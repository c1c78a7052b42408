// An activity whose attempts keep killing their worker process fails the run after FLT_MAX_WORKER_CRASHES deaths,
// with a reason that says so and what to check, instead of being retried for ever while the run shows running.
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { McqItem } from '../../core/types';
import { LocalArtifactStore } from '../../lib/artifacts';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import type { EvaluateModelInput } from '../../workflows/evaluate';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { temporalAddress } from '../support/temporal';

const root = path.resolve(__dirname, '../..');

describe('an activity that keeps killing its worker', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-crash-loop-'));
  const store = new LocalArtifactStore(path.join(home, 'artifacts'));
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    FLT_HOME: home,
    FLT_TASK_QUEUE: `crash-loop-${process.pid}`,
    FLT_CRASH_LOOP_KEY: 'k',
    FLT_MAX_WORKER_CRASHES: '2',
    FLT_TEST_DIE_IN: 'answerQuestions',
  };
  let double: ProviderDouble;
  let bundle: string;

  beforeAll(async () => {
    double = await startProviderDouble();
    // Workers restarted several times should not bundle the workflows each time.
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      logger: new DefaultLogger('WARN'),
    });
    bundle = path.join(home, 'workflows.js');
    writeFileSync(bundle, code);
  });
  afterAll(async () => double?.stop());

  const startWorker = (): ChildProcess =>
    spawnTs(path.join(root, 'test/support/dying-worker.ts'), [], {
      cwd: root,
      stdio: 'ignore',
      env: { ...env, FLT_WORKFLOW_BUNDLE: bundle },
    });
  const exited = (worker: ChildProcess) =>
    new Promise<void>((resolve) =>
      worker.exitCode !== null || worker.signalCode !== null ? resolve() : worker.once('exit', () => resolve()),
    );

  it('fails the run with the reason after the worker died twice in the same shard; flt status shows it', async () => {
    const items: McqItem[] = Array.from({ length: 4 }, (_, i) => ({
      id: `q${i}`,
      question: `Question ${i}?`,
      options: ['yes', 'no'],
      answer: 'A',
    }));
    const runId = `crash-loop-${Date.now()}`;
    const input: EvaluateModelInput = {
      runId,
      stage: 'evaluate',
      model: { provider: 'double', model: 'sim-model' },
      test: await store.writeJsonl(items),
      providers: {
        double: {
          kind: 'openai-compatible',
          baseURL: double.baseURL,
          apiKeyEnv: 'FLT_CRASH_LOOP_KEY',
          testDouble: true,
          requestTimeoutSeconds: 10,
          maxConcurrency: 4,
          prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        },
      },
      sampling: { temperature: 0, maxTokens: 8, seed: 1 },
      metric: 'option-letter',
      execution: { shardSize: 4, parallelShards: 1 },
    };
    const connection = await Connection.connect({ address: temporalAddress() });
    const workers: ChildProcess[] = [];
    try {
      const handle = await new Client({ connection }).workflow.start('evaluateModel', {
        taskQueue: env.FLT_TASK_QUEUE,
        workflowId: runId,
        args: [input],
      });
      const outcome = handle.result().then(
        () => 'completed',
        (err: unknown) => err,
      );
      // Each worker that dies is replaced once it has exited (the new one fails its predecessor's attempt at start),
      // up to five: with a limit of two deaths, the third must end the run.
      let closed = false;
      void outcome.then(() => (closed = true));
      while (!closed && workers.length < 5) {
        const worker = startWorker();
        workers.push(worker);
        await Promise.race([exited(worker), outcome]);
      }
      if (!closed) await handle.terminate('the test gave up: the activity killed five workers');
      const failed = await outcome;
      expect(failed).toBeInstanceOf(WorkflowFailedError);
      let cause = (failed as WorkflowFailedError).cause as Error | undefined;
      while (cause?.cause) cause = cause.cause as Error;
      const reason = /^answerQuestions \(evaluate, shard 1 of 1\): its worker died 2 times running it .*heap/;
      expect(cause?.message).toMatch(reason);
      // Two workers died in the activity; the third failed it instead of running it.
      expect(workers).toHaveLength(3);
      expect(workers.slice(0, 2).map((w) => w.exitCode)).toEqual([134, 134]);
      expect(workers[2].exitCode).toBeNull();
      // Nothing is left in the ledger once the activity has failed for good.
      expect(readdirSync(path.join(home, 'artifacts', 'attempts'))).toEqual([]);

      const { stdout } = await promisify(execFile)(
        process.execPath,
        tsArgs(path.join(root, 'client.ts'), ['status', runId]),
        {
          env,
          cwd: root,
        },
      );
      expect(stdout).toMatch(new RegExp(`run ${runId}: FAILED`));
      expect(stdout).toMatch(
        /reason: .*WorkerCrashLoop: answerQuestions \(evaluate, shard 1 of 1\): its worker died 2 times/,
      );
    } finally {
      for (const worker of workers) {
        if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGTERM');
        await exited(worker);
      }
      await connection.close();
    }
  });
});
