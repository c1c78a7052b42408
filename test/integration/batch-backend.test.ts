// The OpenAI batch backend against the provider double: a batch created once even when the create's answer is lost,
// found again by its metadata tag, followed to its end, and its results mapped back to the requests by custom_id,
// with exactly the unanswered items (failed, refused, expired, malformed) listed to ask again.
import { ApplicationFailure } from '@temporalio/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OpenAiBatchBackend } from '../../activities/providers/batch/openai';
import { TogetherBatchBackend } from '../../activities/providers/batch/together';
import {
  batchRequestLine,
  type BatchAnswer,
  type BatchMissingItem,
  type BatchResults,
  type BatchTag,
} from '../../core/batch';
import type { OpenAiCompatibleProviderConfig } from '../../core/config';
import type { ArtifactRef } from '../../core/types';
import { LocalArtifactStore } from '../../lib/artifacts';
import { startProviderDouble, type GoldItem, type ProviderDouble } from '../support/provider-double';

const gold: GoldItem[] = Array.from({ length: 6 }, (_, i) => ({
  question: `backend question ${i}: which option is marker ${i * 37}?`,
  answer: 'ABCD'[i % 4],
  choices: ['A', 'B', 'C', 'D'],
}));

let double: ProviderDouble;
let store: LocalArtifactStore;
let storeDir: string;
let backend: OpenAiBatchBackend;
let together: TogetherBatchBackend;

beforeAll(async () => {
  double = await startProviderDouble({ gold });
  storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'batch-backend-'));
  store = new LocalArtifactStore(storeDir);
  const provider = {
    kind: 'openai-compatible',
    baseURL: double.baseURL,
    apiKeyEnv: 'FLT_TEST_KEY',
    testDouble: true,
    requestTimeoutSeconds: 10,
    prices: { inputPerMillionTokens: 0, outputPerMillionTokens: 0 },
    maxConcurrency: 4,
  } as OpenAiCompatibleProviderConfig;
  backend = new OpenAiBatchBackend(provider, { FLT_TEST_KEY: 'k' }, store);
  together = new TogetherBatchBackend({ ...provider, baseURL: double.togetherBaseURL }, { FLT_TEST_KEY: 'k' }, store);
});
afterAll(async () => {
  await double?.stop();
  fs.rmSync(storeDir, { recursive: true, force: true });
});
afterEach(() =>
  double.configure({
    faults: { rate: 0 },
    batches: { expireAfterLines: -1, failLines: '', malformedLines: '' },
    refuse: [],
  }),
);

/** One request per gold question, custom_id `q<i>`. */
const writeRequests = () =>
  store.writeJsonl(
    gold.map((item, i) =>
      batchRequestLine(`q${i}`, {
        model: 'sim-model',
        temperature: 0,
        messages: [{ role: 'user', content: `Question: ${item.question}\nA. a\nB. b\nC. c\nD. d` }],
      }),
    ),
  );

/** Creates the batch, moves the double's clock until it ends (polling it as a stage would) and downloads. */
async function runBatch(tag: BatchTag, requests: ArtifactRef): Promise<{ statuses: string[]; results: BatchResults }> {
  const created = await backend.findOrCreateBatch({ tag, requests });
  const statuses = [created.status as string];
  while (!['completed', 'failed', 'expired', 'cancelled'].includes(statuses.at(-1)!)) {
    await double.advanceBatch(created.batchId);
    statuses.push((await backend.getBatch(created.batchId)).status);
  }
  return { statuses, results: await backend.downloadResults({ tag, batchId: created.batchId, requests }) };
}

const missingOf = async (results: BatchResults) =>
  (await store.readAll<BatchMissingItem>(results.missing)).map(({ customId, retryable, status }) => ({
    customId,
    retryable,
    status,
  }));

test('a create whose answer is lost makes one batch, which the retry finds by tag and follows to the end', async () => {
  await double.configure({
    faults: { rate: 1, kinds: ['lost-reply'], paths: '^/v1/batches$', methods: ['POST'], limit: 1 },
  });
  const requests = await writeRequests();
  const tag = { runId: 'lost-reply', stage: 'collaborate', part: 0 };
  const lost = await backend.findOrCreateBatch({ tag, requests }).catch((e: unknown) => e);
  expect(lost).toBeInstanceOf(ApplicationFailure);
  expect(lost).toMatchObject({ type: 'ProviderConnection', nonRetryable: false });

  const { statuses, results } = await runBatch(tag, requests);
  expect(statuses).toEqual(['validating', 'in_progress', 'finalizing', 'completed']);
  const log = await double.requests();
  const creates = log.filter((r) => r.method === 'POST' && r.path === '/v1/batches');
  expect(creates.map((r) => r.fault)).toEqual(['lost-reply']);
  expect(log.filter((r) => r.method === 'POST' && r.path === '/v1/files')).toHaveLength(1);

  const answers = await store.readAll<BatchAnswer>(results.answers);
  expect(answers.map((a) => a.customId)).toEqual(gold.map((_, i) => `q${i}`));
  for (const answer of answers) expect(answer.body).toMatchObject({ object: 'chat.completion' });
  expect(results.missing.count).toBe(0);

  // Asked again (a retried or resumed stage), the same batch and the same results, with no new create.
  expect((await backend.findOrCreateBatch({ tag, requests })).batchId).toBe(results.batchId);
  expect(await backend.downloadResults({ tag, batchId: results.batchId, requests })).toEqual(results);
  expect((await double.requests()).filter((r) => r.method === 'POST' && r.path === '/v1/batches')).toHaveLength(1);
});

test('an upload and a create both answered too late leave one input file and one batch', async () => {
  await double.configure({
    faults: { rate: 1, kinds: ['lost-reply'], paths: '^/v1/(files|batches)$', methods: ['POST'], limit: 2 },
  });
  await double.clearRequests();
  const requests = await writeRequests();
  const tag = { runId: 'lost-twice', stage: 'justify', part: 3 };
  for (let attempt = 0; attempt < 2; attempt++)
    await expect(backend.findOrCreateBatch({ tag, requests })).rejects.toMatchObject({ nonRetryable: false });
  const found = await backend.findOrCreateBatch({ tag, requests });
  const posts = (await double.requests()).filter((r) => r.method === 'POST');
  expect(posts.map((r) => [r.path, r.fault])).toEqual([
    ['/v1/files', 'lost-reply'],
    ['/v1/batches', 'lost-reply'],
  ]);
  expect((await backend.getBatch(found.batchId)).status).toBe('validating');
});

test('failed and refused lines are exactly the missing items, retryable as online calls would be', async () => {
  await double.configure({ batches: { failLines: '^q1$' }, refuse: [{ prompt: 'backend question 4:' }] });
  const { statuses, results } = await runBatch({ runId: 'partial', stage: 'justify', part: 0 }, await writeRequests());
  expect(statuses.at(-1)).toBe('completed');
  expect(await missingOf(results)).toEqual([
    { customId: 'q1', retryable: true, status: 500 },
    { customId: 'q4', retryable: false, status: 400 },
  ]);
  expect((await store.readAll<BatchAnswer>(results.answers)).map((a) => a.customId)).toEqual(['q0', 'q2', 'q3', 'q5']);
});

test('an expired batch with part done gives its answers and exactly the items it never ran', async () => {
  await double.configure({ batches: { expireAfterLines: 2 } });
  const { statuses, results } = await runBatch({ runId: 'expiry', stage: 'evaluate', part: 1 }, await writeRequests());
  expect(statuses).toEqual(['validating', 'in_progress', 'expired']);
  expect((await store.readAll<BatchAnswer>(results.answers)).map((a) => a.customId)).toEqual(['q0', 'q1']);
  const missing = await store.readAll<BatchMissingItem>(results.missing);
  expect(missing.map((m) => [m.customId, m.retryable])).toEqual(['q2', 'q3', 'q4', 'q5'].map((id) => [id, true]));
  expect(missing[0].reason).toMatch(/batch_expired/);
});

test('a malformed output line is reported for its own item, which is listed to ask again', async () => {
  await double.configure({ batches: { malformedLines: '^q3$' } });
  const { results } = await runBatch({ runId: 'malformed', stage: 'annotate', part: 0 }, await writeRequests());
  const missing = await store.readAll<BatchMissingItem>(results.missing);
  expect(missing).toEqual([
    {
      customId: 'q3',
      retryable: true,
      status: null,
      reason: expect.stringMatching(/^line \d+ of the output file file-\S+ is not valid JSON$/),
    },
  ]);
  expect(results.answers.count).toBe(5);
});

test('a cancelled batch lists every item it did not answer; cancelling it again is nothing to do', async () => {
  const requests = await writeRequests();
  const tag = { runId: 'cancel', stage: 'collaborate', part: 2 };
  const created = await backend.findOrCreateBatch({ tag, requests });
  await backend.cancelBatch(created.batchId);
  expect((await backend.getBatch(created.batchId)).status).toBe('cancelling');
  await double.advanceBatch(created.batchId);
  await backend.cancelBatch(created.batchId);
  const results = await backend.downloadResults({ tag, batchId: created.batchId, requests });
  expect(results.status).toBe('cancelled');
  expect((await missingOf(results)).map((m) => m.customId)).toEqual(gold.map((_, i) => `q${i}`));
});

test('results of a batch still running are refused, and requests over the limit before any call', async () => {
  const requests = await writeRequests();
  const tag = { runId: 'early', stage: 'collaborate', part: 0 };
  const created = await backend.findOrCreateBatch({ tag, requests });
  await expect(backend.downloadResults({ tag, batchId: created.batchId, requests })).rejects.toMatchObject({
    type: 'InvalidInput',
    nonRetryable: true,
  });

  const tooMany = await store.writeJsonl(
    Array.from({ length: 50_001 }, (_, i) => batchRequestLine(`r${i}`, { model: 'sim-model', messages: [] })),
  );
  await double.clearRequests();
  const refused = backend.findOrCreateBatch({ tag: { runId: 'big', stage: 'justify', part: 0 }, requests: tooMany });
  await expect(refused).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
  await expect(refused).rejects.toThrow(/50001 requests .* at most 50000 requests/);
  expect(await double.requests()).toEqual([]);
});

describe("Together's batches (no metadata: found by their input file)", () => {
  test('a create whose answer is lost makes one batch, which expires part done: exactly the rest missing', async () => {
    await double.configure({
      faults: { rate: 1, kinds: ['lost-reply'], paths: '^/together/v1/batches$', methods: ['POST'], limit: 1 },
      batches: { expireAfterLines: 4 },
    });
    await double.clearRequests();
    const requests = await writeRequests();
    const tag = { runId: 'together', stage: 'collaborate', part: 0 };
    await expect(together.findOrCreateBatch({ tag, requests })).rejects.toMatchObject({ type: 'ProviderConnection' });
    const created = await together.findOrCreateBatch({ tag, requests });
    expect(created).toMatchObject({ status: 'validating', counts: null });
    const posts = (await double.requests()).filter((r) => r.method === 'POST');
    expect(posts.map((r) => [r.path, r.fault])).toEqual([
      ['/together/v1/files/upload', null],
      ['/together/v1/batches', 'lost-reply'],
    ]);

    const statuses: string[] = [];
    for (let status = created.status; !['completed', 'expired'].includes(status);) {
      await double.advanceBatch(created.batchId, 'together');
      status = (await together.getBatch(created.batchId)).status;
      statuses.push(status);
    }
    expect(statuses).toEqual(['in_progress', 'expired']);
    const results = await together.downloadResults({ tag, batchId: created.batchId, requests });
    expect((await store.readAll<BatchAnswer>(results.answers)).map((a) => a.customId)).toEqual([
      'q0',
      'q1',
      'q2',
      'q3',
    ]);
    expect((await missingOf(results)).map((m) => [m.customId, m.retryable])).toEqual([
      ['q4', true],
      ['q5', true],
    ]);
  });

  test('requests over 100 MB are refused before any call', async () => {
    const requests = { ...(await writeRequests()), bytes: 100 * 1024 * 1024 + 1 };
    await double.clearRequests();
    await expect(
      together.findOrCreateBatch({ tag: { runId: 'big', stage: 'annotate', part: 0 }, requests }),
    ).rejects.toThrow(/Together takes at most 50000 requests and 104857600 bytes/);
    expect(await double.requests()).toEqual([]);
  });
});
