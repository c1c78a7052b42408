// A run in flight survives a patched change to a workflow. An evaluationRun is paused part-way through its
// evaluateModel child on a worker running the project's workflows; that worker stops and one running
// test/fixtures/patched-workflows (evaluateModel with a new first activity behind patched()) takes over the task
// queue. The run in flight must finish on the old branch with the right result and no workflow task failure, a run
// started after the change must take the new branch, and the same change without the guard must fail to replay the
// in-flight run's history: that is why the guard is there.
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import * as path from 'node:path';
import { createActivities } from '../../activities';
import type { ProvidersConfig } from '../../core/config';
import { loadSemiEvolCsv } from '../../lib/datasets';
import type { ControlState, RunProgress } from '../../core/workflow-messages';
import type { EvaluationRunInput, EvaluationRunResult } from '../../workflows/evaluation-run';
import { childId } from '../../workflows/shared';
import { checkGoldActivities } from '../fixtures/patched-workflows/activities';
import { checkGoldPatch } from '../fixtures/patched-workflows/evaluate-model';
import { shardListsPatch, stageSpendPatch } from '../../workflows/shard-list-loop';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, temporalAddress, testClient, workflowBundle } from '../support/temporal';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const root = path.resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls until `check` holds; the test's own timeout bounds the wait. */
const until = async (check: () => Promise<boolean>) => {
  while (!(await check())) await sleep(50);
};
const bundle = (file: string) =>
  bundleWorkflowCode({ workflowsPath: require.resolve(file), logger: new DefaultLogger('WARN') });

const eventsOf = (history: History): HistoryEvent[] => history.events ?? [];
const typeName = (event: HistoryEvent) => String(event.eventType);
const taskFailures = (history: History) =>
  eventsOf(history).filter((e) => /WORKFLOW_TASK_FAILED/.test(typeName(e)) || e.workflowTaskFailedEventAttributes);
const scheduled = (history: History) =>
  eventsOf(history).flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name!] : [],
  );
const markers = (history: History) =>
  eventsOf(history).flatMap((e) => (e.markerRecordedEventAttributes ? [e.markerRecordedEventAttributes] : []));
/** The patch ids in a history's patch markers (core records `{id, deprecated}` as JSON under `patch-data`). */
const patchIds = (history: History) =>
  markers(history)
    .filter((m) => m.markerName === 'core_patch')
    .flatMap((m) =>
      (m.details?.['patch-data']?.payloads ?? []).map(
        (p) => (JSON.parse(Buffer.from(p.data!).toString('utf8')) as { id: string }).id,
      ),
    );
/** answerQuestions attempts started by the worker with this identity. */
const shardsStartedBy = (history: History, identity: string) => {
  const answering = new Set(
    eventsOf(history)
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'answerQuestions')
      .map((e) => String(e.eventId)),
  );
  return eventsOf(history).filter(
    (e) =>
      e.activityTaskStartedEventAttributes &&
      answering.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)) &&
      e.activityTaskStartedEventAttributes.identity === identity,
  ).length;
};

describe('a patched change to evaluateModel while a run is in flight', () => {
  const { items } = loadSemiEvolCsv(path.join(root, 'demo/fpb/test.csv'));
  const sample = items.slice(0, 20);
  let double: ProviderDouble;
  let patchedBundle: WorkflowBundleWithSourceMap;
  let unguardedBundle: WorkflowBundleWithSourceMap;

  beforeAll(async () => {
    // One call at a time, 200 ms each: ten shards of two questions take seconds, long enough to pause after the first.
    double = await startProviderDouble({
      config: { latencyMs: 200 },
      gold: sample.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] })),
    });
    patchedBundle = await bundle('../fixtures/patched-workflows');
    unguardedBundle = await bundle('../fixtures/patched-workflows/unguarded');
  });
  afterAll(async () => double?.stop());

  const patchedRuns =
    'finishes the in-flight run on the old branch, sends a new run down the new one, and needs the guard';
  it(patchedRuns, async () => {
    const deps = tempDeps({ FLT_PATCH_KEY: 'k' });
    const providers: ProvidersConfig = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_PATCH_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 2, trainingPerMillionTokens: 0 },
        maxConcurrency: 1,
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
      execution: { shardSize: 2, parallelShards: 1 },
    });
    const taskQueue = `patching-${Math.random().toString(36).slice(2, 10)}`;
    const gold = checkGoldActivities(deps.store);
    /** A worker on the shared task queue; a nondeterminism error fails the run instead of retrying its task forever. */
    const withWorker = async <T>(
      identity: string,
      workflowBundle: WorkflowBundleWithSourceMap,
      activities: object,
      fn: () => Promise<T>,
    ): Promise<T> => {
      const connection = await NativeConnection.connect({ address: temporalAddress() });
      try {
        const worker = await Worker.create({
          connection,
          taskQueue,
          identity,
          workflowBundle,
          activities,
          workflowFailureErrorTypes: { '*': ['NondeterminismError'] },
        });
        return await worker.runUntil(fn);
      } finally {
        await connection.close();
      }
    };

    const stamp = Date.now();
    const inFlightId = `patch-in-flight-${stamp}`;
    const newRunId = `patch-new-${stamp}`;
    const { client, close } = await testClient();
    try {
      const run = client.workflow.getHandle<(input: EvaluationRunInput) => Promise<EvaluationRunResult>>(inFlightId);
      const child: WorkflowHandle = client.workflow.getHandle(childId(inFlightId, 'evaluate-1'));
      const progress = () => child.query<RunProgress>('progress').catch(() => null); // null until the child exists

      // Before the change: the project's workflows start the run; its child is paused once a shard has finished.
      const atPause = await withWorker('before-change', await workflowBundle(), createActivities(deps), async () => {
        await client.workflow.start('evaluationRun', { taskQueue, workflowId: inFlightId, args: [input(inFlightId)] });
        await until(async () => ((await progress())?.stages[0].done ?? 0) >= 1);
        await child.signal('pause');
        // Paused, with the shard that was running finished and nothing left to do until unpaused.
        await until(async () => {
          const control = await child.query<ControlState>('control');
          const { raw } = await child.describe();
          return control.paused && !raw.pendingActivities?.length && !raw.pendingWorkflowTask;
        });
        return (await progress())!.stages[0];
      });
      expect(atPause.total).toBe(10);
      expect(atPause.done).toBeGreaterThanOrEqual(1);
      expect(atPause.done).toBeLessThan(10); // still in flight when its worker stopped
      const inFlightHistory = await child.fetchHistory();
      // The shard list, its one page, one answering activity per shard, their results in one batch, the score.
      const shardSteps = [
        'listShards',
        'readShardPage',
        ...Array(10).fill('answerQuestions'),
        'appendShardResults',
        'scoreAnswers',
      ];
      expect(scheduled(inFlightHistory)[0]).toBe('listShards');

      // After the change: the fixture's workflows and the new activity; the paused run goes on, then a new run starts.
      const { before: resultBefore, after: resultAfter } = await withWorker(
        'after-change',
        patchedBundle,
        { ...createActivities(deps), ...gold.activities },
        async () => {
          await child.signal('unpause');
          const before = await run.result();
          const after: EvaluationRunResult = await client.workflow.execute('evaluationRun', {
            taskQueue,
            workflowId: newRunId,
            args: [input(newRunId)],
          });
          return { before, after };
        },
      );

      // The in-flight run finished on the new worker with every question answered once and the same score as a run
      // made entirely after the change (which found every answer in the response cache).
      const [evaluation] = resultBefore.evaluations;
      expect(evaluation.score.total).toBe(20);
      expect(evaluation.usage.calls).toBe(20);
      expect(resultAfter.evaluations[0].usage).toMatchObject({ calls: 0, cachedCalls: 20 });
      expect(resultAfter.evaluations[0].score).toEqual(evaluation.score);
      const answered = (await double.requests()).filter((r) => r.path === '/v1/chat/completions' && r.status === 200);
      expect(answered).toHaveLength(20);
      expect(new Set(answered.map((r) => r.requestHash)).size).toBe(20);

      // It crossed the change: shards before the pause ran on the old worker, the rest on the new one, with no
      // workflow task failure anywhere, no marker of this patch and no new activity: it kept to the old branch.
      const parentHistory = await run.fetchHistory();
      const childHistory = await child.fetchHistory();
      expect(shardsStartedBy(childHistory, 'before-change')).toBe(atPause.done);
      expect(shardsStartedBy(childHistory, 'after-change')).toBe(10 - atPause.done);
      expect(taskFailures(parentHistory)).toEqual([]);
      expect(taskFailures(childHistory)).toEqual([]);
      // The stage's spend marker comes with its first recorded page of paid shards (the later run paid nothing).
      expect(patchIds(childHistory)).toEqual([shardListsPatch, stageSpendPatch]);
      expect(scheduled(childHistory)).toEqual(shardSteps);

      // The run started after the change took the new branch: the patch marker, then the new activity first.
      const newChildHistory = await client.workflow.getHandle(childId(newRunId, 'evaluate-1')).fetchHistory();
      expect(patchIds(newChildHistory)).toEqual([checkGoldPatch, shardListsPatch]);
      expect(scheduled(newChildHistory)).toEqual(['checkGoldAnswers', ...shardSteps]);
      expect(taskFailures(newChildHistory)).toEqual([]);
      expect(taskFailures(await client.workflow.getHandle(newRunId).fetchHistory())).toEqual([]);
      expect(gold.calls).toEqual([test]);

      // Why the guard matters: the same change without patched() cannot replay the in-flight run's history (as it
      // stood when its worker stopped, or finished), while the guarded change replays both runs' histories.
      await expect(
        Worker.runReplayHistory({ workflowBundle: unguardedBundle }, inFlightHistory, inFlightId),
      ).rejects.toThrow(/[Nn]ondetermin|DeterminismViolation/);
      await expect(
        Worker.runReplayHistory({ workflowBundle: unguardedBundle }, childHistory, inFlightId),
      ).rejects.toThrow(/[Nn]ondetermin|DeterminismViolation/);
      await Worker.runReplayHistory({ workflowBundle: patchedBundle }, inFlightHistory, inFlightId);
      await Worker.runReplayHistory({ workflowBundle: patchedBundle }, childHistory, inFlightId);
      await Worker.runReplayHistory({ workflowBundle: patchedBundle }, newChildHistory, newRunId);
    } finally {
      await close();
    }
  });
});
