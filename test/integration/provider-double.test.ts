// The provider test double, exercised the way the pipelines use it: through the real openai package and fetch.
import OpenAI, { toFile } from 'openai';
import { startProviderDouble, type GoldItem, type ProviderDouble } from '../support/provider-double';

const letters = ['A', 'B', 'C', 'D'];
const optionWords = ['alpha', 'beta', 'gamma', 'delta'];

/** Synthetic multiple-choice gold: question i has gold letter letters[i % 4]. */
function syntheticGold(count: number, topic = 'synthetic'): GoldItem[] {
  return Array.from({ length: count }, (_, i) => ({
    question: `${topic} question ${i}: which option names the marker ${i * 7919}?`,
    answer: letters[i % letters.length],
    choices: letters,
  }));
}

function prompt(item: GoldItem): string {
  const options = optionWords.map((word, i) => `${letters[i]}. ${word}`).join('\n');
  return `Answer the multiple-choice question.\n\nQuestion: ${item.question}\n${options}\nAnswer with the letter.`;
}

const answerOf = (content: string | null) => /Answer: (\S+)\s*$/.exec(content ?? '')?.[1] ?? null;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last value: ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

/** Greedy accuracy of `model` over `items`, asked concurrently. */
async function greedyAccuracy(client: OpenAI, model: string, items: GoldItem[]): Promise<number> {
  const answers = await Promise.all(
    items.map((item) =>
      client.chat.completions.create({ model, temperature: 0, messages: [{ role: 'user', content: prompt(item) }] }),
    ),
  );
  return (
    answers.filter((response, i) => answerOf(response.choices[0].message.content) === items[i].answer).length /
    items.length
  );
}

async function thrown(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i], 0);

describe('chat, embeddings and errors through the openai package', () => {
  const apiKey = 'test-key';
  const gold = syntheticGold(200);
  let double: ProviderDouble;
  let client: OpenAI;

  beforeAll(async () => {
    double = await startProviderDouble({ apiKey, gold });
    client = new OpenAI({ baseURL: double.baseURL, apiKey, maxRetries: 0 });
  });
  afterAll(() => double?.stop());

  test("a declines rule answers its prompts in its words; logMessages keeps each chat call's messages", async () => {
    await double.configure({ declines: [{ prompt: 'question 5:', text: 'I cannot tell.' }], logMessages: true });
    try {
      const ask = (item: GoldItem) =>
        client.chat.completions.create({
          model: 'sim-model',
          temperature: 1,
          n: 2,
          messages: [{ role: 'user', content: prompt(item) }],
        });
      const declined = await ask(gold[5]);
      expect(declined.choices.map((c) => c.message.content)).toEqual(['I cannot tell.', 'I cannot tell.']);
      expect(answerOf((await ask(gold[6])).choices[0].message.content)).toMatch(/^[A-D]$/);
      const logged = (await double.requests()).filter((r) => r.path === '/v1/chat/completions').slice(-2);
      expect(logged.map((r) => r.messages)).toEqual([5, 6].map((i) => [{ role: 'user', content: prompt(gold[i]) }]));
    } finally {
      await double.configure({ declines: [], logMessages: false });
    }
  });

  test("a prompt cache: a request that repeats an earlier prompt's prefix reports those tokens as cached", async () => {
    await double.configure({ promptCache: { minTokens: 20, increment: 10 } });
    try {
      // 40 words of shared instruction, then the item: the prefix repeats, the item does not.
      const instruction = Array.from({ length: 40 }, (_, i) => `rule${i}`).join(' ');
      const ask = (item: string) =>
        client.chat.completions.create({
          model: 'sim-model',
          messages: [
            { role: 'system', content: instruction },
            { role: 'user', content: item },
          ],
        });
      const first = await ask('Is the first item good?');
      const second = await ask('Is the second item good?');
      const short = await client.chat.completions.create({
        model: 'sim-model',
        messages: [{ role: 'user', content: 'Hi' }],
      });
      expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
      // Role markers count in the double's cache: the system marker and 39 instruction words are its last full step.
      expect(second.usage!.prompt_tokens_details!.cached_tokens).toBe(40);
      expect(short.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
      const logged = (await double.requests()).filter((r) => r.path === '/v1/chat/completions').slice(-3);
      expect(logged.map((r) => r.usage?.cached_tokens)).toEqual([undefined, 40, undefined]);
      // Another model has a cache of its own.
      const other = await client.chat.completions.create({
        model: 'sim-model-2',
        messages: [
          { role: 'system', content: instruction },
          { role: 'user', content: 'Is the first item good?' },
        ],
      });
      expect(other.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    } finally {
      await double.configure({ promptCache: { minTokens: 1024, increment: 128 } });
    }
  });

  test('logprobs, n and seed: same seed gives the same samples; tokens concatenate to the content', async () => {
    const request = {
      model: 'sim-model',
      messages: [{ role: 'user' as const, content: prompt(gold[3]) }],
      temperature: 1,
      n: 4,
      seed: 42,
      logprobs: true,
      top_logprobs: 3,
    };
    const first = await client.chat.completions.create(request);
    const second = await client.chat.completions.create(request);
    expect(first.choices).toHaveLength(4);
    expect(second.choices.map((c) => c.message.content)).toEqual(first.choices.map((c) => c.message.content));
    expect(second.choices.map((c) => c.logprobs)).toEqual(first.choices.map((c) => c.logprobs));
    for (const choice of first.choices) {
      const tokens = choice.logprobs!.content!;
      expect(tokens.map((t) => t.token).join('')).toBe(choice.message.content);
      expect(tokens.every((t) => t.logprob <= 0 && t.bytes === null)).toBe(true);
      expect(choice.finish_reason).toBe('stop');
      expect(answerOf(choice.message.content)).toMatch(/^[ABCD]$/);
      // The answer token lists the other options as alternatives.
      const answerToken = tokens.find((t) => t.token.trim() === answerOf(choice.message.content))!;
      expect(answerToken.top_logprobs).toHaveLength(3);
      expect(answerToken.top_logprobs.every((alt) => /^ [ABCD]$/.test(alt.token))).toBe(true);
    }
    expect(first.usage).toEqual({
      prompt_tokens: expect.any(Number),
      completion_tokens: first.choices.reduce((sum, c) => sum + c.logprobs!.content!.length, 0),
      total_tokens: first.usage!.prompt_tokens + first.usage!.completion_tokens,
      // As OpenAI reports it on every call; a prompt this short is never cached.
      prompt_tokens_details: { cached_tokens: 0 },
    });
    const plain = await client.chat.completions.create({ ...request, logprobs: false, top_logprobs: undefined, n: 1 });
    expect(plain.choices[0].logprobs).toBeNull();
  });

  test('greedy accuracy on 200 gold questions is within 0.1 of each configured accuracy, and repeatable', async () => {
    const [model1, model2, again] = await Promise.all([
      greedyAccuracy(client, 'sim-model', gold),
      greedyAccuracy(client, 'sim-model-2', gold),
      greedyAccuracy(client, 'sim-model', gold),
    ]);
    expect(Math.abs(model1 - 0.6)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(model2 - 0.5)).toBeLessThanOrEqual(0.1);
    expect(again).toBe(model1);
  });

  test('sampled answers: mean -logprob is lower for correct samples than for wrong ones', async () => {
    const perAnswer = { correct: [] as number[], wrong: [] as number[] };
    const responses = await Promise.all(
      gold.slice(0, 100).map((item) =>
        client.chat.completions.create({
          model: 'sim-model',
          temperature: 1,
          n: 4,
          seed: 7,
          logprobs: true,
          messages: [{ role: 'user', content: prompt(item) }],
        }),
      ),
    );
    responses.forEach((response, i) => {
      for (const choice of response.choices) {
        const tokens = choice.logprobs!.content!;
        const meanNegLogprob = -tokens.reduce((sum, t) => sum + t.logprob, 0) / tokens.length;
        (answerOf(choice.message.content) === gold[i].answer ? perAnswer.correct : perAnswer.wrong).push(
          meanNegLogprob,
        );
      }
    });
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(perAnswer.correct.length).toBeGreaterThan(50);
    expect(perAnswer.wrong.length).toBeGreaterThan(50);
    expect(mean(perAnswer.correct)).toBeLessThan(mean(perAnswer.wrong) - 0.1);
  });

  test('max_tokens cuts with finish_reason "length"; stop sequences cut before the stop', async () => {
    const messages = [{ role: 'user' as const, content: prompt(gold[0]) }];
    const full = await client.chat.completions.create({ model: 'sim-model', temperature: 0, messages });
    const short = await client.chat.completions.create({
      model: 'sim-model',
      temperature: 0,
      max_tokens: 3,
      logprobs: true,
      messages,
    });
    expect(short.choices[0].finish_reason).toBe('length');
    expect(short.choices[0].logprobs!.content).toHaveLength(3);
    expect(full.choices[0].message.content!.startsWith(short.choices[0].message.content!)).toBe(true);
    const stopped = await client.chat.completions.create({
      model: 'sim-model',
      temperature: 0,
      stop: ['Answer:'],
      messages,
    });
    expect(stopped.choices[0].finish_reason).toBe('stop');
    expect(stopped.choices[0].message.content).toBe(full.choices[0].message.content!.split('Answer:')[0]);
  });

  test('questions outside gold get a deterministic generic reply, or a letter when options are listed', async () => {
    const ask = (content: string) =>
      client.chat.completions.create({ model: 'sim-model', temperature: 0, messages: [{ role: 'user', content }] });
    const generic = await ask('Tell me something.');
    expect(generic.choices[0].message.content).toMatch(/^Simulated response [0-9a-f]{8}\.$/);
    expect((await ask('Tell me something.')).choices[0].message.content).toBe(generic.choices[0].message.content);
    const lettered = await ask('Question: Which is heavier?\nA. feather\nB. brick\nC. leaf');
    expect(answerOf(lettered.choices[0].message.content)).toMatch(/^[ABC]$/);
  });

  test('embeddings: 256-dim unit vectors, nearer for texts sharing words, same with base64 encoding', async () => {
    const input = ['the cat sat on the mat', 'a cat sat on a mat', 'stock prices fell sharply today'];
    const floats = await client.embeddings.create({ model: 'sim-embedding', input, encoding_format: 'float' });
    const vectors = floats.data.map((d) => d.embedding);
    expect(vectors.every((v) => v.length === 256)).toBe(true);
    expect(cosine(vectors[0], vectors[0])).toBeCloseTo(1, 6);
    expect(cosine(vectors[0], vectors[1])).toBeGreaterThan(cosine(vectors[0], vectors[2]) + 0.3);
    // The openai package asks for base64 by default and decodes it.
    const decoded = await client.embeddings.create({ model: 'sim-embedding', input: input[0] });
    decoded.data[0].embedding.forEach((x, i) => expect(x).toBeCloseTo(vectors[0][i], 6));
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
  });

  test('a wrong key is 401, an unknown model 404 model_not_found, a missing field 400', async () => {
    const wrongKey = new OpenAI({ baseURL: double.baseURL, apiKey: 'wrong', maxRetries: 0 });
    const unauthorized = await thrown(() => wrongKey.models.list());
    expect(unauthorized).toBeInstanceOf(OpenAI.AuthenticationError);

    const missing = await thrown(() =>
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
    );
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect(await thrown(() => client.embeddings.create({ model: 'no-such-model', input: 'x' }))).toBeInstanceOf(
      OpenAI.NotFoundError,
    );

    const invalid = await thrown(() => client.chat.completions.create({ model: 'sim-model', messages: [] }));
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
    expect((invalid as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages');
  });

  test('the model list and the request log', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(['sim-model', 'sim-model-2', 'sim-embedding']));

    await double.clearRequests();
    const body = {
      model: 'sim-model-2',
      temperature: 0,
      messages: [{ role: 'user' as const, content: prompt(gold[1]) }],
    };
    await client.chat.completions.create(body);
    await client.chat.completions.create(body);
    await thrown(() => client.chat.completions.create({ ...body, model: 'nope' }));
    const log = await double.requests();
    expect(log).toHaveLength(3);
    expect(log[0]).toEqual({
      seq: expect.any(Number),
      time: expect.any(Number),
      method: 'POST',
      path: '/v1/chat/completions',
      model: 'sim-model-2',
      requestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      status: 200,
      fault: null,
      durationMs: expect.any(Number),
      concurrent: 1,
      // Prompt characters / 4 and 256 for the absent max_tokens, as the rate limit counts it.
      limitTokens: Math.ceil(body.messages[0].content.length / 4) + 256,
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
    });
    expect(log[1].seq).toBeGreaterThan(log[0].seq);
    expect(log[1].requestHash).toBe(log[0].requestHash);
    expect(log[2]).toMatchObject({ model: 'nope', status: 404 });
    expect(log[2].requestHash).not.toBe(log[0].requestHash);
  });
});

describe('OpenAI files and fine-tuning', () => {
  const gold = syntheticGold(200, 'tuning');
  let double: ProviderDouble;
  let client: OpenAI;

  const trainingFile = (label: (item: GoldItem) => string, items = gold) =>
    items
      .map((item) =>
        JSON.stringify({
          messages: [
            { role: 'user', content: prompt(item) },
            { role: 'assistant', content: `Because. Answer: ${label(item)}` },
          ],
        }),
      )
      .join('\n');
  const upload = async (content: string, filename = 'train.jsonl') =>
    client.files.create({ file: await toFile(Buffer.from(content), filename), purpose: 'fine-tune' });
  const finished = (id: string) =>
    waitFor(
      () => client.fineTuning.jobs.retrieve(id),
      (job) => ['succeeded', 'failed', 'cancelled'].includes(job.status),
    );

  beforeAll(async () => {
    double = await startProviderDouble({ gold, config: { fineTune: { stepMs: 30 } } });
    client = new OpenAI({ baseURL: double.baseURL, apiKey: 'any', maxRetries: 0 });
  });
  afterAll(() => double?.stop());

  test('files: upload, list (by purpose), retrieve, content, delete', async () => {
    const content = trainingFile((item) => item.answer, gold.slice(0, 3));
    const file = await upload(content, 'three.jsonl');
    expect(file).toMatchObject({
      object: 'file',
      filename: 'three.jsonl',
      purpose: 'fine-tune',
      bytes: Buffer.byteLength(content),
      status: 'processed',
    });
    expect(file.id).toMatch(/^file-/);
    const other = await client.files.create({ file: await toFile(Buffer.from('{}'), 'batch.jsonl'), purpose: 'batch' });

    const listed = [];
    for await (const f of client.files.list({ purpose: 'fine-tune' })) listed.push(f.id);
    expect(listed).toContain(file.id);
    expect(listed).not.toContain(other.id);
    expect((await client.files.retrieve(file.id)).filename).toBe('three.jsonl');
    expect(await (await client.files.content(file.id)).text()).toBe(content);

    expect(await client.files.delete(other.id)).toMatchObject({ id: other.id, deleted: true });
    expect(await thrown(() => client.files.retrieve(other.id))).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test('a job runs validating_files -> queued -> running -> succeeded, with events, callable checkpoints', async () => {
    const file = await upload(trainingFile((item) => item.answer, gold.slice(0, 20)));
    const created = await client.fineTuning.jobs.create({
      model: 'sim-model',
      training_file: file.id,
      suffix: 'happy',
      seed: 3,
      metadata: { run: 'happy-path' },
      hyperparameters: { n_epochs: 2 },
    });
    expect(created).toMatchObject({
      object: 'fine_tuning.job',
      status: 'validating_files',
      fine_tuned_model: null,
      model: 'sim-model',
      seed: 3,
      error: null,
    });
    expect(created.id).toMatch(/^ftjob-/);

    const seen = new Set<string>();
    const job = await waitFor(
      () => client.fineTuning.jobs.retrieve(created.id),
      (j) => {
        seen.add(j.status);
        return j.status === 'succeeded';
      },
    );
    expect(seen.has('running')).toBe(true);
    expect(job.fine_tuned_model).toBe(`ft:sim-model:happy:${created.id.slice('ftjob-'.length)}`);
    expect(job.hyperparameters.n_epochs).toBe(2);
    expect(job.trained_tokens).toBeGreaterThan(0);
    expect(job.finished_at).toEqual(expect.any(Number));

    const events = (await client.fineTuning.jobs.listEvents(job.id, { limit: 50 })).data;
    const messages = events.map((e) => e.message);
    expect(messages[0]).toBe('The job has successfully completed');
    expect(messages[messages.length - 1]).toBe(`Created fine-tuning job: ${job.id}`);
    expect(messages.filter((m) => /^Epoch \d\/2 completed/.test(m))).toHaveLength(2);
    expect(events.every((e) => e.object === 'fine_tuning.job.event' && e.level === 'info')).toBe(true);
    const firstPage = await client.fineTuning.jobs.listEvents(job.id, { limit: 2 });
    expect(firstPage.data).toHaveLength(2);
    expect(firstPage.has_more).toBe(true);

    const checkpoints = (await client.fineTuning.jobs.checkpoints.list(job.id)).data;
    expect(checkpoints.map((c) => c.step_number)).toEqual([40, 20]);
    for (const model of [job.fine_tuned_model!, ...checkpoints.map((c) => c.fine_tuned_model_checkpoint)]) {
      const response = await client.chat.completions.create({
        model,
        temperature: 0,
        messages: [{ role: 'user', content: prompt(gold[0]) }],
      });
      expect(answerOf(response.choices[0].message.content)).toMatch(/^[ABCD]$/);
    }
    expect((await client.models.list()).data.map((m) => m.id)).toContain(job.fine_tuned_model);
  });

  test('listing filters by metadata, newest first, with cursor pagination', async () => {
    const file = await upload(trainingFile((item) => item.answer, gold.slice(0, 2)));
    const a = await client.fineTuning.jobs.create({
      model: 'sim-model',
      training_file: file.id,
      metadata: { run: 'list-a' },
    });
    const b = await client.fineTuning.jobs.create({
      model: 'sim-model',
      training_file: file.id,
      metadata: { run: 'list-b' },
    });
    const c = await client.fineTuning.jobs.create({
      model: 'sim-model',
      training_file: file.id,
      metadata: { run: 'list-a' },
    });
    const filtered = await client.fineTuning.jobs.list({ metadata: { run: 'list-a' } });
    expect(filtered.data.map((j) => j.id)).toEqual([c.id, a.id]);
    const page = await client.fineTuning.jobs.list({ limit: 1 });
    expect(page.data.map((j) => j.id)).toEqual([c.id]);
    expect(page.has_more).toBe(true);
    expect((await page.getNextPage()).data.map((j) => j.id)).toEqual([b.id]);
    await Promise.all([a, b, c].map((job) => finished(job.id)));
  });

  test('cancel stops a job; a finished job cannot be cancelled', async () => {
    await double.configure({ fineTune: { stepMs: 2_000 } });
    try {
      const file = await upload(trainingFile((item) => item.answer, gold.slice(0, 2)));
      const job = await client.fineTuning.jobs.create({ model: 'sim-model', training_file: file.id });
      expect((await client.fineTuning.jobs.cancel(job.id)).status).toBe('cancelled');
      expect((await client.fineTuning.jobs.retrieve(job.id)).fine_tuned_model).toBeNull();
      expect(await thrown(() => client.fineTuning.jobs.cancel(job.id))).toBeInstanceOf(OpenAI.BadRequestError);
    } finally {
      await double.configure({ fineTune: { stepMs: 30 } });
    }
  });

  test('failNextJobs fails exactly the next job; an invalid training file fails naming its line', async () => {
    const file = await upload(trainingFile((item) => item.answer, gold.slice(0, 2)));
    expect((await double.configure({ failNextJobs: 1 })).failNextJobs).toBe(1);
    const doomed = await client.fineTuning.jobs.create({ model: 'sim-model', training_file: file.id });
    const fine = await client.fineTuning.jobs.create({ model: 'sim-model', training_file: file.id });
    const failed = await finished(doomed.id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toBe('simulated training failure');
    expect((await finished(fine.id)).status).toBe('succeeded');

    const broken = await upload(`${trainingFile((item) => item.answer, gold.slice(0, 1))}\n{"messages": "nope"}\n`);
    const invalid = await finished(
      (await client.fineTuning.jobs.create({ model: 'sim-model', training_file: broken.id })).id,
    );
    expect(invalid.status).toBe('failed');
    expect(invalid.error).toMatchObject({ code: 'invalid_training_file', param: 'training_file' });
    expect(invalid.error?.message).toMatch(/line 2/);
    const events = (await client.fineTuning.jobs.listEvents(invalid.id)).data;
    expect(events[0]).toMatchObject({ level: 'error', message: invalid.error?.message });
  });

  test('an unknown training file is 400 and an unknown base model 404', async () => {
    expect(
      await thrown(() => client.fineTuning.jobs.create({ model: 'sim-model', training_file: 'file-missing' })),
    ).toBeInstanceOf(OpenAI.BadRequestError);
    const file = await upload(trainingFile((item) => item.answer, gold.slice(0, 1)));
    expect(
      await thrown(() => client.fineTuning.jobs.create({ model: 'gpt-nope', training_file: file.id })),
    ).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test('training on correct labels raises accuracy; training on wrong labels lowers it', async () => {
    const wrongLetter = (item: GoldItem) => letters[(letters.indexOf(item.answer) + 1) % letters.length];
    const [right, wrong] = await Promise.all([
      upload(trainingFile((item) => item.answer)),
      upload(trainingFile(wrongLetter)),
    ]);
    const [rightJob, wrongJob] = await Promise.all(
      [right, wrong].map(async (file) =>
        finished(
          (
            await client.fineTuning.jobs.create({
              model: 'sim-model',
              training_file: file.id,
              hyperparameters: { n_epochs: 1 },
            })
          ).id,
        ),
      ),
    );
    expect([rightJob.status, wrongJob.status]).toEqual(['succeeded', 'succeeded']);
    const [base, improved, worsened] = await Promise.all([
      greedyAccuracy(client, 'sim-model', gold),
      greedyAccuracy(client, rightJob.fine_tuned_model!, gold),
      greedyAccuracy(client, wrongJob.fine_tuned_model!, gold),
    ]);
    // Expected accuracies: 0.6 base, 0.85 after correct labels, 0.35 after wrong ones.
    expect(improved).toBeGreaterThan(base + 0.1);
    expect(worsened).toBeLessThan(base - 0.1);
  });
});

describe('Together AI fine-tuning API via fetch', () => {
  const gold = syntheticGold(20, 'together');
  const together = 'together/sim-base';
  let double: ProviderDouble;

  const call = async (method: string, route: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { authorization: 'Bearer together-key' } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { ...init.headers, 'content-type': 'application/json' };
    }
    const response = await fetch(`${double.togetherBaseURL}${route}`, init);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test reads any field
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const uploadTraining = async () => {
    const lines = gold.map((item) =>
      JSON.stringify({
        messages: [
          { role: 'user', content: prompt(item) },
          { role: 'assistant', content: `Answer: ${item.answer}` },
        ],
      }),
    );
    const form = new FormData();
    form.append('file', new Blob([lines.join('\n')]), 'together-train.jsonl');
    form.append('file_name', 'together-train.jsonl');
    form.append('purpose', 'fine-tune');
    return call('POST', '/files/upload', form);
  };

  beforeAll(async () => {
    double = await startProviderDouble({
      apiKey: 'together-key',
      gold,
      config: { fineTune: { stepMs: 30 }, models: { [together]: { accuracy: 0.4 } } },
    });
  });
  afterAll(() => double?.stop());

  test('upload, list, create, poll to completed, events; the output model is callable', async () => {
    const uploaded = await uploadTraining();
    expect(uploaded.status).toBe(200);
    expect(uploaded.body).toMatchObject({
      object: 'file',
      filename: 'together-train.jsonl',
      purpose: 'fine-tune',
      LineCount: 20,
      Processed: true,
    });
    expect(uploaded.body.id).toMatch(/^file-[0-9a-f-]{36}$/);
    expect((await call('GET', '/files')).body.data.map((f: { id: string }) => f.id)).toContain(uploaded.body.id);

    const created = await call('POST', '/fine-tunes', {
      training_file: uploaded.body.id,
      model: together,
      n_epochs: 2,
      learning_rate: 0.0001,
      suffix: 'tg',
      lora: true,
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      status: 'pending',
      model: together,
      n_epochs: 2,
      suffix: 'tg',
      training_type: { type: 'Lora' },
    });
    expect(created.body.id).toMatch(/^ft-[0-9a-f-]{36}$/);
    expect((await call('GET', '/fine-tunes')).body.data[0].id).toBe(created.body.id);

    const seen = new Set<string>();
    const job = await waitFor(
      async () => (await call('GET', `/fine-tunes/${created.body.id}`)).body,
      (j) => {
        seen.add(j.status);
        return j.status === 'completed';
      },
    );
    expect([...seen]).toEqual(expect.arrayContaining(['running', 'completed']));
    expect(job.output_name).toBe(job.model_output_name);
    expect(Date.parse(job.created_at)).not.toBeNaN();
    expect(job.events.length).toBeGreaterThan(3);

    const events = (await call('GET', `/fine-tunes/${job.id}/events`)).body.data;
    expect(events[0]).toMatchObject({ object: 'fine-tune-event', type: 'job_pending', level: 'info' });
    expect(events[events.length - 1]).toMatchObject({ type: 'job_complete' });
    expect(events.filter((e: { type: string }) => e.type === 'epoch_complete')).toHaveLength(2);

    const chat = await call('POST', '/chat/completions', {
      model: job.output_name,
      temperature: 0,
      messages: [{ role: 'user', content: prompt(gold[0]) }],
    });
    expect(chat.status).toBe(200);
    expect(answerOf(chat.body.choices[0].message.content)).toMatch(/^[ABCD]$/);
  });

  test('cancel moves a job through cancel_requested to cancelled; errors keep the OpenAI shape', async () => {
    await double.configure({ fineTune: { stepMs: 500 } });
    try {
      const uploaded = await uploadTraining();
      const created = await call('POST', '/fine-tunes', { training_file: uploaded.body.id, model: together });
      const cancelled = await call('POST', `/fine-tunes/${created.body.id}/cancel`);
      expect(cancelled.body.status).toBe('cancel_requested');
      await waitFor(
        async () => (await call('GET', `/fine-tunes/${created.body.id}`)).body.status,
        (status) => status === 'cancelled',
      );
    } finally {
      await double.configure({ fineTune: { stepMs: 30 } });
    }
    const missingModel = await call('POST', '/fine-tunes', { training_file: 'file-x', model: 'nope' });
    expect(missingModel).toEqual({
      status: 404,
      body: { error: expect.objectContaining({ code: 'model_not_found', type: 'invalid_request_error' }) },
    });
    expect((await call('GET', '/fine-tunes/ft-missing')).status).toBe(404);
    const unauthorized = await fetch(`${double.togetherBaseURL}/fine-tunes`, {
      headers: { authorization: 'Bearer wrong' },
    });
    expect(unauthorized.status).toBe(401);
  });
});

describe('fault injection and rate limiting', () => {
  const gold = syntheticGold(5, 'faults');
  const messages = [{ role: 'user' as const, content: prompt(gold[0]) }];
  let double: ProviderDouble;
  let client: OpenAI;
  const chat = () => client.chat.completions.create({ model: 'sim-model', temperature: 0, messages });

  beforeAll(async () => {
    double = await startProviderDouble({ gold });
    client = new OpenAI({ baseURL: double.baseURL, apiKey: 'any', maxRetries: 0, timeout: 2_000 });
  });
  afterEach(() => double.configure({ faults: { rate: 0 }, rateLimit: { requestsPerMinute: 0, tokensPerMinute: 0 } }));
  afterAll(() => double?.stop());

  test('429 carries Retry-After; 500 is a server error', async () => {
    await double.configure({ faults: { rate: 1, kinds: ['429'], retryAfterSeconds: 7 } });
    const limited = await thrown(chat);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('7');

    await double.configure({ faults: { kinds: ['500'] } });
    expect(await thrown(chat)).toBeInstanceOf(OpenAI.InternalServerError);
  });

  test('reset and timeout surface as connection errors; malformed as a JSON parse error', async () => {
    await double.configure({ faults: { rate: 1, kinds: ['reset'] } });
    const reset = await thrown(chat);
    expect(reset).toBeInstanceOf(OpenAI.APIConnectionError);

    // The client gives up first: the double would hold the connection for ten minutes, longer than the test may
    // run, so only the client's timeout can end the call. (Under jest the SDK reports its own timeout as a plain
    // APIConnectionError, the parent class of APIConnectionTimeoutError: the AbortError comes from another realm.)
    await double.configure({ faults: { kinds: ['timeout'], timeoutMs: 600_000 } });
    const impatient = new OpenAI({ baseURL: double.baseURL, apiKey: 'any', maxRetries: 0, timeout: 300 });
    expect(await thrown(() => impatient.chat.completions.create({ model: 'sim-model', messages }))).toBeInstanceOf(
      OpenAI.APIConnectionError,
    );

    // The double gives up first and drops the connection.
    await double.configure({ faults: { timeoutMs: 200 } });
    expect(await thrown(chat)).toBeInstanceOf(OpenAI.APIConnectionError);

    await double.configure({ faults: { kinds: ['malformed'] } });
    // Compared by name: the SyntaxError comes from the fetch realm, not jest's.
    expect((await thrown(chat)) as Error).toMatchObject({ name: 'SyntaxError' });
  });

  test('faults follow a seeded sequence, touch only matching paths, and are all in the request log', async () => {
    const outcomes = async () => {
      await double.configure({ faults: { rate: 0.5, kinds: ['500'], seed: 11 } });
      const results: string[] = [];
      for (let i = 0; i < 12; i++)
        results.push(
          (await chat().then(
            () => 'ok',
            () => 'fault',
          )) as string,
        );
      return results;
    };
    const first = await outcomes();
    expect(first).toContain('ok');
    expect(first).toContain('fault');
    expect(await outcomes()).toEqual(first);

    await double.configure({ faults: { rate: 1, kinds: ['reset'] } });
    await double.clearRequests();
    expect((await client.models.list()).data.length).toBeGreaterThan(0);
    await thrown(chat);
    const log = await double.requests();
    expect(log.map((entry) => [entry.path, entry.status, entry.fault])).toEqual([
      ['/v1/models', 200, null],
      ['/v1/chat/completions', 0, 'reset'],
    ]);
  });

  test("the rate limit answers 429 with Retry-After once a minute's budget is spent", async () => {
    await double.configure({ rateLimit: { requestsPerMinute: 3 } });
    await double.clearRequests();
    for (let i = 0; i < 3; i++) await chat();
    const limited = await thrown(chat);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    const retryAfter = Number((limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await double.requests()).map((entry) => entry.fault)).toEqual([null, null, null, 'rate_limit']);
  });

  test('a limited model call carries the x-ratelimit headers: what is left and when it frees', async () => {
    await double.configure({ rateLimit: { requestsPerMinute: 2 } });
    await double.clearRequests();
    const limits = async () => {
      const { response } = await client.chat.completions.create({ model: 'sim-model', messages }).withResponse();
      return [
        response.headers.get('x-ratelimit-remaining-requests'),
        response.headers.get('x-ratelimit-reset-requests'),
      ];
    };
    const [remaining, reset] = await limits();
    expect(remaining).toBe('1');
    expect(reset).toMatch(/^(\d+m)?\d+(\.\d+)?s$|^\d+ms$/);
    expect((await limits())[0]).toBe('0');
    // A rejection carries them too, and is logged as sent.
    const limited = (await thrown(chat)) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(limited.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(limited.headers?.get('x-ratelimit-reset-requests')).toBeTruthy();
    expect((await double.requests()).map((r) => r.fault)).toEqual([null, null, 'rate_limit']);
  });

  test('tokensPerMinute rejects a call that would overflow the window, counting prompt and max_tokens', async () => {
    await double.configure({ rateLimit: { tokensPerMinute: 250 } });
    await double.clearRequests();
    // 40 characters: 10 tokens, and 90 for max_tokens.
    const ask = (content: string) =>
      client.chat.completions
        .create({ model: 'sim-model', messages: [{ role: 'user', content }], max_tokens: 90 })
        .withResponse();
    const first = await ask('a'.repeat(40));
    expect(first.response.headers.get('x-ratelimit-remaining-tokens')).toBe('150');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBeNull();
    expect((await ask('b'.repeat(40))).response.headers.get('x-ratelimit-remaining-tokens')).toBe('50');
    const limited = (await thrown(() => ask('c'.repeat(40)))) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.message).toContain('250 tokens per minute');
    expect(limited.headers?.get('x-ratelimit-remaining-tokens')).toBe('50');
    expect(Number(limited.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect((await double.requests()).map((r) => [r.status, r.limitTokens])).toEqual([
      [200, 100],
      [200, 100],
      [429, 100],
    ]);
  });

  test('latencyMs delays model calls', async () => {
    await double.configure({ latencyMs: 150 });
    const started = Date.now();
    await chat();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await double.configure({ latencyMs: 0 });
  });
});

describe('provider test double with deterministic ids', () => {
  it('hands out the same file and job ids to the same requests, in two separate doubles', async () => {
    const ids = async () => {
      const double = await startProviderDouble({ config: { deterministicIds: true, fineTune: { stepMs: 50 } } });
      try {
        const client = new OpenAI({ baseURL: double.baseURL, apiKey: 'k', maxRetries: 0 });
        const line = JSON.stringify({
          messages: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: 'a' },
          ],
        });
        const file = await client.files.create({
          file: await toFile(Buffer.from(line), 'train.jsonl'),
          purpose: 'fine-tune',
        });
        const first = await client.fineTuning.jobs.create({ model: 'sim-model', training_file: file.id, suffix: 'x' });
        const second = await client.fineTuning.jobs.create({ model: 'sim-model', training_file: file.id, suffix: 'x' });
        return [file.id, first.id, second.id];
      } finally {
        await double.stop();
      }
    };
    const [a, b] = [await ids(), await ids()];
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(3); // a repeated creation is still a new job
  });
});
