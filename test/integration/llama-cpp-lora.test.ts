// LoRA adapters on the embedded llama.cpp backend, for real on the tiny random-weight model: a request naming an
// adapter is answered with it applied, each adapter set by its own context, and the response cache tells them apart.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelGateway } from '../../activities/providers/gateway';
import { LlamaCppChat } from '../../activities/providers/llama-cpp-chat';
import type { LlamaCppProviderConfig, ProvidersConfig } from '../../core/config';
import type { ChatRequest, ChatResponse, ModelRef } from '../../core/types';
import { encodeGguf } from '../../lib/gguf/writer';
import { buildLoraAdapter, defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import { readGgufHeader } from '../../lib/gguf/reader';
import { ResponseCache } from '../../lib/response-cache';

const modelPath = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');

// One thread: node-llama-cpp defaults to twice the math cores, and oversubscribed threads slow this tiny model ~50x.
const config: LlamaCppProviderConfig = {
  kind: 'llama-cpp',
  modelPath,
  contextSize: 256,
  gpu: false,
  threads: 1,
  maxConcurrency: 2,
};

let dir: string;
type Adapter = NonNullable<ModelRef['adapter']>;
const adapter = (name: string, scale?: number): Adapter => ({
  name,
  path: path.join(dir, `${name}.gguf`),
  ...(scale === undefined ? {} : { scale }),
});

/** Greedy, with the log-probabilities of the five likeliest tokens at every step: the model's output, compared. */
function request(adapterOfCall?: Adapter, question = 'What is the capital of France?'): ChatRequest {
  return {
    model: 'tiny',
    messages: [{ role: 'user', content: question }],
    temperature: 0,
    max_tokens: 4,
    logprobs: true,
    top_logprobs: 5,
    ...(adapterOfCall ? { adapter: adapterOfCall } : {}),
  };
}

/** Every log-probability of the answer, its tokens' and their alternatives', in order. */
function logprobsOf(response: ChatResponse): number[] {
  return response.choices[0]!.logprobs!.flatMap((entry) => [entry.logprob, ...entry.top!.map((top) => top.logprob)]);
}

/** Largest difference between two answers' log-probabilities, counting the first token only when the texts differ. */
function difference(a: ChatResponse, b: ChatResponse): number {
  const [x, y] = [logprobsOf(a), logprobsOf(b)];
  const compared = a.choices[0]!.text === b.choices[0]!.text ? x.length : 6;
  return Math.max(...x.slice(0, compared).map((value, i) => Math.abs(value - y[i]!)));
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-llama-lora-'));
  for (const name of ['a', 'b', 'c']) {
    writeLoraAdapter(modelPath, adapter(name).path, { ...defaultLoraSpec, seed: `adapter-${name}` });
  }
  // Shapes swapped: a file llama.cpp refuses to apply.
  const { metadata, tensors } = buildLoraAdapter(readGgufHeader(modelPath), { ...defaultLoraSpec, seed: 'swapped' });
  const swapped = tensors.map((tensor) => ({ ...tensor, dims: [...tensor.dims].reverse() }));
  fs.writeFileSync(adapter('swapped').path, encodeGguf(metadata, swapped));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('LlamaCppChat with a LoRA adapter', () => {
  const chat = new LlamaCppChat(config);
  afterAll(() => chat.close());

  it('applies the adapter a request names: A differs from the base, B from A, and no adapter is the base', async () => {
    const base = await chat.complete(request());
    const a = await chat.complete(request(adapter('a')));
    const b = await chat.complete(request(adapter('b')));
    const aAtScaleZero = await chat.complete(request(adapter('a', 0)));
    // Four adapter sets so far, two contexts kept: the base's context was disposed and is made anew.
    const baseAgain = await chat.complete(request());
    const aAgain = await chat.complete(request(adapter('a')));

    expect(difference(a, base)).toBeGreaterThan(1e-3);
    expect(difference(b, a)).toBeGreaterThan(1e-3);
    expect(difference(b, base)).toBeGreaterThan(1e-3);
    expect(difference(aAtScaleZero, base)).toBeLessThan(1e-5);
    expect(baseAgain).toEqual(base);
    expect(aAgain).toEqual(a);
  });

  it('serves concurrent calls naming different adapters, each with its own adapter', async () => {
    const sets = [undefined, adapter('a'), adapter('b'), adapter('c')];
    const questions = ['Name a colour.', 'Count to three.'];
    const serial: ChatResponse[] = [];
    for (const question of questions) for (const set of sets) serial.push(await chat.complete(request(set, question)));

    // Eight calls on two sequences across four adapter sets: contexts are made and evicted while others are in use.
    const concurrent = await Promise.all(
      questions.flatMap((question) => sets.map((set) => chat.complete(request(set, question)))),
    );
    // Each adapter set answers apart from the others, so a call served by another's context would show.
    for (const [i, response] of concurrent.slice(1, sets.length).entries()) {
      expect(difference(response, concurrent[i]!)).toBeGreaterThan(1e-3);
    }
    concurrent.forEach((response, i) => {
      expect(response.choices[0]!.text).toBe(serial[i]!.choices[0]!.text);
      expect(difference(response, serial[i]!)).toBeLessThan(1e-5);
    });
  });

  it('names an adapter file that is missing, and one llama.cpp refuses, and stays usable', async () => {
    const missing = adapter('no-such-adapter');
    await expect(chat.complete(request(missing))).rejects.toThrow(
      `llama-cpp provider: LoRA adapter "no-such-adapter" not found at ${missing.path}`,
    );
    await expect(chat.complete(request(adapter('swapped')))).rejects.toThrow(
      /with LoRA adapter "swapped" \(.*swapped\.gguf\).*lora/i,
    );
    expect((await chat.complete(request(adapter('a')))).choices[0]!.text).toBeDefined();
  });
});

describe('ModelGateway with LoRA adapters on llama.cpp', () => {
  const providers: ProvidersConfig = { local: config };

  it('keys the response cache by adapter: the same prompt with another adapter is a new call', async () => {
    const gateway = new ModelGateway(new ResponseCache(path.join(dir, 'cache')));
    const call = (adapterOfCall?: Adapter) => gateway.chat(providers, 'local', request(adapterOfCall, 'Hello?'));

    const base = await call();
    const a = await call(adapter('a'));
    const b = await call(adapter('b'));
    const halfA = await call(adapter('a', 0.5));
    expect([base, a, b, halfA].map((c) => c.usage.calls)).toEqual([1, 1, 1, 1]);
    expect(difference(a.response, base.response)).toBeGreaterThan(1e-3);
    expect(difference(b.response, a.response)).toBeGreaterThan(1e-3);
    expect(difference(halfA.response, a.response)).toBeGreaterThan(0);

    const repeats = [await call(), await call(adapter('a')), await call(adapter('b'))];
    expect(repeats.map((c) => c.usage.cachedCalls)).toEqual([1, 1, 1]);
    expect(repeats.map((c) => c.response)).toEqual([base.response, a.response, b.response]);
    await gateway.close();
  });
});
