// A stand-in trainer for the `command` fine-tune backend: it reads the FLT_* environment a real trainer gets and
// writes a GGUF LoRA adapter whose values derive from a hash of the training file, so equal data gives equal
// adapters and different data different ones. Nothing is learned; llama.cpp can load and apply the result.
//   node --import <tsx loader> test/support/fake-lora-trainer.ts     (environment as command.ts sets it)
// Besides the documented variables it reads FLT_BASE_GGUF (the llama.cpp base model, when FLT_BASE_MODEL is a
// Hugging Face id rather than a GGUF path), FLT_FAKE_TRAINER_DELAY_MS (a pause per epoch, to test cancellation) and
// FLT_FAKE_TRAINER_HOLD (a folder: once started, the trainer writes `<job>.held` there and trains only after a file
// `<job>.release` appears, so a test can act while it certainly runs).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import { tsArgs } from '../../lib/ts-process';

export const adapterFileName = 'adapter.gguf';

const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
/** The shell command that runs this trainer: a `command` fine-tune backend's `command`. */
export const fakeTrainerCommand = [process.execPath, ...tsArgs(__filename)].map(shellQuote).join(' ');
export const manifestFileName = 'fake-trainer.json';

class UsageError extends Error {}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new UsageError(`${name} is not set`);
  return value;
}

function optionalNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${name} must be a positive number, got "${text}"`);
  return value;
}

function existingFile(name: string, file: string): string {
  if (!fs.existsSync(file)) throw new UsageError(`${name} points to ${file}, which does not exist`);
  return file;
}

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** A continued adapter's seed also covers the adapter it starts from; a directory counts by its adapter.gguf. */
function initAdapterHash(initAdapter: string): string {
  const file = fs.statSync(initAdapter).isDirectory() ? path.join(initAdapter, adapterFileName) : initAdapter;
  return sha256(fs.readFileSync(existingFile('FLT_INIT_ADAPTER', file)));
}

export interface FakeTrainingResult {
  adapter: string;
  seed: string;
  trainSha256: string;
  examples: number;
}

async function heldUntilReleased(folder: string, job: string): Promise<void> {
  fs.writeFileSync(path.join(folder, `${job}.held`), `${process.pid}\n`);
  while (!fs.existsSync(path.join(folder, `${job}.release`))) await sleep(50);
}

export async function fakeTrain(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<FakeTrainingResult> {
  const trainFile = existingFile('FLT_TRAIN_FILE', required(env, 'FLT_TRAIN_FILE'));
  const outputDir = required(env, 'FLT_OUTPUT_DIR');
  const baseModel = required(env, 'FLT_BASE_MODEL');
  const baseGguf = existingFile(env.FLT_BASE_GGUF ? 'FLT_BASE_GGUF' : 'FLT_BASE_MODEL', env.FLT_BASE_GGUF || baseModel);
  if (env.FLT_LORA === '0') throw new UsageError('FLT_LORA=0 asks for full fine-tuning; this trainer only makes LoRA');
  const epochs = optionalNumber(env, 'FLT_EPOCHS', 2);
  const learningRate = optionalNumber(env, 'FLT_LEARNING_RATE', 1e-4);
  const delayMs = optionalNumber(env, 'FLT_FAKE_TRAINER_DELAY_MS', 1);
  const initAdapter = env.FLT_INIT_ADAPTER || null;

  const data = fs.readFileSync(trainFile);
  const trainSha256 = sha256(data);
  const examples = data
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '').length;
  const seed = [trainSha256, epochs, learningRate, initAdapter ? initAdapterHash(initAdapter) : 'fresh'].join(':');
  log(`fake LoRA training of ${baseModel} on ${examples} examples (${env.FLT_JOB_NAME ?? 'unnamed job'})`);
  if (initAdapter) log(`continuing from ${initAdapter}`);
  if (env.FLT_FAKE_TRAINER_HOLD) await heldUntilReleased(env.FLT_FAKE_TRAINER_HOLD, env.FLT_JOB_NAME ?? 'unnamed');
  const checkpointDir = env.FLT_CHECKPOINT_DIR || null;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    await sleep(delayMs);
    log(`epoch ${epoch}/${epochs} lr=${learningRate} loss=${(1 / (epoch + 1)).toFixed(4)}`);
    // Each epoch's adapter, as a trainer saving per epoch leaves it; the last is the same as the final one.
    if (checkpointDir) {
      const epochSeed = epoch === epochs ? seed : `${seed}:epoch-${epoch}`;
      writeLoraAdapter(baseGguf, path.join(checkpointDir, `epoch-${epoch}`, adapterFileName), {
        ...defaultLoraSpec,
        seed: epochSeed,
      });
    }
  }

  const adapter = path.join(outputDir, adapterFileName);
  const tensors = writeLoraAdapter(baseGguf, adapter, { ...defaultLoraSpec, seed });
  const manifest = { adapter, seed, trainSha256, examples, baseModel, baseGguf, epochs, learningRate, initAdapter };
  fs.writeFileSync(path.join(outputDir, manifestFileName), `${JSON.stringify({ ...manifest, tensors }, null, 2)}\n`);
  log(`saved ${adapter}`);
  return { adapter, seed, trainSha256, examples };
}

if (require.main === module) {
  fakeTrain(process.env, (line) => process.stdout.write(`${line}\n`)).catch((error: unknown) => {
    process.stderr.write(`fake-lora-trainer: ${(error as Error).message}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  });
}
