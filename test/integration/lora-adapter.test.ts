// Adapters written by lib/gguf load into real llama.cpp (through node-llama-cpp, as the llama-cpp provider loads it)
// and change what the tiny random-weight model predicts; scale 0 leaves it exactly as the base.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LlamaModel } from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import { importEsmPackage } from '../../activities/esm-import';
import { encodeGguf } from '../../lib/gguf/writer';
import { buildLoraAdapter, defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import { readGgufHeader } from '../../lib/gguf/reader';

type NodeLlamaCpp = typeof import('node-llama-cpp', { with: { 'resolution-mode': 'import' } });

const baseModel = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');
const prompt = 'The capital of France is';

let dir: string;
let model: LlamaModel;
let vocabularySize: number;
const adapterPath = (name: string) => path.join(dir, `${name}.gguf`);

/** Log-probabilities of the whole vocabulary for the token after the prompt, with the given adapters applied. */
async function nextTokenLogprobs(adapters: { filePath: string; scale: number }[] = []): Promise<Float64Array> {
  const context = await model.createContext({
    contextSize: 64,
    threads: 1,
    ...(adapters.length > 0 ? { lora: { adapters } } : {}),
  });
  try {
    // evaluateWithMetadata rather than controlledEvaluate: the latter tells its input forms apart with
    // `instanceof Array`, which fails for arrays made in jest's sandbox realm.
    const generation = context.getSequence().evaluateWithMetadata(model.tokenize(prompt), { probabilities: true });
    const first = await generation.next();
    await generation.return();
    if (first.done) throw new Error('llama.cpp generated no token after the prompt');
    const { probabilities } = first.value;
    const logprobs = new Float64Array(vocabularySize).fill(-Infinity);
    for (const [token, probability] of probabilities) logprobs[token] = Math.log(probability);
    return logprobs;
  } finally {
    await context.dispose();
  }
}

const maxDifference = (a: Float64Array, b: Float64Array) =>
  a.reduce((max, value, i) => Math.max(max, Math.abs(value - b[i]!)), 0);
const argmax = (values: Float64Array) => values.reduce((best, value, i) => (value > values[best]! ? i : best), 0);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-lora-'));
  vocabularySize = (readGgufHeader(baseModel).metadata.get('tokenizer.ggml.tokens')?.value as string[]).length;
  writeLoraAdapter(baseModel, adapterPath('a'), { ...defaultLoraSpec, seed: 'adapter-a' });
  writeLoraAdapter(baseModel, adapterPath('b'), { ...defaultLoraSpec, seed: 'adapter-b' });
  const { getLlama } = await importEsmPackage<NodeLlamaCpp>('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never' });
  model = await llama.loadModel({ modelPath: baseModel });
});

afterAll(async () => {
  const llama = model?.llama;
  await model?.dispose();
  await llama?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an adapter changes the next-token log-probabilities; scale 0 and no adapter give the base values', async () => {
  const base = await nextTokenLogprobs();
  const baseAgain = await nextTokenLogprobs();
  const scaledToZero = await nextTokenLogprobs([{ filePath: adapterPath('a'), scale: 0 }]);
  const adapted = await nextTokenLogprobs([{ filePath: adapterPath('a'), scale: 1 }]);

  // llama.cpp reports a probability for every token, so each difference below is between finite numbers.
  expect(base.every(Number.isFinite)).toBe(true);
  expect(maxDifference(baseAgain, base)).toBe(0);
  expect(maxDifference(scaledToZero, base)).toBeLessThan(1e-6);
  // The random base is nearly uniform over 32000 tokens (log-probs near -10.37), so shifts are small but far above
  // float noise; the most likely token changes too.
  expect(maxDifference(adapted, base)).toBeGreaterThan(1e-3);
  expect(argmax(adapted)).not.toBe(argmax(base));
});

test('two adapters give different outputs, and half the scale moves the model less', async () => {
  const base = await nextTokenLogprobs();
  const a = await nextTokenLogprobs([{ filePath: adapterPath('a'), scale: 1 }]);
  const b = await nextTokenLogprobs([{ filePath: adapterPath('b'), scale: 1 }]);
  const halfA = await nextTokenLogprobs([{ filePath: adapterPath('a'), scale: 0.5 }]);

  expect(maxDifference(a, b)).toBeGreaterThan(1e-3);
  expect(maxDifference(halfA, base)).toBeGreaterThan(0);
  expect(maxDifference(halfA, base)).toBeLessThan(maxDifference(a, base));
});

test('llama.cpp reads adapter.lora.alpha: twice the alpha at half the scale is the same adapter', async () => {
  writeLoraAdapter(baseModel, adapterPath('a-alpha16'), { ...defaultLoraSpec, seed: 'adapter-a', alpha: 16 });
  expect(defaultLoraSpec.alpha).toBe(8);
  const a = await nextTokenLogprobs([{ filePath: adapterPath('a'), scale: 1 }]);
  const doubledAlphaHalfScale = await nextTokenLogprobs([{ filePath: adapterPath('a-alpha16'), scale: 0.5 }]);
  const doubledAlpha = await nextTokenLogprobs([{ filePath: adapterPath('a-alpha16'), scale: 1 }]);

  expect(maxDifference(doubledAlphaHalfScale, a)).toBeLessThan(1e-5);
  expect(maxDifference(doubledAlpha, a)).toBeGreaterThan(1e-3);
});

test('an adapter whose lora_b is zero, as training starts, leaves the base model unchanged', async () => {
  const { metadata, tensors } = buildLoraAdapter(readGgufHeader(baseModel), { ...defaultLoraSpec, seed: 'fresh' });
  const zeroB = tensors.map((tensor) =>
    tensor.name.endsWith('.lora_b') ? { ...tensor, data: new Float32Array(tensor.data.length) } : tensor,
  );
  fs.writeFileSync(adapterPath('zero-b'), encodeGguf(metadata, zeroB));

  const base = await nextTokenLogprobs();
  expect(maxDifference(await nextTokenLogprobs([{ filePath: adapterPath('zero-b'), scale: 1 }]), base)).toBeLessThan(
    1e-6,
  );
});

test('llama.cpp refuses an adapter whose lora_a and lora_b shapes are swapped', async () => {
  const { metadata, tensors } = buildLoraAdapter(readGgufHeader(baseModel), { ...defaultLoraSpec, seed: 'swapped' });
  const swapped = tensors.map((tensor) => ({ ...tensor, dims: [...tensor.dims].reverse() }));
  fs.writeFileSync(adapterPath('swapped'), encodeGguf(metadata, swapped));

  await expect(nextTokenLogprobs([{ filePath: adapterPath('swapped'), scale: 1 }])).rejects.toThrow(/lora/i);
  // The refusal leaves the model usable.
  expect((await nextTokenLogprobs()).every(Number.isFinite)).toBe(true);
});
