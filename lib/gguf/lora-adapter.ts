// Builds a LoRA adapter GGUF for a llama.cpp base model, with reproducible values: stand-in "trained" adapters for
// tests that must load, apply and unload real adapters without a GPU or a training framework.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgufValueType, type GgufEntry } from './format';
import { metadataString, readGgufHeader, type GgufHeader } from './reader';
import { encodeGguf, type F32Tensor } from './writer';
import { seededUniform } from './seeded-values';

export interface LoraAdapterSpec {
  /** Any text: the same seed (with the same base and settings) gives byte-identical files. */
  seed: string;
  rank: number;
  /** llama.cpp scales the adapter's product by alpha / rank (times the scale the user loads it with). */
  alpha: number;
  /** Values are uniform in [-valueScale, valueScale). */
  valueScale: number;
  /** Base weights to adapt, by their name inside a block ("attn_q") or a top-level name ("output"). */
  targets: string[];
}

export const defaultLoraSpec: Omit<LoraAdapterSpec, 'seed'> = {
  rank: 4,
  alpha: 8,
  valueScale: 0.5,
  targets: ['attn_q', 'attn_v'],
};

function targetedWeights(base: GgufHeader, targets: string[]) {
  const wanted = (name: string) =>
    targets.some((target) => name === `${target}.weight` || new RegExp(`^blk\\.\\d+\\.${target}\\.weight$`).test(name));
  const weights = base.tensors.filter((tensor) => tensor.dims.length === 2 && wanted(tensor.name));
  if (weights.length === 0)
    throw new Error(`LoRA adapter: the base model has no 2-D weight for ${targets.join(', ')}.`);
  return weights;
}

/**
 * The adapter's metadata and tensors. llama.cpp computes W·x + scale·B·(A·x): for a base weight of ggml shape
 * [n_in, n_out], lora_a is [n_in, rank] and lora_b is [rank, n_out].
 */
export function buildLoraAdapter(
  base: GgufHeader,
  spec: LoraAdapterSpec,
): { metadata: [string, GgufEntry][]; tensors: F32Tensor[] } {
  if (!Number.isInteger(spec.rank) || spec.rank < 1) throw new Error(`LoRA adapter: rank must be a positive integer.`);
  const metadata: [string, GgufEntry][] = [
    ['general.architecture', { type: GgufValueType.String, value: metadataString(base, 'general.architecture') }],
    ['general.type', { type: GgufValueType.String, value: 'adapter' }],
    ['general.name', { type: GgufValueType.String, value: `flt-seeded-lora-${spec.seed}`.slice(0, 120) }],
    ['adapter.type', { type: GgufValueType.String, value: 'lora' }],
    ['adapter.lora.alpha', { type: GgufValueType.Float32, value: spec.alpha }],
  ];
  const tensors = targetedWeights(base, spec.targets).flatMap(({ name, dims: [nIn, nOut] }): F32Tensor[] => {
    const stem = name.slice(0, -'.weight'.length);
    const values = (part: string, count: number) =>
      seededUniform(`${spec.seed}\u0000${stem}.${part}`, count, spec.valueScale);
    return [
      { name: `${name}.lora_a`, dims: [nIn!, spec.rank], data: values('lora_a', nIn! * spec.rank) },
      { name: `${name}.lora_b`, dims: [spec.rank, nOut!], data: values('lora_b', spec.rank * nOut!) },
    ];
  });
  return { metadata, tensors };
}

/** Writes the adapter for the base GGUF at basePath to outPath (atomically); returns the adapted tensor names. */
export function writeLoraAdapter(basePath: string, outPath: string, spec: LoraAdapterSpec): string[] {
  const { metadata, tensors } = buildLoraAdapter(readGgufHeader(basePath), spec);
  fs.mkdirSync(path.dirname(outPath), { recursive: true });
  const partial = `${outPath}.partial`;
  fs.writeFileSync(partial, encodeGguf(metadata, tensors));
  fs.renameSync(partial, outPath);
  return tensors.map((tensor) => tensor.name);
}
