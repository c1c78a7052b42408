// A rollout with worker versioning: version 1 (the project's workflows) starts an evaluationRun whose model calls are
// held at the provider test double, so it is certainly mid-run when version 2 (test/fixtures/versioned-workflows:
// evaluationRun with a new first step no old history can replay) starts polling the same task queue and is promoted
// with `flt rollout`'s function. A second run then starts on version 2, the calls are released, and both finish: the
// first pinned to version 1 throughout (every workflow task on it, no task failure), the second on version 2. The
// first run's history does not replay on version 2's code: that is why it is pinned.
import type { temporal } from '@temporalio/proto';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import * as path from 'node:path';
import { createActivities } from '../../activities';
import type { ActivityDeps } from '../../activities/context';
import type { ProvidersConfig } from '../../core/config';
import { rollout, workersLines } from '../../cli/workers';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { becomeCurrentIfNone, describeDeployment, versionTaskQueues } from '../../lib/worker-deployment';
import { buildIdOf, versionedWorker, workerDeploymentName, workerVersion } from '../../lib/worker-version';
import type { EvaluationRunInput, EvaluationRunResult } from '../../workflows/evaluation-run';
import { childId } from '../../workflows/shared';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, temporalAddress, testClient, workflowBundle } from '../support/temporal';

type History = temporal.api.history.v1.IHistory;

const root = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls until `check` holds; the test's own timeout bounds the wait. */
const until = async (check: () => Promise<boolean>) => {
  while (!(await check())) await sleep(100);
};
const changedBundle = () =>
  bundleWorkflowCode({
    workflowsPath: require.resolve('../fixtures/versioned-workflows'),
    logger: new DefaultLogger('WARN'),
  });

/** The build id of every completed workflow task, in order. */
const taskBuildIds = (history: History) =>
  (history.events ?? []).flatMap((e) =>
    e.workflowTaskCompletedEventAttributes ? [e.workflowTaskCompletedEventAttributes.deploymentVersion?.buildId] : [],
  );
const taskFailures = (history: History) => (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
const timers = (history: History) => (history.events ?? []).filter((e) => e.timerStartedEventAttributes);

describe('worker versioning', () => {
  const { items } = loadSemiEvolCsv(path.join(root, 'demo/fpb/test.csv'));
  const sample = items.slice(0, 4);
  let double: ProviderDouble;
  let before: WorkflowBundleWithSourceMap;
  let after: WorkflowBundleWithSourceMap;

  beforeAll(async () => {
    double = await startProviderDouble({
      gold: sample.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] })),
    });
    before = await workflowBundle();
    after = await changedBundle();
  });
  afterAll(async () => double?.stop());

  it('derives the build id from the workflow bundle unless FLT_BUILD_ID names one, and is off by default', async () => {
    expect(buildIdOf((await changedBundle()).code)).toBe(buildIdOf(after.code));
    expect(buildIdOf(before.code)).not.toBe(buildIdOf(after.code));
    expect(buildIdOf(after.code)).toMatch(/^[0-9a-f]{12}$/);
    expect(workerVersion('flt', after.code, {})).toEqual({ deploymentName: 'flt', buildId: buildIdOf(after.code) });
    expect(workerVersion('flt', after.code, { FLT_BUILD_ID: 'release-7' }).buildId).toBe('release-7');
    expect(workerDeploymentName({})).toBeUndefined();
    expect(workerDeploymentName({ FLT_WORKER_DEPLOYMENT: 'flt' })).toBe('flt');
  });

  it('keeps a run in flight on version 1 while version 2 takes the new runs, and both finish', async () => {
    const deps: ActivityDeps = tempDeps({ FLT_VERSIONING_KEY: 'k' });
    const providers: ProvidersConfig = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_VERSIONING_KEY',
        testDouble: true,
        requestTimeoutSeconds: 60,
        maxConcurrency: 4,
        prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 2, trainingPerMillionTokens: 0 },
      },
    };
    const test = await deps.store.writeJsonl(sample);
    const input = (runId: string): EvaluationRunInput => ({
      runId,
      task: 'fpb',
      providers,
      models: [{ provider: 'double', model: 'sim-model' }],
      test,
      sampling: { temperature: 0, maxTokens: 32, seed: 1 },
      metric: 'option-letter',
      execution: { shardSize: 2, parallelShards: 2 },
    });
    const suffix = Math.random().toString(36).slice(2, 10);
    const deploymentName = `versioning-${suffix}`;
    const taskQueue = `versioning-${suffix}`;
    const v1 = workerVersion(deploymentName, before.code, {});
    const v2 = workerVersion(deploymentName, after.code, {});
    /** A versioned worker on the shared task queue; a nondeterminism error fails the run instead of retrying. */
    const withWorker = async <T>(
      version: WorkerDeploymentVersion,
      bundle: WorkflowBundleWithSourceMap,
      fn: () => Promise<T>,
    ): Promise<T> => {
      const connection = await NativeConnection.connect({ address: temporalAddress() });
      try {
        const worker = await Worker.create({
          connection,
          taskQueue,
          identity: version.buildId,
          workflowBundle: bundle,
          activities: createActivities(deps),
          workerDeploymentOptions: versionedWorker(version),
          workflowFailureErrorTypes: { '*': ['NondeterminismError'] },
        });
        return await worker.runUntil(fn);
      } finally {
        await connection.close();
      }
    };

    const firstId = `versioning-first-${suffix}`;
    const secondId = `versioning-second-${suffix}`;
    const { client, close } = await testClient();
    try {
      const results = await withWorker(v1, before, async () => {
        // First deploy: the deployment has no current version, so version 1 makes itself current.
        expect(await becomeCurrentIfNone(client, v1)).toEqual({ promoted: true });
        await double.holdModelCalls({ model: 'sim-model' });
        const first = await client.workflow.start('evaluationRun', {
          taskQueue,
          workflowId: firstId,
          args: [input(firstId)],
        });
        await double.waitForHeldModelCalls(1); // certainly mid-run on version 1
        // A version the server has not seen yet (the deployment may list it before the version itself can be
        // described) has polled no task queue.
        expect(await versionTaskQueues(client, v2)).toEqual([]);

        return withWorker(v2, after, async () => {
          // A later worker never promotes itself over a current version; the operator does, once it is listed.
          expect(await becomeCurrentIfNone(client, v2)).toEqual({ promoted: false, current: v1.buildId });
          // The server promotes a version only once it has polled every task queue (workflows and activities) that
          // the current one serves.
          const served = await versionTaskQueues(client, v1);
          await until(async () => {
            const listed = await describeDeployment(client, deploymentName);
            if (!listed?.versions.some((v) => v.buildId === v2.buildId)) return false;
            const polled = await versionTaskQueues(client, v2);
            return served.every((q) => polled.includes(q));
          });
          expect(await rollout(client, deploymentName, v2.buildId)).toBe(
            `deployment "${deploymentName}": new runs start on build ${v2.buildId}; runs pinned to ${v1.buildId} ` +
              'finish there: stop its workers once `flt workers` shows it drained and no open runs',
          );
          const second = await client.workflow.start('evaluationRun', {
            taskQueue,
            workflowId: secondId,
            args: [input(secondId)],
          });
          await double.releaseModelCalls();
          const finished: EvaluationRunResult[] = [await first.result(), await second.result()];

          // What an operator sees: version 2 current, version 1 no longer taking new runs.
          let lines: string[] = [];
          await until(async () => {
            lines = await workersLines(client, deploymentName, taskQueue);
            return lines.some((l) => /^\S+\tdrain/.test(l) && l.startsWith(v1.buildId));
          });
          expect(lines[0]).toBe(`deployment "${deploymentName}": new runs start on build ${v2.buildId}`);
          expect(lines.find((l) => l.startsWith(v2.buildId))).toMatch(/^\S+\tcurrent\t/);
          return finished;
        });
      });
      for (const result of results) expect(result.evaluations[0].score.total).toBe(4);

      // The first run: pinned to version 1, every workflow task on it, no task failure, not the new step.
      const firstHistory = await client.workflow.getHandle(firstId).fetchHistory();
      expect(new Set(taskBuildIds(firstHistory))).toEqual(new Set([v1.buildId]));
      expect(taskFailures(firstHistory)).toEqual([]);
      expect(timers(firstHistory)).toEqual([]);
      const firstInfo = (await client.workflow.getHandle(firstId).describe()).raw.workflowExecutionInfo?.versioningInfo;
      expect(firstInfo?.deploymentVersion?.buildId).toBe(v1.buildId);
      expect(String(firstInfo?.behavior)).toMatch(/PINNED|^1$/);
      // Its evaluation stage, short, auto-upgrades: its tasks after the rollout ran on version 2, with no failure.
      const stage = client.workflow.getHandle(childId(firstId, 'evaluate-1'));
      const stageInfo = (await stage.describe()).raw.workflowExecutionInfo?.versioningInfo;
      expect(String(stageInfo?.behavior)).toMatch(/AUTO_UPGRADE|^2$/);
      const stageHistory = await stage.fetchHistory();
      expect(taskBuildIds(stageHistory)[0]).toBe(v1.buildId);
      expect(taskBuildIds(stageHistory).at(-1)).toBe(v2.buildId);
      expect(taskFailures(stageHistory)).toEqual([]);

      // The second run: version 2 throughout, with its new first step.
      const secondHistory = await client.workflow.getHandle(secondId).fetchHistory();
      expect(new Set(taskBuildIds(secondHistory))).toEqual(new Set([v2.buildId]));
      expect(taskFailures(secondHistory)).toEqual([]);
      expect(timers(secondHistory)).toHaveLength(1);

      // Why it is pinned: version 2's code cannot replay the first run; version 1's can.
      await expect(Worker.runReplayHistory({ workflowBundle: after }, firstHistory, firstId)).rejects.toThrow(
        /[Nn]ondetermin|DeterminismViolation/,
      );
      await Worker.runReplayHistory({ workflowBundle: before }, firstHistory, firstId);
    } finally {
      await close();
    }
  });
});
