// Together's checkpoint download against the provider double: a completed job's adapter is downloaded into the job
// directory once, unpacked whole, and re-verified (not downloaded again) by a retried attempt; a download that breaks
// midway leaves no adapter behind, and the retry asks only for the bytes it lacks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { checkpointDownloadActivities } from '../../activities/checkpoint-downloads';
import type { ProvidersConfig } from '../../core/config';
import type { DownloadCheckpointInput, DownloadedCheckpoint, TogetherBackendConfig } from '../../core/contracts';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps } from '../support/temporal';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let double: ProviderDouble;
let providers: ProvidersConfig;
let backend: TogetherBackendConfig;

beforeAll(async () => {
  double = await startProviderDouble({ config: { fineTune: { stepMs: 20 } } });
  providers = {
    together: {
      kind: 'openai-compatible',
      baseURL: double.togetherBaseURL,
      apiKeyEnv: 'FLT_TEST_KEY',
      testDouble: true,
      requestTimeoutSeconds: 10,
      prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0, trainingPerMillionTokens: 0 },
      maxConcurrency: 4,
    },
  };
  backend = {
    kind: 'together',
    baseURL: double.togetherBaseURL,
    apiKeyEnv: 'FLT_TEST_KEY',
    provider: 'together',
    pollIntervalSeconds: 0.1,
    serve: 'download',
    download: { checkpoint: 'adapter', engine: 'vllm', provider: 'together' },
  };
});
afterAll(async () => double?.stop());

/** A Together job trained to completion on the double, through its REST API; resolves to the job id. */
async function completedJob(suffix: string): Promise<string> {
  const lines = [1, 2].map((i) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `Question ${i}?` },
        { role: 'assistant', content: 'Answer: A' },
      ],
    }),
  );
  const form = new FormData();
  form.append('file', new Blob([lines.join('\n')]), `${suffix}.jsonl`);
  form.append('purpose', 'fine-tune');
  const file = (await (
    await fetch(`${double.togetherBaseURL}/files/upload`, { method: 'POST', body: form })
  ).json()) as {
    id: string;
  };
  const created = await fetch(`${double.togetherBaseURL}/fine-tunes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ training_file: file.id, model: 'sim-model', suffix, n_epochs: 1 }),
  });
  const { id } = (await created.json()) as { id: string };
  while (
    ((await (await fetch(`${double.togetherBaseURL}/fine-tunes/${id}`)).json()) as { status: string }).status !==
    'completed'
  )
    await sleep(50);
  return id;
}

/** One attempt of the activity, as Temporal would run it. */
const attempt = (deps: ReturnType<typeof tempDeps>, input: DownloadCheckpointInput) =>
  new MockActivityEnvironment().run(
    checkpointDownloadActivities(deps).downloadTogetherCheckpoint,
    input,
  ) as Promise<DownloadedCheckpoint>;

const archiveOf = async (jobId: string) => (await double.togetherCheckpoints()).find((a) => a.jobId === jobId)!;

test('downloads a completed job’s adapter once; a retried attempt re-verifies it and downloads nothing', async () => {
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });
  const jobId = await completedJob('once');
  const input = { backend, providers, jobId };

  const first = await attempt(deps, input);
  expect(first.name).toBe(`${jobId}-adapter`);
  expect(first.path.startsWith(deps.jobsDir)).toBe(true);
  const archive = await archiveOf(jobId);
  expect(archive.key).toBe('adapter');
  for (const [file, hash] of Object.entries(archive.files)) expect(sha256(path.join(first.path, file))).toBe(hash);

  const again = await attempt(deps, input);
  expect(again).toEqual(first);
  expect((await archiveOf(jobId)).served).toEqual([{ from: 0, bytes: archive.size, complete: true }]);
});

test('a download broken midway leaves no adapter, and the retry fetches only the bytes it lacks', async () => {
  const deps = tempDeps({ FLT_TEST_KEY: 'k' });
  const jobId = await completedJob('cut');
  const input = { backend, providers, jobId };
  await double.configure({ checkpointDownloads: { cutMidway: 1 } });

  await expect(attempt(deps, input)).rejects.toThrow(/download the adapter checkpoint/);
  const dir = path.join(deps.jobsDir, 'together-checkpoints', jobId, 'adapter');
  expect(fs.existsSync(path.join(dir, 'checkpoint'))).toBe(false);
  const { size } = await archiveOf(jobId);
  const half = Math.floor(size / 2);
  expect(fs.statSync(path.join(dir, 'archive.part')).size).toBe(half);

  const retried = await attempt(deps, input);
  const archive = await archiveOf(jobId);
  expect(archive.served).toEqual([
    { from: 0, bytes: half, complete: false },
    { from: half, bytes: size - half, complete: true },
  ]);
  for (const [file, hash] of Object.entries(archive.files)) expect(sha256(path.join(retried.path, file))).toBe(hash);
  expect(fs.readdirSync(dir)).toEqual(['checkpoint']);
});
