// The fake LoRA trainer run by the real `command` fine-tune backend: its adapters are real GGUF files that follow
// the training data, and the provider double can serve them.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFineTuneBackend } from '../../activities/providers/finetune/backend';
import type { FineTuneBackend } from '../../activities/providers/finetune/backend-common';
import { terminalFineTuneStatuses, type FineTuneJobState } from '../../core/types';
import { readGgufHeader } from '../../lib/gguf/reader';
import { spawnTsSync, tsArgs } from '../../lib/ts-process';
import { adapterFileName, fakeTrain, manifestFileName } from '../support/fake-lora-trainer';
import { startProviderDouble } from '../support/provider-double';

const baseModel = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');
const trainerScript = path.resolve(__dirname, '../support/fake-lora-trainer.ts');
const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
const trainerCommand = [process.execPath, ...tsArgs(trainerScript)].map(shellQuote).join(' ');

let dir: string;
let backend: FineTuneBackend;

function writeTrainingFile(name: string, answers: string[]): string {
  const file = path.join(dir, name);
  const lines = answers.map((answer, i) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `Question ${i}?` },
        { role: 'assistant', content: answer },
      ],
    }),
  );
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Runs one job through the command backend to a terminal state. */
async function train(runId: string, trainingFile: string): Promise<FineTuneJobState> {
  const tag = { runId, stage: 'sft' };
  const sha256 = createHash('sha256').update(fs.readFileSync(trainingFile)).digest('hex');
  const trainingFileId = await backend.uploadTrainingFile({ tag, localPath: trainingFile, sha256 });
  const hyperparameters = { epochs: 2, learningRate: 0.0001, lora: true };
  const { jobId } = await backend.createJob({ tag, trainingFileId, baseModel, hyperparameters });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await backend.getJob(jobId);
    if (terminalFineTuneStatuses.includes(state.status)) return state;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${state.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const adapterBytes = (state: FineTuneJobState) => fs.readFileSync(path.join(state.adapterPath!, adapterFileName));

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-fake-trainer-'));
  backend = createFineTuneBackend(
    { kind: 'command', command: trainerCommand, provider: 'served', servedModel: '{job}', pollIntervalSeconds: 1 },
    {},
    { workDir: path.join(dir, 'jobs'), env: process.env },
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('via the command backend: equal data gives the same adapter, other data another, all fit the base', async () => {
  const data = writeTrainingFile('a.jsonl', ['Answer: A', 'Answer: B']);
  const sameData = writeTrainingFile('a-copy.jsonl', ['Answer: A', 'Answer: B']);
  const otherData = writeTrainingFile('b.jsonl', ['Answer: C', 'Answer: B']);
  const [first, repeat, other] = await Promise.all([
    train('fake-a', data),
    train('fake-a-copy', sameData),
    train('fake-b', otherData),
  ]);

  for (const state of [first, repeat, other]) expect(state).toMatchObject({ status: 'succeeded', error: null });
  expect(adapterBytes(repeat).equals(adapterBytes(first))).toBe(true);
  expect(adapterBytes(other).equals(adapterBytes(first))).toBe(false);
  expect(first.events).toContain('epoch 2/2 lr=0.0001 loss=0.3333');

  const adapter = readGgufHeader(path.join(first.adapterPath!, adapterFileName));
  expect(adapter.metadata.get('general.type')?.value).toBe('adapter');
  const base = readGgufHeader(baseModel);
  const baseDims = (name: string) => base.tensors.find((tensor) => tensor.name === name)!.dims;
  for (const tensor of adapter.tensors) {
    const [nIn, nOut] = baseDims(tensor.name.replace(/\.lora_[ab]$/, ''));
    expect(tensor.dims).toEqual(tensor.name.endsWith('lora_a') ? [nIn, 4] : [4, nOut]);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(first.adapterPath!, manifestFileName), 'utf8'));
  expect(manifest).toMatchObject({ examples: 2, epochs: 2, learningRate: 0.0001, initAdapter: null });
});

test('its adapter can be loaded into the provider double as vLLM and chatted with', async () => {
  const state = await train('fake-served', writeTrainingFile('served.jsonl', ['Answer: D']));
  const double = await startProviderDouble();
  try {
    const post = (route: string, body: unknown) =>
      fetch(`${double.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const load = await post('/v1/load_lora_adapter', { lora_name: state.resultModel, lora_path: state.adapterPath });
    expect(load.status).toBe(200);
    const messages = [{ role: 'user', content: 'Hi?' }];
    expect((await post('/v1/chat/completions', { model: state.resultModel, messages })).status).toBe(200);
  } finally {
    await double.stop();
  }
});

test('continuing from FLT_INIT_ADAPTER gives a different adapter than training from scratch', async () => {
  const env = {
    FLT_TRAIN_FILE: writeTrainingFile('pseudo.jsonl', ['Answer: A']),
    FLT_BASE_MODEL: 'meta-llama/Llama-2-7b-hf',
    FLT_BASE_GGUF: baseModel,
    FLT_JOB_NAME: 'continued',
  };
  const quiet = () => undefined;
  const fresh = await fakeTrain({ ...env, FLT_OUTPUT_DIR: path.join(dir, 'fresh') }, quiet);
  const continued = await fakeTrain(
    { ...env, FLT_OUTPUT_DIR: path.join(dir, 'continued'), FLT_INIT_ADAPTER: path.dirname(fresh.adapter) },
    quiet,
  );
  expect(continued.trainSha256).toBe(fresh.trainSha256);
  expect(continued.seed).not.toBe(fresh.seed);
  expect(fs.readFileSync(continued.adapter).equals(fs.readFileSync(fresh.adapter))).toBe(false);
});

test('an incomplete environment or a request for full fine-tuning is refused with the reason', async () => {
  const trainFile = writeTrainingFile('env.jsonl', ['Answer: A']);
  const complete = { FLT_TRAIN_FILE: trainFile, FLT_OUTPUT_DIR: path.join(dir, 'env'), FLT_BASE_MODEL: baseModel };
  const quiet = () => undefined;

  // As a process: exit code 2 and one line on stderr.
  const result = spawnTsSync(trainerScript, [], {
    env: { PATH: process.env.PATH ?? '', ...complete, FLT_OUTPUT_DIR: '' },
    encoding: 'utf8',
  });
  expect({ status: result.status, stderr: String(result.stderr).trim() }).toEqual({
    status: 2,
    stderr: 'fake-lora-trainer: FLT_OUTPUT_DIR is not set',
  });

  await expect(fakeTrain({ ...complete, FLT_BASE_MODEL: 'org/model' }, quiet)).rejects.toThrow(
    'FLT_BASE_MODEL points to org/model, which does not exist',
  );
  await expect(fakeTrain({ ...complete, FLT_LORA: '0' }, quiet)).rejects.toThrow('only makes LoRA');
  await expect(fakeTrain({ ...complete, FLT_EPOCHS: 'many' }, quiet)).rejects.toThrow(
    'FLT_EPOCHS must be a positive number',
  );
  expect(fs.existsSync(path.join(dir, 'env', adapterFileName))).toBe(false);
});
