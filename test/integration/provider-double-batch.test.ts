// The provider test double's Batch API through the real openai package: files in and out, every status, OpenAI's
// validation, and the faults (failed lines, malformed output lines, expiry with part done, cancellation); and
// Together's batch routes, over fetch, on the same engine.
import OpenAI, { BadRequestError, toFile } from 'openai';
import { startProviderDouble, type GoldItem, type ProviderDouble } from '../support/provider-double';

const gold: GoldItem[] = Array.from({ length: 6 }, (_, i) => ({
  question: `batch question ${i}: which option is marker ${i * 31}?`,
  answer: 'ABCD'[i % 4],
  choices: ['A', 'B', 'C', 'D'],
}));

const requestLine = (customId: string, content: string, model = 'sim-model') => ({
  custom_id: customId,
  method: 'POST',
  url: '/v1/chat/completions',
  body: { model, temperature: 0, messages: [{ role: 'user', content }] },
});

const goldLines = () =>
  gold.map((item, i) => requestLine(`item-${i}`, `Question: ${item.question}\nA. a\nB. b\nC. c\nD. d\nAnswer.`));

interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

let double: ProviderDouble;
let client: OpenAI;

beforeAll(async () => {
  double = await startProviderDouble({ gold });
  client = new OpenAI({ baseURL: double.baseURL, apiKey: 'k', maxRetries: 0 });
});
afterAll(() => double?.stop());
afterEach(() =>
  double.configure({ batches: { stepMs: 0, expireAfterLines: -1, failLines: '', malformedLines: '' }, refuse: [] }),
);

async function createBatch(lines: unknown[], metadata?: Record<string, string>) {
  const text = lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n');
  const file = await client.files.create({ file: await toFile(Buffer.from(text), 'input.jsonl'), purpose: 'batch' });
  return client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata,
  });
}

async function fileLines(fileId: string | null | undefined): Promise<string[]> {
  if (!fileId) return [];
  const text = await (await client.files.content(fileId)).text();
  return text.split('\n').filter((line) => line !== '');
}

const parsedLines = async (fileId: string | null | undefined) =>
  (await fileLines(fileId)).map((line) => JSON.parse(line) as OutputLine);

/** Advances the batch until it ends, returning each status it passed through. */
async function runToEnd(id: string): Promise<string[]> {
  const statuses = [(await client.batches.retrieve(id)).status as string];
  while (!['completed', 'failed', 'expired', 'cancelled'].includes(statuses.at(-1)!))
    statuses.push(await double.advanceBatch(id));
  return statuses;
}

test('a batch goes validating, in_progress, finalizing, completed, its lines answered by the model', async () => {
  const created = await createBatch(goldLines(), { flt_tag: 'run-1-collaborate-0' });
  expect(created).toMatchObject({ status: 'validating', completion_window: '24h', output_file_id: null });

  expect(await double.advanceBatch(created.id)).toBe('in_progress');
  const running = await client.batches.retrieve(created.id);
  expect(running.request_counts).toEqual({ total: 6, completed: 0, failed: 0 });
  expect(running.model).toBe('sim-model');
  expect(await double.advanceBatch(created.id)).toBe('finalizing');
  expect((await client.batches.retrieve(created.id)).request_counts).toEqual({ total: 6, completed: 6, failed: 0 });
  expect(await double.advanceBatch(created.id)).toBe('completed');

  const done = await client.batches.retrieve(created.id);
  expect(done.metadata).toEqual({ flt_tag: 'run-1-collaborate-0' });
  expect(done.error_file_id).toBeNull();
  expect(done.completed_at).toEqual(expect.any(Number));
  const output = await parsedLines(done.output_file_id);
  expect(output.map((line) => line.custom_id).sort()).toEqual(gold.map((_, i) => `item-${i}`));
  for (const line of output) {
    expect(line.error).toBeNull();
    expect(line.response).toMatchObject({ status_code: 200, body: { object: 'chat.completion', model: 'sim-model' } });
  }
  // The same request answered online gets the same greedy answer.
  const online = await client.chat.completions.create(goldLines()[2].body as never);
  const batched = output.find((line) => line.custom_id === 'item-2')!.response!.body as {
    choices: { message: { content: string } }[];
  };
  expect(batched.choices[0].message.content).toBe(
    (online as { choices: { message: { content: string } }[] }).choices[0].message.content,
  );

  // Each line is logged once as a chat call of the batch, hashed as the same request sent online.
  const log = await double.requests();
  const lines = log.filter((entry) => entry.batchId === created.id);
  expect(lines).toHaveLength(6);
  for (const entry of lines)
    expect(entry).toMatchObject({ path: '/v1/chat/completions', status: 200, usage: expect.any(Object) });
  const onlineEntry = log.find((entry) => entry.path === '/v1/chat/completions' && entry.batchId === undefined)!;
  expect(lines.map((entry) => entry.requestHash)).toContain(onlineEntry.requestHash);

  const outputs = await client.files.list({ purpose: 'batch_output' });
  expect(outputs.data.map((file) => file.id)).toContain(done.output_file_id);
  // A completed batch cannot be cancelled.
  await expect(client.batches.cancel(created.id)).rejects.toBeInstanceOf(BadRequestError);
});

test('batches are listed newest first, a page at a time', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await createBatch([goldLines()[i]], { flt_tag: `page-${i}` })).id);
  const first = await client.batches.list({ limit: 2 });
  expect(first.data.map((batch) => batch.id)).toEqual([ids[2], ids[1]]);
  expect(first.has_more).toBe(true);
  const next = await client.batches.list({ limit: 2, after: ids[1] });
  expect(next.data[0].id).toBe(ids[0]);
  const all: string[] = [];
  for await (const batch of client.batches.list({ limit: 2 })) all.push(batch.id);
  expect(all.slice(0, 3)).toEqual([ids[2], ids[1], ids[0]]);
});

test('a create the API refuses answers 400 naming the parameter', async () => {
  const file = await client.files.create({ file: await toFile(Buffer.from('{}'), 'a.jsonl'), purpose: 'batch' });
  const tuning = await client.files.create({ file: await toFile(Buffer.from('{}'), 'b.jsonl'), purpose: 'fine-tune' });
  const refusals = [
    { input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' },
    { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '1h' },
    { input_file_id: 'file-missing', endpoint: '/v1/chat/completions', completion_window: '24h' },
    { input_file_id: tuning.id, endpoint: '/v1/chat/completions', completion_window: '24h' },
  ];
  const params: unknown[] = [];
  for (const body of refusals) {
    const error = await client.batches.create(body as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    params.push((error as BadRequestError).param);
  }
  expect(params).toEqual(['endpoint', 'completion_window', 'input_file_id', 'input_file_id']);
});

test('an input file OpenAI would refuse fails the batch with one error per bad line', async () => {
  const lines = [
    requestLine('a', 'hello'),
    '{"custom_id": "b", "method": "POST"',
    requestLine('a', 'again'),
    { ...requestLine('c', 'hello'), url: '/v1/embeddings' },
    requestLine('d', 'hello', 'sim-model-2'),
    { custom_id: 'e', method: 'POST', url: '/v1/chat/completions' },
  ];
  const batch = await createBatch(lines);
  expect(await runToEnd(batch.id)).toEqual(['validating', 'failed']);
  const failed = await client.batches.retrieve(batch.id);
  expect(failed.errors!.data!.map((e) => [e.line, e.code, e.param])).toEqual([
    [2, 'invalid_json_line', null],
    [3, 'duplicate_custom_id', 'custom_id'],
    [4, 'invalid_url', 'url'],
    [5, 'mismatched_model', 'body.model'],
    [6, 'missing_required_parameter', 'body'],
  ]);
  expect(failed.output_file_id).toBeNull();

  const tooMany = Array.from({ length: 50_001 }, (_, i) => JSON.stringify(requestLine(`r${i}`, 'x')));
  const large = await createBatch(tooMany);
  expect(await runToEnd(large.id)).toEqual(['validating', 'failed']);
  expect((await client.batches.retrieve(large.id)).errors!.data!.map((e) => e.code)).toEqual(['too_many_requests']);
});

test('failed lines go to the error file with their status; a refused line is its own 400', async () => {
  await double.configure({
    batches: { failLines: '^item-1$' },
    refuse: [{ prompt: 'batch question 4:' }],
  });
  const batch = await createBatch(goldLines());
  expect(await runToEnd(batch.id)).toEqual(['validating', 'in_progress', 'finalizing', 'completed']);
  const done = await client.batches.retrieve(batch.id);
  expect(done.request_counts).toEqual({ total: 6, completed: 4, failed: 2 });
  const errors = await parsedLines(done.error_file_id);
  expect(errors.map((line) => [line.custom_id, line.response!.status_code]).sort()).toEqual([
    ['item-1', 500],
    ['item-4', 400],
  ]);
  // The injected 500 never reached the model; the refusal did, and is logged with its 400.
  const logged = (await double.requests()).filter((entry) => entry.batchId === batch.id);
  expect(logged.map((entry) => entry.status).sort()).toEqual([200, 200, 200, 200, 400]);
  expect(errors.find((line) => line.custom_id === 'item-4')!.response!.body).toMatchObject({
    error: { code: 'refused_by_rule' },
  });
  expect((await parsedLines(done.output_file_id)).map((line) => line.custom_id).sort()).toEqual([
    'item-0',
    'item-2',
    'item-3',
    'item-5',
  ]);
});

test('a malformed output line is not JSON but still names its custom_id', async () => {
  await double.configure({ batches: { malformedLines: '^item-3$' } });
  const batch = await createBatch(goldLines());
  await runToEnd(batch.id);
  const lines = await fileLines((await client.batches.retrieve(batch.id)).output_file_id);
  const broken = lines.filter((line) => {
    try {
      JSON.parse(line);
      return false;
    } catch {
      return true;
    }
  });
  expect(broken).toHaveLength(1);
  expect(broken[0]).toContain('"custom_id":"item-3"');
});

test('a batch that expires keeps the lines it answered; the rest are in the error file as batch_expired', async () => {
  await double.configure({ batches: { expireAfterLines: 2 } });
  const batch = await createBatch(goldLines());
  expect(await runToEnd(batch.id)).toEqual(['validating', 'in_progress', 'expired']);
  const expired = await client.batches.retrieve(batch.id);
  expect(expired.request_counts).toEqual({ total: 6, completed: 2, failed: 0 });
  expect(expired.expired_at).toEqual(expect.any(Number));
  expect((await parsedLines(expired.output_file_id)).map((line) => line.custom_id)).toEqual(['item-0', 'item-1']);
  const errors = await parsedLines(expired.error_file_id);
  expect(errors.map((line) => [line.custom_id, line.error?.code, line.response])).toEqual(
    ['item-2', 'item-3', 'item-4', 'item-5'].map((id) => [id, 'batch_expired', null]),
  );
});

test('a cancelled batch goes cancelling then cancelled, its unanswered lines in the error file', async () => {
  const batch = await createBatch(goldLines());
  expect(await double.advanceBatch(batch.id)).toBe('in_progress');
  expect((await client.batches.cancel(batch.id)).status).toBe('cancelling');
  expect(await runToEnd(batch.id)).toEqual(['cancelling', 'cancelled']);
  const cancelled = await client.batches.retrieve(batch.id);
  expect(cancelled.output_file_id).toBeNull();
  expect((await parsedLines(cancelled.error_file_id)).map((line) => line.error?.code)).toEqual(
    Array(6).fill('batch_cancelled'),
  );
});

test('with batches.stepMs set, a batch runs to completion on its own clock', async () => {
  await double.configure({ batches: { stepMs: 20 } });
  const batch = await createBatch(goldLines().slice(0, 2));
  let status = batch.status as string;
  // Waits for the state the double's own timers reach (the jest timeout bounds it).
  while (status !== 'completed') {
    await new Promise((resolve) => setTimeout(resolve, 20));
    status = (await client.batches.retrieve(batch.id)).status;
  }
  expect((await client.batches.retrieve(batch.id)).request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
});

test("Together's batches: a `job` from the create, upper-case statuses, progress, purpose batch-api", async () => {
  const call = async (method: string, route: string, body?: FormData | object) => {
    const response = await fetch(`${double.togetherBaseURL}${route}`, {
      method,
      headers: body === undefined || body instanceof FormData ? {} : { 'content-type': 'application/json' },
      body: body === undefined || body instanceof FormData ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const upload = async (purpose: string) => {
    const form = new FormData();
    form.append(
      'file',
      new Blob([
        goldLines()
          .map((line) => JSON.stringify(line))
          .join('\n'),
      ]),
      'in.jsonl',
    );
    form.append('purpose', purpose);
    return (await call('POST', '/files/upload', form)).body.id as string;
  };
  const refused = await call('POST', '/batches', {
    input_file_id: await upload('fine-tune'),
    endpoint: '/v1/chat/completions',
  });
  expect(refused.status).toBe(400);

  const inputFileId = await upload('batch-api');
  const created = await call('POST', '/batches', { input_file_id: inputFileId, endpoint: '/v1/chat/completions' });
  const job = created.body.job as { id: string; status: string; input_file_id: string };
  expect(job).toMatchObject({ status: 'VALIDATING', input_file_id: inputFileId });
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push(await double.advanceBatch(job.id, 'together'));
  expect(statuses).toEqual(['IN_PROGRESS', 'IN_PROGRESS', 'COMPLETED']);
  const done = (await call('GET', `/batches/${job.id}`)).body;
  expect(done).toMatchObject({ status: 'COMPLETED', progress: 100, model_id: 'sim-model' });
  const listed = (await call('GET', '/batches')).body as unknown as { id: string }[];
  expect(listed.map((batch) => batch.id)).toContain(job.id);
  const output = await fetch(`${double.togetherBaseURL}/files/${done.output_file_id as string}/content`);
  expect((await output.text()).trim().split('\n')).toHaveLength(6);
});
