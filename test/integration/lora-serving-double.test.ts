// The provider test double as a vLLM or SGLang server that loads LoRA adapters at runtime, unloads them, forgets them
// on a restart, and serves chats with them.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import { defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';

const baseModel = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');

let double: ProviderDouble;
let client: OpenAI;
let dir: string;
let adapterFile: string;
let otherAdapterFile: string;

async function post(route: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${double.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: response.status, body: isJson ? JSON.parse(text) : text };
}

async function chat(model: string): Promise<{ status: number; body: unknown }> {
  return post('/v1/chat/completions', { model, temperature: 0, messages: [{ role: 'user', content: 'Hi?' }] });
}

type ListedModel = { id: string; root?: string; parent?: string | null };

async function modelList(): Promise<ListedModel[]> {
  return ((await (await fetch(`${double.baseURL}/models`)).json()) as { data: ListedModel[] }).data;
}

const vllmNotFound = (model: string) => ({
  object: 'error',
  message: `The model \`${model}\` does not exist.`,
  type: 'NotFoundError',
  param: null,
  code: 404,
});

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-lora-double-'));
  adapterFile = path.join(dir, 'math.gguf');
  otherAdapterFile = path.join(dir, 'other.gguf');
  writeLoraAdapter(baseModel, adapterFile, { ...defaultLoraSpec, seed: 'math' });
  writeLoraAdapter(baseModel, otherAdapterFile, { ...defaultLoraSpec, seed: 'other' });
  double = await startProviderDouble();
  client = new OpenAI({ baseURL: double.baseURL, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await double?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await double.restartLoraServing();
});

describe('vLLM', () => {
  test('a loaded adapter is listed with its base and path, and answers chats under its own name', async () => {
    const loaded = await post('/v1/load_lora_adapter', { lora_name: 'math', lora_path: adapterFile });
    expect(loaded).toEqual({ status: 200, body: "Success: LoRA adapter 'math' added successfully." });

    expect(await modelList()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'sim-model', root: 'sim-model', parent: null }),
        expect.objectContaining({ id: 'math', object: 'model', root: adapterFile, parent: 'sim-model' }),
      ]),
    );
    const completion = await client.chat.completions.create({
      model: 'math',
      temperature: 0,
      messages: [{ role: 'user', content: 'What is 2 + 2?' }],
    });
    expect(completion.model).toBe('math');
    expect(completion.choices[0]!.message.content).toBeTruthy();
  });

  test('loading a name twice is refused until it is unloaded; then chats with it get 404', async () => {
    await post('/v1/load_lora_adapter', { lora_name: 'math', lora_path: adapterFile });
    const again = await post('/v1/load_lora_adapter', { lora_name: 'math', lora_path: otherAdapterFile });
    expect(again).toEqual({
      status: 400,
      body: {
        object: 'error',
        message: "The lora adapter 'math' has already been loaded.",
        type: 'InvalidUserInput',
        param: null,
        code: 400,
      },
    });
    expect((await modelList()).find((model) => model.id === 'math')?.root).toBe(adapterFile);

    const unloaded = await post('/v1/unload_lora_adapter', { lora_name: 'math' });
    expect(unloaded).toEqual({ status: 200, body: "Success: LoRA adapter 'math' removed successfully." });
    expect(await chat('math')).toEqual({ status: 404, body: vllmNotFound('math') });
    expect((await modelList()).map((model) => model.id)).not.toContain('math');

    const twice = await post('/v1/unload_lora_adapter', { lora_name: 'math' });
    expect(twice.status).toBe(404);
    expect(twice.body).toMatchObject({ type: 'NotFoundError', message: "The lora adapter 'math' cannot be found." });

    expect((await post('/v1/load_lora_adapter', { lora_name: 'math', lora_path: otherAdapterFile })).status).toBe(200);
    expect((await chat('math')).status).toBe(200);
  });

  test('bad load requests: missing fields, a path that does not exist, an unknown base model', async () => {
    const missing = await post('/v1/load_lora_adapter', { lora_name: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ object: 'error', type: 'InvalidUserInput', code: 400 });

    const noFile = await post('/v1/load_lora_adapter', { lora_name: 'x', lora_path: path.join(dir, 'nope') });
    expect(noFile.status).toBe(404);
    expect(noFile.body).toMatchObject({ object: 'error', type: 'NotFoundError' });

    const request = { lora_name: 'x', lora_path: adapterFile, base_model_name: 'no-such-base' };
    expect(await post('/v1/load_lora_adapter', request)).toEqual({ status: 404, body: vllmNotFound('no-such-base') });

    const onSecond = { lora_name: 'x', lora_path: adapterFile, base_model_name: 'sim-model-2' };
    expect((await post('/v1/load_lora_adapter', onSecond)).status).toBe(200);
    expect((await modelList()).find((model) => model.id === 'x')?.parent).toBe('sim-model-2');
    expect((await double.loraAdapters()).loaded.map((adapter) => adapter.name)).toEqual(['x']);
  });

  test('models that never were adapters keep the OpenAI-shaped 404', async () => {
    const unknown = await chat('never-loaded');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'model_not_found' } });
  });
});

describe('SGLang', () => {
  test('load and unload answer with success flags and the loaded adapters; chats use name or base:name', async () => {
    const loaded = await post('/load_lora_adapter', { lora_name: 'math', lora_path: adapterFile });
    expect(loaded).toEqual({
      status: 200,
      body: { success: true, error_message: '', loaded_adapters: { math: adapterFile } },
    });
    expect((await chat('math')).status).toBe(200);
    expect((await chat('sim-model:math')).status).toBe(200);
    expect((await chat('sim-model-2:math')).status).toBe(404);

    const again = await post('/load_lora_adapter', { lora_name: 'math', lora_path: otherAdapterFile });
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ success: false, loaded_adapters: { math: adapterFile } });

    const unloaded = await post('/unload_lora_adapter', { lora_name: 'math' });
    expect(unloaded).toEqual({ status: 200, body: { success: true, error_message: '', loaded_adapters: {} } });
    expect((await post('/unload_lora_adapter', { lora_name: 'math' })).body).toMatchObject({ success: false });
  });
});

test('a serving restart forgets every adapter: chats with them get 404 until they are loaded again', async () => {
  await post('/v1/load_lora_adapter', { lora_name: 'math', lora_path: adapterFile });
  await post('/load_lora_adapter', { lora_name: 'other', lora_path: otherAdapterFile });
  expect((await chat('other')).status).toBe(200);

  expect(await double.restartLoraServing()).toBe(2);
  expect(await chat('math')).toEqual({ status: 404, body: vllmNotFound('math') });
  expect(await chat('other')).toEqual({ status: 404, body: vllmNotFound('other') });
  expect((await modelList()).map((model) => model.id)).toEqual(['sim-model', 'sim-model-2', 'sim-embedding']);

  expect((await post('/v1/load_lora_adapter', { lora_name: 'math', lora_path: adapterFile })).status).toBe(200);
  expect((await chat('math')).status).toBe(200);
});

test('loads and unloads appear in the request log and in the adapter history', async () => {
  await double.clearRequests();
  await post('/v1/load_lora_adapter', { lora_name: 'math', lora_path: adapterFile });
  await post('/v1/load_lora_adapter', { lora_name: 'math', lora_path: adapterFile });
  await post('/v1/unload_lora_adapter', { lora_name: 'math' });
  await post('/load_lora_adapter', { lora_name: 'other', lora_path: otherAdapterFile });

  const log = await double.requests();
  expect(log.map((entry) => [entry.path, entry.status])).toEqual([
    ['/v1/load_lora_adapter', 200],
    ['/v1/load_lora_adapter', 400],
    ['/v1/unload_lora_adapter', 200],
    ['/load_lora_adapter', 200],
  ]);
  const events = (await double.loraAdapters()).events.slice(-4);
  expect(events).toEqual([
    expect.objectContaining({ action: 'load', api: 'vllm', name: 'math', path: adapterFile, error: null }),
    expect.objectContaining({ action: 'load', api: 'vllm', name: 'math', error: 'duplicate' }),
    expect.objectContaining({ action: 'unload', api: 'vllm', name: 'math', error: null }),
    expect.objectContaining({ action: 'load', api: 'sglang', name: 'other', error: null }),
  ]);
});
