// The serving backends behind serveAdapter and unloadAdapters, against the provider double's vLLM and SGLang routes
// and a small stand-in for llama.cpp's server: the requests each engine gets, idempotent loads, errors as the
// server words them.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActivityDeps } from '../../activities/context';
import { servingActivities } from '../../activities/serving';
import type { AdapterServingRef } from '../../core/types';
import { AdapterCopies } from '../../lib/adapter-archive';
import { LocalArtifactStore } from '../../lib/artifacts';
import { defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import { doubleProvider, startProviderDouble, type ProviderDouble } from '../support/provider-double';

const baseModel = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');

let double: ProviderDouble;
let dir: string;
let mathDir: string;
let otherDir: string;
let activities: ReturnType<typeof servingActivities>;

/** An adapter directory as the command backend leaves it: the trainer's output with one adapter.gguf inside. */
function adapterDir(name: string): string {
  const out = path.join(dir, name);
  fs.mkdirSync(out, { recursive: true });
  writeLoraAdapter(baseModel, path.join(out, 'adapter.gguf'), { ...defaultLoraSpec, seed: name });
  return out;
}

const serve = (engine: AdapterServingRef['engine'], name: string, adapterPath: string) =>
  activities.serveAdapter({
    providers: { served: doubleProvider(double.baseURL) },
    adapter: { name, path: adapterPath },
    serving: { engine, provider: 'served' },
  });

const adminRequests = async () =>
  (await double.requests()).filter((r) => /lora_adapter|chat\/completions/.test(r.path)).map((r) => r.path);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-adapter-serving-'));
  mathDir = adapterDir('math');
  otherDir = adapterDir('other');
  const store = new LocalArtifactStore(path.join(dir, 'store'));
  activities = servingActivities({ env: {}, adapters: new AdapterCopies(store, dir) } as unknown as ActivityDeps);
  double = await startProviderDouble();
});

afterAll(async () => {
  await double?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The double's LoRA history outlives restarts: each test reads only the events after its own start. */
let seen = 0;
const loraNow = async () => {
  const { loaded, events } = await double.loraAdapters();
  return { loaded, events: events.slice(seen) };
};

beforeEach(async () => {
  await double.restartLoraServing();
  await double.clearRequests();
  seen = (await double.loraAdapters()).events.length;
});

describe('vllm', () => {
  test('loads once under /v1, lists it, probes through it, and a second serve loads nothing', async () => {
    const model = await serve('vllm', 'flt-math', mathDir);
    expect(model).toEqual({
      provider: 'served',
      model: 'flt-math',
      adapter: { name: 'flt-math', path: mathDir },
      serving: { engine: 'vllm', provider: 'served' },
    });
    await serve('vllm', 'flt-math', mathDir);
    const { loaded, events } = await loraNow();
    expect(loaded).toEqual([expect.objectContaining({ name: 'flt-math', path: mathDir, api: 'vllm' })]);
    expect(events.filter((e) => e.action === 'load')).toHaveLength(1);
    expect(await adminRequests()).toEqual(['/v1/load_lora_adapter', '/v1/chat/completions', '/v1/chat/completions']);
  });

  test('a name serving another file is unloaded, then loaded with the new one', async () => {
    await serve('vllm', 'flt-x', mathDir);
    await serve('vllm', 'flt-x', otherDir);
    const { loaded, events } = await loraNow();
    expect(loaded).toEqual([expect.objectContaining({ name: 'flt-x', path: otherDir })]);
    expect(events.map((e) => [e.action, e.path, e.error])).toEqual([
      ['load', mathDir, null],
      ['unload', mathDir, null],
      ['load', otherDir, null],
    ]);
  });

  test('after a serving restart the adapter is loaded again', async () => {
    await serve('vllm', 'flt-math', mathDir);
    expect(await double.restartLoraServing()).toBe(1);
    await serve('vllm', 'flt-math', mathDir);
    const loads = (await loraNow()).events.filter((e) => e.action === 'load' && !e.error);
    expect(loads).toHaveLength(2);
  });

  test("a refused load fails without retries, in the server's own words", async () => {
    await expect(serve('vllm', 'flt-gone', path.join(dir, 'missing'))).rejects.toMatchObject({
      nonRetryable: true,
      type: 'ProviderHttp404',
      message: expect.stringContaining(
        `Loading lora flt-gone failed: No adapter found for ${path.join(dir, 'missing')}`,
      ),
    });
  });

  test('unloadAdapters unloads what was served and skips what is gone or not served', async () => {
    const math = await serve('vllm', 'flt-math', mathDir);
    const other = await serve('vllm', 'flt-other', otherDir);
    await double.restartLoraServing();
    await serve('vllm', 'flt-math', mathDir);
    const unloaded = await activities.unloadAdapters({
      providers: { served: doubleProvider(double.baseURL) },
      models: [math, other, { provider: 'served', model: 'sim-model' }],
    });
    expect(unloaded).toEqual(['flt-math', 'flt-other']);
    const { loaded, events } = await loraNow();
    expect(loaded).toEqual([]);
    // flt-other was already gone: no unload request that the server would refuse.
    expect(events.filter((e) => e.action === 'unload')).toEqual([expect.objectContaining({ name: 'flt-math' })]);
  });
});

describe('sglang', () => {
  test('load and unload at the server root, not under /v1', async () => {
    const model = await serve('sglang', 'flt-math', mathDir);
    expect(model.serving).toEqual({ engine: 'sglang', provider: 'served' });
    await serve('sglang', 'flt-math', mathDir);
    await activities.unloadAdapters({ providers: { served: doubleProvider(double.baseURL) }, models: [model] });
    expect(await adminRequests()).toEqual([
      '/load_lora_adapter',
      '/v1/chat/completions',
      '/v1/chat/completions',
      '/unload_lora_adapter',
    ]);
    expect((await loraNow()).events.filter((e) => e.api === 'sglang').map((e) => e.action)).toEqual(['load', 'unload']);
  });
});

describe('llama-cpp-server', () => {
  /** llama-server as far as adapters go: the ones given with --lora at start, and chats that select them. */
  let server: http.Server;
  let url: string;
  const chats: unknown[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        response.setHeader('content-type', 'application/json');
        if (request.method === 'GET' && request.url === '/lora-adapters') {
          response.end(JSON.stringify([{ id: 0, path: path.join(mathDir, 'adapter.gguf'), scale: 0 }]));
        } else if (request.method === 'POST' && request.url === '/v1/chat/completions') {
          chats.push(JSON.parse(body));
          response.end(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'OK' } }] }));
        } else {
          response.statusCode = 404;
          response.end(JSON.stringify({ error: { code: 404, message: 'File Not Found', type: 'not_found_error' } }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const serveThere = (adapterPath: string) =>
    activities.serveAdapter({
      providers: { llama: doubleProvider(url) },
      adapter: { name: 'flt-math', path: adapterPath },
      serving: { engine: 'llama-cpp-server', provider: 'llama' },
    });

  test('a preloaded adapter is selected per request by its id', async () => {
    const model = await serveThere(mathDir);
    expect(model.serving).toEqual({ engine: 'llama-cpp-server', provider: 'llama', loraId: 0 });
    expect(model.adapter?.path).toBe(path.join(mathDir, 'adapter.gguf'));
    expect(chats.at(-1)).toMatchObject({ model: 'flt-math', lora: [{ id: 0, scale: 1 }] });
  });

  test('an adapter the server was not started with fails at once, saying how to start it', async () => {
    await expect(serveThere(otherDir)).rejects.toMatchObject({
      nonRetryable: true,
      type: 'InvalidConfig',
      message: expect.stringContaining(`--lora ${path.join(otherDir, 'adapter.gguf')} --lora-init-without-apply`),
    });
  });
});

describe('llama-cpp (embedded)', () => {
  test('a GGUF LoRA adapter is checked and carried in the ModelRef', async () => {
    const model = await serve('llama-cpp', 'flt-math', mathDir);
    expect(model).toEqual({
      provider: 'served',
      model: 'flt-math',
      adapter: { name: 'flt-math', path: path.join(mathDir, 'adapter.gguf') },
      serving: { engine: 'llama-cpp', provider: 'served' },
    });
  });

  test('a GGUF that is not an adapter fails without retries', async () => {
    await expect(serve('llama-cpp', 'flt-base', baseModel)).rejects.toMatchObject({
      nonRetryable: true,
      type: 'InvalidInput',
      message: expect.stringContaining('not a LoRA adapter'),
    });
  });
});
