// Writes a seeded LoRA adapter GGUF for a llama.cpp base model, for trying adapter loading without training one.
//   tsx scripts/make-lora-adapter.ts --base model.gguf --out adapter.gguf --seed my-seed
//     [--rank 4] [--alpha 8] [--value-scale 0.5] [--targets attn_q,attn_v]
import { parseArgs } from 'node:util';
import { defaultLoraSpec, writeLoraAdapter } from '../lib/gguf/lora-adapter';

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${text}`);
  return value;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      base: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      rank: { type: 'string' },
      alpha: { type: 'string' },
      'value-scale': { type: 'string' },
      targets: { type: 'string' },
    },
  });
  if (!values.base || !values.out || !values.seed) throw new Error('--base, --out and --seed are required');
  const tensors = writeLoraAdapter(values.base, values.out, {
    seed: values.seed,
    rank: positiveNumber('rank', values.rank, defaultLoraSpec.rank),
    alpha: positiveNumber('alpha', values.alpha, defaultLoraSpec.alpha),
    valueScale: positiveNumber('value-scale', values['value-scale'], defaultLoraSpec.valueScale),
    targets: values.targets?.split(',') ?? defaultLoraSpec.targets,
  });
  process.stdout.write(`${JSON.stringify({ adapter: values.out, tensors })}\n`);
}

try {
  main();
} catch (error) {
  console.error(`make-lora-adapter: ${(error as Error).message}`);
  process.exit(1);
}
