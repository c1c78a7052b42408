// The fine-tune child workflow on the real dev server: every backend, cancellation, and no duplicate jobs.
import { WorkflowFailedError } from '@temporalio/client';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fineTuneActivities } from '../../activities/fine-tuning';
import type { ProvidersConfig } from '../../core/config';
import type { FineTuneInput } from '../../workflows/fine-tune';
import { modelCallPaths } from '../../testdouble/config';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const training = [
  {
    messages: [
      { role: 'user', content: 'Question: Profit rose.\nOptions:\nA. negative\nB. neutral\nC. positive' },
      { role: 'assistant', content: 'Answer: C' },
    ],
  },
  {
    messages: [
      { role: 'user', content: 'Question: Sales fell.\nOptions:\nA. negative\nB. neutral\nC. positive' },
      { role: 'assistant', content: 'Answer: A' },
    ],
  },
];

describe('fineTune workflow', () => {
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

  const input = async (stage: string, backend: FineTuneInput['backend']): Promise<FineTuneInput> => ({
    runId: `ft-${Date.now()}`,
    stage,
    backend,
    providers,
    baseModel: { provider: 'double', model: 'sim-model' },
    training: await deps.store.writeJsonl(training),
    hyperparameters: { epochs: 2, learningRate: 1e-4, lora: true },
  });
  const start = (taskQueue: string, args: FineTuneInput) =>
    client.client.workflow.start('fineTune', { taskQueue, workflowId: `${args.runId}-${args.stage}`, args: [args] });
  const jobCreates = async () =>
    (await double.requests()).filter((r) => r.method === 'POST' && r.path === '/v1/fine_tuning/jobs').length;

  it('runs an OpenAI fine-tuning job once and returns the fine-tuned model', async () => {
    const worker = await testWorker(deps);
    await worker.run(async () => {
      const before = await jobCreates();
      const model = await (
        await start(
          worker.taskQueue,
          await input('warmup', { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 }),
        )
      ).result();
      expect(model.provider).toBe('double');
      expect(model.model).toMatch(/^ft:sim-model/);
      expect((await jobCreates()) - before).toBe(1);
    });
  });

  it('runs a Together job through its REST API', async () => {
    const worker = await testWorker({ ...deps, env: { ...deps.env, TOGETHER_API_KEY: 'k' } });
    await worker.run(async () => {
      const model = await (
        await start(
          worker.taskQueue,
          await input('together', {
            kind: 'together',
            baseURL: double.togetherBaseURL,
            apiKeyEnv: 'TOGETHER_API_KEY',
            provider: 'double',
            pollIntervalSeconds: 0.2,
          }),
        )
      ).result();
      expect(model.model).toBeTruthy();
    });
  });

  it('runs a Fireworks supervised fine-tuning job under its tag id and returns its output model', async () => {
    const worker = await testWorker({ ...deps, env: { ...deps.env, FIREWORKS_API_KEY: 'k' } });
    await worker.run(async () => {
      const model = await (
        await start(
          worker.taskQueue,
          await input('fireworks', {
            kind: 'fireworks',
            baseURL: double.fireworksBaseURL,
            apiKeyEnv: 'FIREWORKS_API_KEY',
            account: 'flt-wf',
            provider: 'double',
            pollIntervalSeconds: 0.2,
          }),
        )
      ).result();
      expect(model).toEqual({ provider: 'double', model: expect.stringMatching(/^accounts\/flt-wf\/models\/flt-c/) });
      const creates = (await double.requests()).filter(
        (r) => r.method === 'POST' && r.path === '/fireworks/v1/accounts/flt-wf/supervisedFineTuningJobs',
      );
      expect(creates).toHaveLength(1);
    });
  });

  it('runs a local trainer command and returns the served adapter', async () => {
    const worker = await testWorker(deps);
    await worker.run(async () => {
      const command =
        'echo "epochs=$FLT_EPOCHS"; mkdir -p "$FLT_OUTPUT_DIR" && cp "$FLT_TRAIN_FILE" "$FLT_OUTPUT_DIR/seen.jsonl"';
      const model = await (
        await start(
          worker.taskQueue,
          await input('local', {
            kind: 'command',
            command,
            provider: 'double',
            servedModel: 'adapter-{job}',
            pollIntervalSeconds: 0.1,
          }),
        )
      ).result();
      expect(model.model).toMatch(/^adapter-flt-/);
    });
  });

  it('adapts in context without a job: the training set becomes the demonstration pool', async () => {
    const worker = await testWorker(deps);
    await worker.run(async () => {
      const args = await input('icl', { kind: 'in-context', k: 2 });
      const model = await (await start(worker.taskQueue, args)).result();
      expect(model).toEqual({ provider: 'double', model: 'sim-model', demonstrations: { pool: args.training, k: 2 } });
    });
  });

  it('reuses the job trained on the same inputs in a later run, but never a failed one', async () => {
    const worker = await testWorker(deps);
    await worker.run(async () => {
      const backend = { kind: 'openai' as const, provider: 'double', pollIntervalSeconds: 0.2 };
      const first = await (await start(worker.taskQueue, await input('reused', backend))).result();
      const before = await jobCreates();
      const again = await (
        await start(worker.taskQueue, { ...(await input('reused', backend)), runId: `ft-again-${Date.now()}` })
      ).result();
      expect(again).toEqual(first);
      expect(await jobCreates()).toBe(before);

      await double.configure({ failNextJobs: 1 });
      const failing = await input('failed-once', backend);
      await expect((await start(worker.taskQueue, failing)).result()).rejects.toBeInstanceOf(WorkflowFailedError);
      const retried = await (await start(worker.taskQueue, { ...failing, runId: `ft-resumed-${Date.now()}` })).result();
      expect(retried.model).toMatch(/^ft:sim-model/);
      expect((await jobCreates()) - before).toBe(2);
    });
  });

  it('fails the run with the provider message when the job fails', async () => {
    await double.configure({ failNextJobs: 1 });
    const worker = await testWorker(deps);
    await worker.run(async () => {
      const handle = await start(
        worker.taskQueue,
        await input('doomed', { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 }),
      );
      const err = await handle.result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(String(err.cause?.message)).toMatch(/ended failed: simulated training failure/);
    });
  });

  it('fails the run at once, without a retry, when OpenAI refuses the job under its fine-tuning closure', async () => {
    await double.configure({ openaiFineTuningClosed: true });
    const worker = await testWorker(deps);
    try {
      await worker.run(async () => {
        const before = await jobCreates();
        const handle = await start(
          worker.taskQueue,
          await input('closed', { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 }),
        );
        const err = await handle.result().catch((e) => e);
        expect(err).toBeInstanceOf(WorkflowFailedError);
        const causes: { message: string; type?: string }[] = [];
        for (let e = err.cause; e; e = e.cause) causes.push(e);
        expect(causes.map((c) => c.type)).toContain('InvalidConfig');
        expect(causes.map((c) => c.message).join(' | ')).toMatch(/closed self-serve fine-tuning.*"fireworks"/);
        expect((await jobCreates()) - before).toBe(1);
      });
    } finally {
      await double.configure({ openaiFineTuningClosed: false });
    }
  });

  it('starts a new job when one fails, as configured, without creating any job twice', async () => {
    await double.configure({ failNextJobs: 2 });
    const worker = await testWorker(deps);
    await worker.run(async () => {
      const before = await jobCreates();
      const model = await (
        await start(
          worker.taskQueue,
          await input('flaky', { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2, retryFailedJobs: 2 }),
        )
      ).result();
      expect(model.model).toMatch(/^ft:sim-model/);
      expect((await jobCreates()) - before).toBe(3);
    });
  });

  it('kills the local trainer process group when the run is cancelled', async () => {
    const worker = await testWorker(deps);
    await worker.run(async () => {
      const args = await input('trainer-cancelled', {
        kind: 'command',
        command: 'sleep 300 & sleep 300; wait',
        provider: 'double',
        servedModel: '{job}',
        pollIntervalSeconds: 0.1,
      });
      const handle = await start(worker.taskQueue, args);
      // Job directories are named by the job's content tag, which ends in the stage.
      const jobDir = () =>
        existsSync(deps.jobsDir) ? readdirSync(deps.jobsDir).find((d) => d.endsWith('-trainer-cancelled')) : undefined;
      while (!jobDir() || !existsSync(path.join(deps.jobsDir, jobDir()!, 'pid')))
        await new Promise((r) => setTimeout(r, 50));
      const pidFile = path.join(deps.jobsDir, jobDir()!, 'pid');
      const pgid = Number(readFileSync(pidFile, 'utf8'));
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      // No process of the trainer's group is left (zombies awaiting a reaper don't count: they hold nothing).
      const alive = readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
            const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            return Number(fields[2]) === pgid && fields[0] !== 'Z';
          } catch {
            return false;
          }
        });
      expect(alive).toEqual([]);
    });
  });

  it('cancels the remote job when the run is cancelled', async () => {
    await double.configure({ fineTune: { stepMs: 60_000 } });
    const worker = await testWorker(deps);
    try {
      await worker.run(async () => {
        const before = await jobCreates();
        const handle = await start(
          worker.taskQueue,
          await input('cancelled', { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 }),
        );
        while ((await jobCreates()) === before) await new Promise((r) => setTimeout(r, 100));
        await handle.cancel();
        await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        const jobs = (await (
          await fetch(`${double.baseURL}/fine_tuning/jobs`, { headers: { authorization: 'Bearer k' } })
        ).json()) as { data: { status: string }[] };
        expect(jobs.data[0].status).toBe('cancelled');
      });
    } finally {
      await double.configure({ fineTune: { stepMs: 200 } });
    }
  });

  it('cancels the job its create made when the run is cancelled while the create is still running', async () => {
    // The create reaches the double and its job exists; the events request that follows is held (a timeout fault),
    // so the start activity is certainly still running, its job id unknown to the workflow, when the cancel arrives.
    await double.configure({
      fineTune: { stepMs: 60_000 },
      faults: { rate: 1, kinds: ['timeout'], timeoutMs: 120_000, paths: '^/v1/fine_tuning/jobs/[^/]+/events$' },
    });
    const worker = await testWorker(deps);
    try {
      await worker.run(async () => {
        const before = await jobCreates();
        const args = await input('create-cancelled', { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 });
        const handle = await start(worker.taskQueue, args);
        while ((await jobCreates()) === before) await new Promise((r) => setTimeout(r, 100));
        // Later requests (the cancel path's own) are answered; the held events request stays held.
        await double.configure({ faults: { rate: 0, paths: modelCallPaths } });
        await handle.cancel();
        await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        const jobs = (await (
          await fetch(`${double.baseURL}/fine_tuning/jobs`, { headers: { authorization: 'Bearer k' } })
        ).json()) as { data: { status: string; metadata?: Record<string, string> }[] };
        const ours = jobs.data.filter((job) => job.metadata?.flt_tag?.endsWith('-create-cancelled'));
        expect(ours.map((job) => job.status)).toEqual(['cancelled']);
      });
    } finally {
      await double.configure({ fineTune: { stepMs: 200 }, faults: { rate: 0, paths: modelCallPaths } });
    }
  });

  it('cancels by tag the live job a start made, and leaves a job that ended as it is', async () => {
    const activities = fineTuneActivities(deps);
    const jobStatus = async (id: string) =>
      ((await (await fetch(`${double.baseURL}/fine_tuning/jobs/${id}`)).json()) as { status: string }).status;
    const request = async (stage: string) => ({
      tag: { runId: `ft-by-tag-${Date.now()}`, stage },
      backend: { kind: 'openai' as const, provider: 'double', pollIntervalSeconds: 0.2 },
      providers,
      training: await deps.store.writeJsonl(training),
      baseModel: 'sim-model',
      hyperparameters: { epochs: 2 },
    });

    // A job that succeeded (one another run may be using) is not cancelled.
    const done = await request('by-tag-succeeded');
    const succeeded = await activities.startFineTuneJob(done);
    while ((await jobStatus(succeeded.jobId)) !== 'succeeded') await new Promise((r) => setTimeout(r, 100));
    await activities.cancelFineTuneJobByTag(done);
    expect(await jobStatus(succeeded.jobId)).toBe('succeeded');

    await double.configure({ fineTune: { stepMs: 60_000 } });
    try {
      const live = await request('by-tag-live');
      const started = await activities.startFineTuneJob(live);
      await activities.cancelFineTuneJobByTag(live);
      expect(await jobStatus(started.jobId)).toBe('cancelled');
      await activities.cancelFineTuneJobByTag(live); // nothing left to cancel: no error
    } finally {
      await double.configure({ fineTune: { stepMs: 200 } });
    }
  });

  it('fails at once, naming the variable, when the backend API key is not set', async () => {
    const worker = await testWorker(deps);
    await worker.run(async () => {
      const before = (await double.requests()).length;
      const args = await input('no-key', {
        kind: 'together',
        baseURL: double.togetherBaseURL,
        apiKeyEnv: 'FLT_UNSET_TOGETHER_KEY',
        provider: 'double',
        pollIntervalSeconds: 0.2,
      });
      const err = await (await start(worker.taskQueue, args)).result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const causes: { message: string; type?: string }[] = [];
      for (let e = err.cause; e; e = e.cause) causes.push(e);
      expect(causes.map((c) => c.type)).toContain('MissingSecret');
      expect(causes.map((c) => c.message).join(' | ')).toMatch(/FLT_UNSET_TOGETHER_KEY/);
      expect((await double.requests()).length).toBe(before);
    });
  });

  it('cancels the job a create made when the run is cancelled and the create then fails', async () => {
    // The double creates the job but answers only after a minute; the client gives up after 10 s, so the start's
    // attempt fails after the cancel, never having learned the job id.
    await double.configure({ fineTune: { stepMs: 60_000, createReplyDelayMs: 60_000 } });
    const worker = await testWorker(deps);
    const ours = async () =>
      (
        (await (await fetch(`${double.baseURL}/fine_tuning/jobs?limit=100`)).json()) as {
          data: { status: string; metadata?: Record<string, string> }[];
        }
      ).data.filter((job) => job.metadata?.flt_tag?.endsWith('-create-unanswered'));
    try {
      await worker.run(async () => {
        const args = {
          ...(await input('create-unanswered', { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 })),
          providers: { double: { ...providers.double, requestTimeoutSeconds: 10 } },
        };
        const handle = await start(worker.taskQueue, args);
        while ((await ours()).length === 0) await new Promise((r) => setTimeout(r, 100));
        await handle.cancel();
        await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        expect((await ours()).map((job) => job.status)).toEqual(['cancelled']);
      });
    } finally {
      await double.configure({ fineTune: { stepMs: 200, createReplyDelayMs: 0 } });
    }
  });
});
