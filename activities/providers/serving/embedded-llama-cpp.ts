// The embedded llama.cpp backend applies an adapter file itself (ModelRef.adapter.path): serving it only means
// checking that the trained file is there and is a GGUF LoRA adapter, so a bad file fails here, not in every stage.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidInput, typedError } from '../../../core/errors';
import { readGgufHeader } from '../../../lib/gguf/reader';

/** The GGUF adapter file a trainer left: `output` itself, or the one .gguf file in that directory. */
export function ggufAdapterFile(output: string): string {
  if (!fs.existsSync(output)) throw typedError(InvalidInput, `The trained adapter ${output} does not exist.`);
  if (!fs.statSync(output).isDirectory()) return output;
  const ggufs = fs.readdirSync(output).filter((entry) => entry.endsWith('.gguf'));
  if (ggufs.length !== 1)
    throw typedError(InvalidInput, `Expected one .gguf adapter in ${output}, found ${ggufs.length}.`);
  return path.join(output, ggufs[0]!);
}

/** Throws InvalidInput unless `file` is a GGUF file of type adapter (LoRA). */
export function checkGgufLoraAdapter(file: string): void {
  let header;
  try {
    header = readGgufHeader(file);
  } catch (err) {
    throw typedError(InvalidInput, `The trained adapter ${file} is not readable GGUF: ${(err as Error).message}`);
  }
  const kind = header.metadata.get('general.type')?.value;
  const adapterType = header.metadata.get('adapter.type')?.value;
  if (kind !== 'adapter' || adapterType !== 'lora')
    throw typedError(
      InvalidInput,
      `${file} is a GGUF ${String(kind ?? 'model')}, not a LoRA adapter (general.type "adapter", adapter.type "lora").`,
    );
}
