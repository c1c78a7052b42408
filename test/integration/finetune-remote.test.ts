// The OpenAI, Together and Fireworks fine-tune backends against the provider test double.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFineTuneBackend } from '../../activities/providers/finetune/backend';
import { tagName, type FineTuneBackend, type JobTag } from '../../activities/providers/finetune/backend-common';
import type { FineTuneBackendConfig, ProvidersConfig } from '../../core/config';
import { terminalFineTuneStatuses, type FineTuneJobState } from '../../core/types';
import { classify, retryAfterMs } from '../../activities/providers/errors';
import { InvalidConfig } from '../../core/errors';
import { modelCallPaths } from '../../testdouble/config';
import { startProviderDouble } from '../support/provider-double';

type Double = Awaited<ReturnType<typeof startProviderDouble>>;

const apiKey = 'test-key';
const hyperparameters = { epochs: 1, learningRate: 1, batchSize: 1 };

let dbl: Double;
let workDir: string;
let trainingPath: string;
let trainingSha: string;

interface Flavour {
  name: 'openai' | 'together' | 'fireworks';
  config: () => Exclude<FineTuneBackendConfig, { kind: 'in-context' | 'command' }>;
  /** Regular expressions for request paths. */
  uploadPath: string;
  createPath: string;
  /** Lists a job's events; null where the provider keeps none (Fireworks). */
  eventsPath: string | null;
  /** What the provider calls an uploaded training file. */
  fileId: RegExp;
  /** The last event of a job that succeeded. */
  completedEvent: RegExp;
  /** Whether the job's state carries a progress percent. */
  reportsProgress: boolean;
}

const flavours: Flavour[] = [
  {
    name: 'openai',
    config: () => ({ kind: 'openai', provider: 'double', pollIntervalSeconds: 1 }),
    uploadPath: '/v1/files',
    createPath: '/v1/fine_tuning/jobs',
    eventsPath: '^/v1/fine_tuning/jobs/[^/]+/events$',
    fileId: /^file-/,
    completedEvent: /successfully completed/,
    reportsProgress: false,
  },
  {
    name: 'together',
    config: () => ({
      kind: 'together',
      baseURL: dbl.togetherBaseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      provider: 'double',
      pollIntervalSeconds: 1,
    }),
    uploadPath: '/together/v1/files/upload',
    createPath: '/together/v1/fine-tunes',
    eventsPath: '^/together/v1/fine-tunes/[^/]+/events$',
    fileId: /^file-/,
    completedEvent: /successfully completed/,
    reportsProgress: true,
  },
  {
    name: 'fireworks',
    config: () => ({
      kind: 'fireworks',
      baseURL: dbl.fireworksBaseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      account: 'flt-test',
      provider: 'double',
      pollIntervalSeconds: 1,
    }),
    uploadPath: '/fireworks/v1/accounts/flt-test/datasets/[^/]+:upload',
    createPath: '/fireworks/v1/accounts/flt-test/supervisedFineTuningJobs',
    eventsPath: null,
    fileId: /^accounts\/flt-test\/datasets\/flt-/,
    completedEvent: /^JOB_STATE_COMPLETED$/,
    reportsProgress: true,
  },
];

function providers(): ProvidersConfig {
  return {
    double: {
      kind: 'openai-compatible',
      baseURL: dbl.baseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      testDouble: true,
      requestTimeoutSeconds: 10,
      prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
      maxConcurrency: 4,
    },
  };
}

function backendFor(flavour: Flavour, key: string = apiKey): FineTuneBackend {
  return createFineTuneBackend(flavour.config(), providers(), { workDir, env: { FLT_TEST_KEY: key } });
}

/** What the fine-tune activity does: find the tag's job, and create one only when there is none. */
async function findOrCreate(backend: FineTuneBackend, tag: JobTag): Promise<FineTuneJobState> {
  const existing = await backend.findJob(tag);
  if (existing) return existing;
  const trainingFileId = await backend.uploadTrainingFile({ tag, localPath: trainingPath, sha256: trainingSha });
  return backend.createJob({ tag, trainingFileId, baseModel: 'sim-model', hyperparameters });
}

async function waitDone(backend: FineTuneBackend, jobId: string): Promise<FineTuneJobState> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await backend.getJob(jobId);
    if (terminalFineTuneStatuses.includes(state.status)) return state;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${state.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Counts requests made by `action`, by method and path (a regular expression for the whole path). */
async function requestsDuring(action: () => Promise<unknown>, method: string, requestPath: string): Promise<number> {
  const before = (await dbl.requests()).length;
  await action();
  const pattern = new RegExp(`^${requestPath}$`);
  return (await dbl.requests()).slice(before).filter((r) => r.method === method && pattern.test(r.path)).length;
}

beforeAll(async () => {
  dbl = await startProviderDouble({ apiKey });
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-ft-remote-'));
  trainingPath = path.join(workDir, 'train.jsonl');
  const example = {
    messages: [
      { role: 'user', content: 'What is 2+2?' },
      { role: 'assistant', content: 'Answer: 4' },
    ],
  };
  fs.writeFileSync(trainingPath, `${JSON.stringify(example)}\n${JSON.stringify(example)}\n`);
  trainingSha = createHash('sha256').update(fs.readFileSync(trainingPath)).digest('hex');
});

afterAll(async () => {
  await dbl?.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe.each(flavours)('$name fine-tune backend', (flavour) => {
  const tag = (stage: string): JobTag => ({ runId: `remote-${flavour.name}`, stage });

  test('upload is idempotent: one upload request, the same file id twice', async () => {
    const backend = backendFor(flavour);
    const args = { tag: tag('upload'), localPath: trainingPath, sha256: trainingSha };
    let first = '';
    let second = '';
    const uploads = await requestsDuring(
      async () => {
        first = await backend.uploadTrainingFile(args);
        second = await backend.uploadTrainingFile(args);
      },
      'POST',
      flavour.uploadPath,
    );
    expect(first).toMatch(flavour.fileId);
    expect(second).toBe(first);
    expect(uploads).toBe(1);
  });

  test('find-or-create twice creates one job, which runs to success with a result model', async () => {
    const backend = backendFor(flavour);
    let first!: FineTuneJobState;
    let second!: FineTuneJobState;
    const creates = await requestsDuring(
      async () => {
        first = await findOrCreate(backend, tag('train'));
        second = await findOrCreate(backend, tag('train'));
      },
      'POST',
      flavour.createPath,
    );
    expect(creates).toBe(1);
    expect(second.jobId).toBe(first.jobId);
    expect((await backend.findJob(tag('train')))?.jobId).toBe(first.jobId);

    const done = await waitDone(backend, first.jobId);
    expect(done.status).toBe('succeeded');
    expect(done.resultModel).toEqual(expect.any(String));
    expect(done.error).toBeNull();
    expect(done.events.length).toBeGreaterThan(0);
    expect(done.events.length).toBeLessThanOrEqual(10);
    // Oldest first: the double's last event for a finished job is its completion.
    expect(done.events.at(-1)).toMatch(flavour.completedEvent);
    if (flavour.reportsProgress) expect(done.progress).toBe(100);
    else expect(done.progress ?? null).toBeNull();
  });

  test('cancel leaves the job cancelled', async () => {
    const backend = backendFor(flavour);
    const job = await findOrCreate(backend, tag('cancel'));
    await backend.cancelJob(job.jobId);
    const done = await waitDone(backend, job.jobId);
    expect(done.status).toBe('cancelled');
    expect(done.resultModel).toBeNull();
  });

  test('a job the provider fails reports failed with its message', async () => {
    const backend = backendFor(flavour);
    await dbl.configure({ failNextJobs: 1 });
    const job = await findOrCreate(backend, tag('fail'));
    const done = await waitDone(backend, job.jobId);
    expect(done.status).toBe('failed');
    expect(done.error).toContain('simulated training failure');
    expect(done.resultModel).toBeNull();
  });

  test('a throttled create is not retried by the client and keeps status and Retry-After for Temporal', async () => {
    const backend = backendFor(flavour);
    const trainingFileId = await backend.uploadTrainingFile({
      tag: tag('throttled'),
      localPath: trainingPath,
      sha256: trainingSha,
    });
    await dbl.configure({
      faults: { rate: 1, kinds: ['429'], retryAfterSeconds: 7, paths: `^${flavour.createPath}$` },
    });
    let err: { status?: number; headers?: unknown } | null = null;
    try {
      const creates = await requestsDuring(
        () =>
          backend
            .createJob({ tag: tag('throttled'), trainingFileId, baseModel: 'sim-model', hyperparameters })
            .catch((e) => (err = e)),
        'POST',
        flavour.createPath,
      );
      expect(creates).toBe(1);
    } finally {
      await dbl.configure({ faults: { rate: 0, paths: modelCallPaths } });
    }
    expect(err!.status).toBe(429);
    expect(retryAfterMs(err!.headers)).toBe(7000);
  });

  const withEvents = flavour.eventsPath === null ? test.skip : test;
  withEvents(
    'a create whose events listing fails still returns the created job, so no retry creates a second',
    async () => {
      const backend = backendFor(flavour);
      const trainingFileId = await backend.uploadTrainingFile({
        tag: tag('events-down'),
        localPath: trainingPath,
        sha256: trainingSha,
      });
      await dbl.configure({ faults: { rate: 1, kinds: ['500'], paths: flavour.eventsPath! } });
      let created: FineTuneJobState | Error | null = null;
      let eventListings: number;
      try {
        const before = (await dbl.requests()).length;
        const creates = await requestsDuring(
          async () =>
            (created = await backend
              .createJob({ tag: tag('events-down'), trainingFileId, baseModel: 'sim-model', hyperparameters })
              .catch((e: Error) => e)),
          'POST',
          flavour.createPath,
        );
        expect(creates).toBe(1);
        eventListings = (await dbl.requests()).slice(before).filter((r) => r.fault === '500').length;
      } finally {
        await dbl.configure({ faults: { rate: 0, paths: modelCallPaths } });
      }
      expect(eventListings).toBeGreaterThan(0);
      expect(created).not.toBeInstanceOf(Error);
      expect(created).toMatchObject({ jobId: expect.any(String), events: [] });
      expect((await backend.findJob(tag('events-down')))?.jobId).toBe((created as unknown as FineTuneJobState).jobId);
    },
  );

  test('a wrong API key fails with status 401 and does not leak the key', async () => {
    const backend = backendFor(flavour, 'wrong-key-0123456789');
    const err = await backend.findJob(tag('auth')).then(
      () => null,
      (e: unknown) => e as { status?: number; message: string },
    );
    expect(err?.status).toBe(401);
    expect(err?.message).not.toContain('wrong-key-0123456789');
  });

  test('a missing API key is an error naming the environment variable', () => {
    expect(() => createFineTuneBackend(flavour.config(), providers(), { workDir, env: {} })).toThrow(/FLT_TEST_KEY/);
  });
});

describe('openai fine-tune backend after the self-serve closure', () => {
  test('a create refused because the organisation may no longer fine-tune fails at once, naming others', async () => {
    const backend = backendFor(flavours[0]);
    const tag: JobTag = { runId: 'remote-openai', stage: 'closed' };
    const trainingFileId = await backend.uploadTrainingFile({ tag, localPath: trainingPath, sha256: trainingSha });
    await dbl.configure({ openaiFineTuningClosed: true });
    let err: unknown;
    try {
      const creates = await requestsDuring(
        () =>
          backend
            .createJob({ tag, trainingFileId, baseModel: 'sim-model', hyperparameters })
            .catch((e: unknown) => (err = e)),
        'POST',
        flavours[0].createPath,
      );
      expect(creates).toBe(1);
    } finally {
      await dbl.configure({ openaiFineTuningClosed: false });
    }
    const failure = classify(err);
    expect(failure.retryable).toBe(false);
    expect(failure.type).toBe(InvalidConfig);
    expect(failure.message).toMatch(/closed self-serve fine-tuning/);
    expect(failure.message).toMatch(/"command"/);
    expect(failure.message).toMatch(/"together"/);
    expect(failure.message).toMatch(/"fireworks"/);
    expect(failure.message).not.toMatch(/API key/);
    expect(failure.message.split(/\.\s/)).toHaveLength(1);
  });
});

describe('together job states', () => {
  const together = flavours[1];
  const tag = (stage: string): JobTag => ({ runId: 'remote-together-states', stage });

  test('a job that ends user_error (its training file is invalid) is failed, with the reason', async () => {
    const backend = backendFor(together);
    const brokenPath = path.join(workDir, 'broken.jsonl');
    fs.writeFileSync(brokenPath, '{"messages": "not a list"}\n');
    const sha256 = createHash('sha256').update(fs.readFileSync(brokenPath)).digest('hex');
    const trainingFileId = await backend.uploadTrainingFile({ tag: tag('user-error'), localPath: brokenPath, sha256 });
    const job = await backend.createJob({
      tag: tag('user-error'),
      trainingFileId,
      baseModel: 'sim-model',
      hyperparameters,
    });
    const done = await waitDone(backend, job.jobId);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/line 1/);
  });

  test('a status the backend does not know is polled as running, with one warning', async () => {
    // Jobs stay pending for the whole test, reported under a status name the backend has never seen.
    await dbl.configure({ fineTune: { stepMs: 600_000 }, togetherStatusRenames: { pending: 'provisioning' } });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const backend = backendFor(together);
    try {
      const job = await findOrCreate(backend, tag('unknown-status'));
      const polled = await backend.getJob(job.jobId);
      expect(polled.status).toBe('running');
      expect((await backend.getJob(job.jobId)).status).toBe('running');
      const warnings = warn.mock.calls.map((call) => String(call[0]));
      expect(warnings.filter((w) => w.includes('"provisioning"'))).toHaveLength(1);
      await backend.cancelJob(job.jobId);
    } finally {
      warn.mockRestore();
      await dbl.configure({ fineTune: { stepMs: 300 }, togetherStatusRenames: { pending: 'pending' } });
    }
  });
});

describe('fireworks jobs', () => {
  const fireworks = flavours[2];
  const tag = (stage: string): JobTag => ({ runId: 'remote-fireworks', stage });
  const jobPath = (id: string) => `${fireworks.createPath}/${id}`;

  async function created(backend: FineTuneBackend, stage: string): Promise<FineTuneJobState> {
    const trainingFileId = await backend.uploadTrainingFile({
      tag: tag(stage),
      localPath: trainingPath,
      sha256: trainingSha,
    });
    return backend.createJob({ tag: tag(stage), trainingFileId, baseModel: 'sim-model', hyperparameters });
  }

  test('a second create under the same tag is refused by the provider and follows the first job', async () => {
    const backend = backendFor(fireworks);
    const before = (await dbl.requests()).length;
    const first = await created(backend, 'twice');
    const second = await created(backend, 'twice');
    const creates = (await dbl.requests())
      .slice(before)
      .filter((r) => r.method === 'POST' && r.path === fireworks.createPath);
    expect(creates.map((r) => r.status)).toEqual([200, 409]);
    expect(second.jobId).toBe(first.jobId);
    expect(first.jobId).toBe(tagName(tag('twice')));
    expect((await waitDone(backend, first.jobId)).status).toBe('succeeded');
  });

  test('a job that failed is resumed, not replaced, when its tag is started again', async () => {
    const backend = backendFor(fireworks);
    await dbl.configure({ failNextJobs: 1 });
    const job = await created(backend, 'resumed');
    expect((await waitDone(backend, job.jobId)).status).toBe('failed');
    const resumes = await requestsDuring(() => created(backend, 'resumed'), 'POST', `${jobPath(job.jobId)}:resume`);
    expect(resumes).toBe(1);
    const done = await waitDone(backend, job.jobId);
    expect(done.status).toBe('succeeded');
    expect(done.resultModel).toBe(`accounts/flt-test/models/${job.jobId}`);
  });

  test("the job's progress percent is reported: 0 while it waits, 100 once completed", async () => {
    const backend = backendFor(fireworks);
    await dbl.configure({ fineTune: { stepMs: 600_000 } });
    let job: FineTuneJobState;
    try {
      job = await created(backend, 'progress');
      expect((await backend.getJob(job.jobId)).progress).toBe(0);
    } finally {
      await dbl.configure({ fineTune: { stepMs: 300 } });
    }
    // The job's next step was scheduled with the long step: cancel it and run a fresh one to the end.
    await backend.cancelJob(job.jobId);
    const fresh = await created(backend, 'progress-done');
    expect((await waitDone(backend, fresh.jobId)).progress).toBe(100);
  });

  test('full fine-tuning is refused before any request', async () => {
    const backend = backendFor(fireworks);
    const before = (await dbl.requests()).length;
    const err = await backend
      .createJob({ tag: tag('full'), trainingFileId: 'x', baseModel: 'sim-model', hyperparameters: { lora: false } })
      .catch((e: unknown) => e);
    expect(classify(err)).toMatchObject({ retryable: false, type: 'InvalidInput' });
    expect((await dbl.requests()).length).toBe(before);
  });
});

describe.each(flavours.filter((f) => f.name !== 'openai'))('$name continuing a fine-tuned model', (flavour) => {
  const tag = (stage: string): JobTag => ({ runId: `continue-${flavour.name}`, stage });
  /** The job as the provider keeps it, read straight from its API. */
  const providerView = async (jobId: string) => {
    const url = `${new URL(dbl.baseURL).origin}${flavour.createPath}/${jobId}`;
    const response = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
    return (await response.json()) as Record<string, unknown>;
  };

  test("names the model it continues in place of the base model, and trains at the job's learning rate", async () => {
    const backend = backendFor(flavour);
    const warm = await waitDone(backend, (await findOrCreate(backend, tag('warm-up'))).jobId);
    expect(warm.resultModel).toEqual(expect.any(String));
    const trainingFileId = await backend.uploadTrainingFile({
      tag: tag('evolve'),
      localPath: trainingPath,
      sha256: trainingSha,
    });
    const job = await backend.createJob({
      tag: tag('evolve'),
      trainingFileId,
      baseModel: 'sim-model',
      hyperparameters: { epochs: 1, learningRate: 1e-6 },
      initModel: warm.resultModel!,
    });
    const view = await providerView(job.jobId);
    if (flavour.name === 'together') {
      expect(view).toMatchObject({ from_checkpoint: warm.resultModel, learning_rate: 1e-6 });
    } else {
      expect(view).toMatchObject({ warmStartFrom: warm.resultModel, learningRate: 1e-6 });
      expect(view.baseModel).toBeUndefined();
    }
    const done = await waitDone(backend, job.jobId);
    expect(done.status).toBe('succeeded');
    expect(done.resultModel).not.toBe(warm.resultModel);
  });
});

describe.each(flavours.filter((f) => f.name !== 'openai'))("$name with the authors' LoRA settings", (flavour) => {
  const providerView = async (jobId: string) => {
    const url = `${new URL(dbl.baseURL).origin}${flavour.createPath}/${jobId}`;
    const response = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
    return (await response.json()) as Record<string, unknown>;
  };
  const create = async (stage: string, extra: object) => {
    const backend = backendFor(flavour);
    const tag = { runId: `lora-settings-${flavour.name}`, stage };
    const trainingFileId = await backend.uploadTrainingFile({ tag, localPath: trainingPath, sha256: trainingSha });
    const job = await backend.createJob({
      tag,
      trainingFileId,
      baseModel: 'sim-model',
      hyperparameters: { ...hyperparameters, ...extra },
    });
    return providerView(job.jobId);
  };

  test('passes the rank (on Together the alpha too) it is given; without them the provider keeps its own', async () => {
    const given = await create('given', { loraRank: 16, loraAlpha: 32 });
    const absent = await create('absent', {});
    if (flavour.name === 'together') {
      expect(given.training_type).toMatchObject({ type: 'Lora', lora_r: 16, lora_alpha: 32 });
      expect(absent.training_type).toMatchObject({ type: 'Lora', lora_r: 8, lora_alpha: 16 });
    } else {
      expect(given).toMatchObject({ loraRank: 16 });
      expect(absent).toMatchObject({ loraRank: 8 });
    }
  });
});
