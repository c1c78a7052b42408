// The GGUF writer and reader against each other and against a real base model's header.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufValueType, type GgufEntry } from '../../lib/gguf/format';
import { buildLoraAdapter, defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import { readGgufHeader } from '../../lib/gguf/reader';
import { seededUniform } from '../../lib/gguf/seeded-values';
import { encodeGguf } from '../../lib/gguf/writer';

const baseModel = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-gguf-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a written file reads back with every metadata type, tensor shape, offset and value', () => {
  const metadata: [string, GgufEntry][] = [
    ['general.architecture', { type: GgufValueType.String, value: 'llama' }],
    ['t.u8', { type: GgufValueType.Uint8, value: 200 }],
    ['t.i16', { type: GgufValueType.Int16, value: -300 }],
    ['t.u32', { type: GgufValueType.Uint32, value: 4_000_000_000 }],
    ['t.i32', { type: GgufValueType.Int32, value: -5 }],
    ['t.f32', { type: GgufValueType.Float32, value: 0.5 }],
    ['t.f64', { type: GgufValueType.Float64, value: Math.PI }],
    ['t.bool', { type: GgufValueType.Bool, value: true }],
    ['t.u64', { type: GgufValueType.Uint64, value: 2n ** 40n }],
    ['t.i64', { type: GgufValueType.Int64, value: -(2n ** 40n) }],
    ['t.strings', { type: GgufValueType.Array, itemType: GgufValueType.String, value: ['a', 'bé', ''] }],
  ];
  const first = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const second = Float32Array.from([-1.5]);
  const file = path.join(dir, 'roundtrip.gguf');
  const tensors = [
    { name: 'first', dims: [3, 2], data: first },
    { name: 'second', dims: [1], data: second },
  ];
  fs.writeFileSync(file, encodeGguf(metadata, tensors));

  const header = readGgufHeader(file);
  expect(header.version).toBe(3);
  expect(header.alignment).toBe(32);
  expect(header.dataOffset % 32).toBe(0);
  expect([...header.metadata.entries()]).toEqual(metadata);
  expect(header.tensors).toEqual([
    { name: 'first', dims: [3, 2], ggmlType: 0, offset: 0 },
    { name: 'second', dims: [1], ggmlType: 0, offset: 32 },
  ]);
  const bytes = fs.readFileSync(file);
  const floatsAt = (offset: number, count: number) =>
    Array.from({ length: count }, (_, i) => bytes.readFloatLE(header.dataOffset + offset + i * 4));
  expect(floatsAt(0, 6)).toEqual([...first]);
  expect(floatsAt(32, 1)).toEqual([...second]);
});

test('the writer refuses data that does not match the dims', () => {
  expect(() => encodeGguf([], [{ name: 'bad', dims: [2, 2], data: new Float32Array(3) }])).toThrow(
    'bad has 3 values for dims [2,2]',
  );
});

test('reads the tiny llama base model: architecture, vocabulary arrays and weight shapes', () => {
  const header = readGgufHeader(baseModel);
  expect(header.metadata.get('general.architecture')?.value).toBe('llama');
  expect(header.metadata.get('tokenizer.ggml.tokens')?.value).toHaveLength(32000);
  const q = header.tensors.find((tensor) => tensor.name === 'blk.0.attn_q.weight');
  expect(q?.dims).toEqual([8, 8]);
  expect(header.tensors.find((tensor) => tensor.name === 'blk.0.ffn_down.weight')?.dims).toEqual([32, 8]);
  // The data section holds every tensor: the file ends after the last one.
  expect(header.dataOffset).toBeLessThan(fs.statSync(baseModel).size);
});

test('a LoRA adapter has llama.cpp metadata and a [n_in, r] x [r, n_out] pair per targeted weight', () => {
  const base = readGgufHeader(baseModel);
  const spec = { ...defaultLoraSpec, seed: 's', rank: 3, targets: ['attn_q', 'ffn_down'] };
  const { metadata, tensors } = buildLoraAdapter(base, spec);
  const meta = Object.fromEntries(metadata.map(([key, entry]) => [key, entry.value]));
  expect(meta).toMatchObject({
    'general.architecture': 'llama',
    'general.type': 'adapter',
    'adapter.type': 'lora',
    'adapter.lora.alpha': spec.alpha,
  });
  expect(metadata.find(([key]) => key === 'adapter.lora.alpha')?.[1].type).toBe(GgufValueType.Float32);
  expect(tensors.map((tensor) => [tensor.name, tensor.dims])).toEqual([
    ['blk.0.attn_q.weight.lora_a', [8, 3]],
    ['blk.0.attn_q.weight.lora_b', [3, 8]],
    ['blk.0.ffn_down.weight.lora_a', [32, 3]],
    ['blk.0.ffn_down.weight.lora_b', [3, 8]],
  ]);
  expect(() => buildLoraAdapter(base, { ...spec, targets: ['no_such'] })).toThrow('no 2-D weight for no_such');
});

test('the same seed writes byte-identical adapters, another seed different values', () => {
  const write = (name: string, seed: string) => {
    const file = path.join(dir, name);
    writeLoraAdapter(baseModel, file, { ...defaultLoraSpec, seed });
    return fs.readFileSync(file);
  };
  const a = write('a.gguf', 'one');
  expect(write('a-again.gguf', 'one').equals(a)).toBe(true);
  const b = write('b.gguf', 'two');
  expect(b.length).toBe(a.length);
  expect(b.equals(a)).toBe(false);
  expect(fs.existsSync(path.join(dir, 'a.gguf.partial'))).toBe(false);
});

test('seeded values stay within the scale and are not degenerate', () => {
  const values = seededUniform('x', 10_000, 0.25);
  expect(Math.max(...values)).toBeLessThan(0.25);
  expect(Math.min(...values)).toBeGreaterThanOrEqual(-0.25);
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  expect(Math.abs(mean)).toBeLessThan(0.01);
  expect(new Set(values).size).toBeGreaterThan(9_900);
});
