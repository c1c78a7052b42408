// The "one parameter fits all" campaign on a reduced grid, with its worker stopped midway and a new one started:
// it completes with every cell, its chosen setting and its test run, and never creates a fine-tune job twice.
import { Context } from '@temporalio/activity';
import * as path from 'node:path';
import { createActivities } from '../../activities';
import { storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import type { SelfGuideCampaignInput, SelfGuideCampaignResult } from '../../workflows/selfguide-campaign';
import { progressQuery } from '../../core/workflow-messages';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const taskDir = (name: string) => path.resolve(__dirname, '../../../shared/data/selfguide', name);

describe('selfGuideCampaign', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } }, fineTune: { stepMs: 60, gain: 0.4 } },
    });
  });
  afterAll(async () => double?.stop());

  const campaign =
    'chooses a setting on two validation tasks, applies it to a test task, and survives a worker restart';
  it(campaign, async () => {
    const deps = tempDeps({ FLT_TEST_KEY: 'k' });
    const notes: string[] = [];
    const store = (name: string) =>
      storeSelfGuideTask(deps.store, { format: 'selfguide-task', path: taskDir(name) }, 10, notes);
    const runId = `sg-campaign-${Date.now()}`;
    const input: SelfGuideCampaignInput = {
      runId,
      validation: [await store('task1385'), await store('task036')],
      test: [await store('task1386')],
      grid: { inputTemperature: [0.7, 1.0], inputLengthFilter: [true], outputLengthFilter: [false], epochs: [1, 2] },
      campaign: { choose: 'per-kind' },
      concurrency: { branches: 2, cells: 2 },
      providers: {
        double: {
          kind: 'openai-compatible',
          baseURL: double.baseURL,
          apiKeyEnv: 'FLT_TEST_KEY',
          testDouble: true,
          requestTimeoutSeconds: 30,
          prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
          maxConcurrency: 16,
        },
      },
      model: { provider: 'double', model: 'sim-model' },
      fineTune: {
        backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
        lora: false,
        maxExampleTokens: 2000,
      },
      generation: { rounds: 2, promptsPerRound: 10, maxTokens: 500, maxPromptTokens: 3000 },
      annotation: { samples: 10, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 100 },
      evaluation: { maxTokens: 64, contextTokens: 4096, rouge: 'words' },
      execution: { shardSize: 10, parallelShards: 2 },
      seed: 0,
    };
    const { client, close } = await testClient();
    // The first worker holds every activity of task036's branches (children `<run>--task036-t<temperature>`) until
    // its shutdown cancels them. It stops once both are held and the rest of validation has finished, so nothing is
    // in flight but the held attempts: the restart lands at a known point, and no task reaches a stopping worker.
    const heldBranches = `${runId}--task036-t`;
    let held = 0;
    let bothHeld: () => void;
    const bothHeldNow = new Promise<void>((resolve) => (bothHeld = resolve));
    const activities = createActivities(deps);
    const holding = Object.fromEntries(
      Object.entries(activities).map(([name, activity]) => [
        name,
        async (...args: unknown[]) => {
          const { info, cancelled } = Context.current();
          if (!info.isLocal && info.workflowExecution?.workflowId.startsWith(heldBranches)) {
            if (++held === 2) bothHeld();
            await cancelled;
          }
          return (activity as (...a: unknown[]) => unknown)(...args);
        },
      ]),
    ) as typeof activities;
    const first = await testWorker(deps, { activities: holding });
    try {
      const handle = await client.workflow.start('selfGuideCampaign', {
        taskQueue: first.taskQueue,
        workflowId: runId,
        args: [input],
      });
      const midway = await first.run(async () => {
        await bothHeldNow;
        for (;;) {
          const progress = await handle.query(progressQuery);
          if (progress.stages[0].done === 2 && progress.stages[1].done === 2) return progress.stages[1];
          await new Promise((r) => setTimeout(r, 100));
        }
      });
      expect(midway).toMatchObject({ done: 2, total: 4 });

      const second = await testWorker(deps, { taskQueue: first.taskQueue });
      const result: SelfGuideCampaignResult = await second.run(() => handle.result());

      expect(result.cells).toHaveLength(8);
      expect(result.baselines.map((b) => b.task)).toEqual(['task1385', 'task036']);
      // One setting per kind, each chosen on its own kind's validation task.
      expect(result.choices.map((c) => [c.kinds, c.gains.map((g) => g.task)])).toEqual([
        [['classification'], ['task1385']],
        [['generation'], ['task036']],
      ]);
      for (const choice of result.choices) expect(choice.worstGain).toBe(choice.gains[0].gain);
      expect(result.test).toHaveLength(1);
      expect(result.test[0].task).toBe('task1386');
      // One job per data set serves both epoch counts from its checkpoints: 4 instead of 8 in validation.
      expect(result.sharing.shared).toMatchObject({ inputGenerations: 4, annotations: 4, fineTuneJobs: 4 });
      expect(result.sharing.unshared).toMatchObject({ inputGenerations: 8, fineTuneJobs: 8 });
      const creates = (await double.requests()).filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs');
      // 4 validation jobs, then SELF-GUIDE and few-shot fine-tuning on the test task: never one twice.
      expect(creates).toHaveLength(6);
    } finally {
      await close();
    }
  });
});
