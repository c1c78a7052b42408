// A worker process SIGKILLed mid-shard and a new one started on the same host: the new worker fails the dead one's
// activity attempt at startup (lib/orphaned-activities.ts), so the shard is retried at once instead of after its
// 5-minute heartbeat timeout, and the evaluation finishes with every question answered.
import { NativeConnection, Worker } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createActivities } from '../../activities';
import type { ProvidersConfig } from '../../core/config';
import { LocalArtifactStore } from '../../lib/artifacts';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { localHost, workerIdentity } from '../../lib/host-identity';
import { sweepOrphanedActivities } from '../../lib/orphaned-activities';
import { tsArgs } from '../../lib/ts-process';
import type { EvaluateModelInput, ModelEvaluation } from '../../workflows/evaluate';
import { repeatsOf } from '../support/repeats';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, temporalAddress, testClient, workflowBundle } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a worker restarted after a crash', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-orphans-'));
  const taskQueue = `orphans-${process.pid}`;
  const { items } = loadSemiEvolCsv(path.join(root, 'demo/fpb/test.csv'));
  let double: ProviderDouble;
  let bundlePath: string;

  const startWorker = () => {
    const child: ChildProcess = spawn(process.execPath, tsArgs(path.join(root, 'worker.ts')), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporalAddress(),
        FLT_HOME: home,
        FLT_TASK_QUEUE: taskQueue,
        FLT_WORKFLOW_BUNDLE: bundlePath,
        FLT_ORPHANS_KEY: 'k',
      },
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    return {
      child,
      output: () => output,
      stop: async (signal: NodeJS.Signals) =>
        child.exitCode === null && child.signalCode === null ? (child.kill(signal), exited) : undefined,
    };
  };

  beforeAll(async () => {
    // One call at a time, 200 ms each: the 30 questions take about 6 s, long enough to kill the worker mid-shard.
    double = await startProviderDouble({ config: { latencyMs: 200 } });
    bundlePath = path.join(home, 'workflow-bundle.js');
    writeFileSync(bundlePath, (await workflowBundle()).code);
  });
  afterAll(async () => double?.stop());

  it('retries the dead worker’s running activity at once and loses no question', async () => {
    const store = new LocalArtifactStore(path.join(home, 'artifacts'));
    const providers: ProvidersConfig = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_ORPHANS_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 1,
      },
    };
    const input: EvaluateModelInput = {
      runId: `orphans-${Date.now()}`,
      stage: 'evaluate',
      model: { provider: 'double', model: 'sim-model' },
      test: await store.writeJsonl(items.slice(0, 30)),
      providers,
      sampling: { temperature: 0, maxTokens: 32, seed: 1 },
      metric: 'option-letter',
      execution: { shardSize: 30, parallelShards: 1 },
    };
    const { client, close } = await testClient();
    let worker = startWorker();
    try {
      // Five calls answered, the sixth held: the worker dies certainly mid-shard.
      await double.holdModelCalls({ after: 5 });
      const handle = await client.workflow.start('evaluateModel', {
        taskQueue,
        workflowId: input.runId,
        args: [input],
      });
      await double.waitForHeldModelCalls(1);
      await worker.stop('SIGKILL');
      const killedAt = Date.now();
      await double.releaseModelCalls();
      worker = startWorker();
      const result: ModelEvaluation = await handle.result();

      expect(result.score.total).toBe(30);
      expect(worker.output()).toContain(
        'worker: retrying 1 activities left running by a worker of this host that is gone',
      );
      // A retried attempt is recorded once it finishes, in its started event: attempt 2, after the dead worker's.
      const retried = (await handle.fetchHistory())
        .events!.map((e) => e.activityTaskStartedEventAttributes)
        .filter((a) => a && a.attempt! > 1);
      expect(retried.map((a) => [a!.attempt, a!.lastFailure?.applicationFailureInfo?.type])).toEqual([
        [2, 'WorkerGone'],
      ]);
      const answered = (await double.requests()).filter((r) => r.path === '/v1/chat/completions' && r.status === 200);
      // Only calls in flight at the kill may be paid twice (at the provider, or answered and not yet cached).
      expect(new Set(answered.map((r) => r.requestHash)).size).toBe(30);
      expect(repeatsOf(answered, [killedAt]).finishedRepeated).toEqual([]);
    } finally {
      await worker.stop('SIGTERM');
      await close();
    }
  });

  it('frees at a later sweep an orphan that the first sweep missed', async () => {
    const { client, close } = await testClient();
    // A worker in this process, polling under the identity of a process of this host that no longer runs: to the
    // sweep its attempts are orphans, as a crashed predecessor's would be, while the test decides when they are.
    const deadPid = 4_194_303;
    const orphanIdentity = workerIdentity(localHost(), deadPid);
    let orphanDead = true;
    const freed: number[] = [];
    const queue = `${taskQueue}-later`;
    const sweep = sweepOrphanedActivities(async () => client, queue, {
      everyMs: 100,
      forMs: 120_000,
      deadlineMs: 10_000,
      self: workerIdentity(),
      isDead: (identity) => identity === orphanIdentity && orphanDead,
      onFreed: (count) => freed.push(count),
    });
    // The first sweep finds nothing: the workflow whose attempt it should free does not exist yet (as when the
    // visibility store lists it late).
    await sweep.first;
    expect(freed).toEqual([]);
    const deps = tempDeps({ FLT_ORPHANS_KEY: 'k' });
    const connection = await NativeConnection.connect({ address: temporalAddress() });
    const worker = await Worker.create({
      connection,
      taskQueue: queue,
      identity: orphanIdentity,
      workflowBundle: await workflowBundle(),
      activities: createActivities(deps),
    });
    const providers: ProvidersConfig = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_ORPHANS_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 1,
      },
    };
    const input: EvaluateModelInput = {
      runId: `orphans-later-${Date.now()}`,
      stage: 'evaluate',
      model: { provider: 'double', model: 'sim-model' },
      test: await deps.store.writeJsonl(items.slice(0, 4)),
      providers,
      sampling: { temperature: 0, maxTokens: 32, seed: 1 },
      metric: 'option-letter',
      execution: { shardSize: 4, parallelShards: 1 },
    };
    await double.holdModelCalls();
    try {
      await worker.runUntil(async () => {
        const handle = await client.workflow.start('evaluateModel', {
          taskQueue: queue,
          workflowId: input.runId,
          args: [input],
        });
        // The shard's attempt is running (its first call is held) under the orphan's identity.
        await double.waitForHeldModelCalls(1);
        while (freed.length === 0) await sleep(50);
        // Freed by a later sweep; from now on the identity is a live worker's again, so the retry runs to the end.
        orphanDead = false;
        await double.releaseModelCalls();
        const result: ModelEvaluation = await handle.result();
        expect(result.score.total).toBe(4);
        const retried = (await handle.fetchHistory())
          .events!.map((e) => e.activityTaskStartedEventAttributes)
          .filter((a) => a && a.attempt! > 1);
        expect(retried[0]?.lastFailure?.applicationFailureInfo?.type).toBe('WorkerGone');
      });
    } finally {
      await double.releaseModelCalls();
      await sweep.stop();
      await connection.close();
      await close();
    }
  });
});
