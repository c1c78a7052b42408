// Runs that fine-tune on the same content share one provider job: it is created once however the runs overlap, and a
// cancelled run stops it only when no other run still waits on it.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { ProvidersConfig } from '../../core/config';
import type { FineTuneInput } from '../../workflows/fine-tune';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const training = [
  {
    messages: [
      { role: 'user', content: 'Question: Margins widened.\nOptions:\nA. negative\nB. neutral\nC. positive' },
      { role: 'assistant', content: 'Answer: C' },
    ],
  },
];

interface DoubleJob {
  id: string;
  status: string;
  fine_tuned_model: string | null;
  metadata?: Record<string, string>;
}

const settled = ['succeeded', 'failed', 'cancelled'];
const started = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
const pause = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('fine-tune jobs shared by runs', () => {
  let double: ProviderDouble;
  let providers: ProvidersConfig;
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });
  let client: Awaited<ReturnType<typeof testClient>>;

  beforeAll(async () => {
    double = await startProviderDouble({ config: { fineTune: { stepMs: 200 } } });
    providers = {
      double: {
        kind: 'openai-compatible',
        baseURL: double.baseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        testDouble: true,
        requestTimeoutSeconds: 30,
        prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
        maxConcurrency: 4,
      },
    };
    client = await testClient();
  });
  afterAll(async () => {
    await client?.close();
    await double?.stop();
  });

  /** A fine-tune of `stage` on the same content as every other run of this file, under its own run id. */
  const start = async (taskQueue: string, runId: string, stage: string) => {
    const args: FineTuneInput = {
      runId: `${runId}-${Date.now()}`,
      stage,
      backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 },
      providers,
      baseModel: { provider: 'double', model: 'sim-model' },
      training: await deps.store.writeJsonl(training),
      hyperparameters: { epochs: 2, learningRate: 1e-4, lora: true },
    };
    return client.client.workflow.start('fineTune', { taskQueue, workflowId: `${args.runId}-${stage}`, args: [args] });
  };
  const jobsOf = async (stage: string): Promise<DoubleJob[]> =>
    ((await (await fetch(`${double.baseURL}/fine_tuning/jobs?limit=100`)).json()) as { data: DoubleJob[] }).data.filter(
      (job) => job.metadata?.flt_tag?.endsWith(`-${stage}`),
    );
  const startedActivity = async (handle: WorkflowHandle) =>
    ((await handle.describe()).raw.pendingActivities ?? []).find((a) => a.state === started)?.activityType?.name;
  /** Resolves once the run polls its job: it knows the job and waits for it to end. */
  const waitingOnJob = async (handle: WorkflowHandle) => {
    while ((await startedActivity(handle)) !== 'waitForFineTuneJob') await pause();
  };
  const heldCreates = async () =>
    ((await (await fetch(`${double.url}/_admin/held?count=0`)).json()) as { held: number }).held;

  it('creates one job for two runs that ask for the same fine-tune at the same time', async () => {
    const worker = await testWorker(deps);
    await worker.run(async () => {
      await double.holdModelCalls({ method: 'POST', paths: '^/v1/fine_tuning/jobs$' });
      try {
        const a = await start(worker.taskQueue, 'same-time-a', 'same-time');
        await double.waitForHeldModelCalls(1);
        const b = await start(worker.taskQueue, 'same-time-b', 'same-time');
        // B has looked for the job and found none: it sends a create of its own, held beside A's. Or B asks the
        // job's owner for it, which answers only once A's create is through.
        while ((await heldCreates()) < 2 && (await startedActivity(b)) !== 'attachToFineTuneJob') await pause();
        await double.releaseModelCalls();
        const [modelA, modelB] = await Promise.all([a.result(), b.result()]);
        expect(modelB).toEqual(modelA);
        expect(await jobsOf('same-time')).toHaveLength(1);
      } finally {
        await double.releaseModelCalls();
      }
    });
  });

  it('keeps the job another run waits on when one run is cancelled, and cancels it with the last waiter', async () => {
    // Every job step lasts a minute, so the jobs certainly run until the test itself speeds them up.
    await double.configure({ fineTune: { stepMs: 60_000 } });
    const worker = await testWorker(deps);
    try {
      await worker.run(async () => {
        const a = await start(worker.taskQueue, 'shared-a', 'shared');
        const b = await start(worker.taskQueue, 'shared-b', 'shared');
        await waitingOnJob(a);
        await waitingOnJob(b);
        await a.cancel();
        await expect(a.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        const [job] = await jobsOf('shared');
        expect(await jobsOf('shared')).toHaveLength(1);
        expect(settled).not.toContain(job.status);

        await double.configure({ fineTune: { stepMs: 200 } });
        const model = await b.result();
        const [finished] = await jobsOf('shared');
        expect(finished.status).toBe('succeeded');
        expect(model.model).toBe(finished.fine_tuned_model);

        await double.configure({ fineTune: { stepMs: 60_000 } });
        const c = await start(worker.taskQueue, 'last-c', 'last-waiter');
        const d = await start(worker.taskQueue, 'last-d', 'last-waiter');
        await waitingOnJob(c);
        await waitingOnJob(d);
        await c.cancel();
        await expect(c.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        expect(settled).not.toContain((await jobsOf('last-waiter'))[0].status);
        await d.cancel();
        await expect(d.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        expect((await jobsOf('last-waiter')).map((j) => j.status)).toEqual(['cancelled']);
      });
    } finally {
      await double.configure({ fineTune: { stepMs: 200 } });
    }
  });
});
