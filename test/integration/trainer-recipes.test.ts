// The GPU trainer recipes in trainers/, exercised by their dry runs: the environment the command backend gives them
// is checked and turned into the settings a real run would use. Nothing here trains.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { createFineTuneBackend } from '../../activities/providers/finetune/backend';
import { terminalFineTuneStatuses, type FineTuneHyperparameters, type FineTuneJobState } from '../../core/types';

const trainers = path.resolve(__dirname, '../../trainers');
const llamaFactoryLauncher = path.join(trainers, 'llamafactory', 'train.sh');
const trlScript = path.join(trainers, 'trl', 'train_lora.py');
const converter = path.join(trainers, 'convert-lora-to-gguf.sh');
const hasPython = spawnSync('python3', ['--version']).status === 0;

let dir: string;
let trainFile: string;
let baseEnv: Record<string, string>;

function run(command: string, args: string[], env: Record<string, string>) {
  // Only PATH comes from outside, so no FLT_* variable of the machine running the tests leaks in.
  // PYTHONDONTWRITEBYTECODE: importing the TRL script must not leave __pycache__ in trainers/.
  const fullEnv = { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1', ...env };
  const result = spawnSync(command, args, { env: fullEnv, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.trim() };
}

/** The sections a LLaMA-Factory dry run prints, each after a "# dry run: <what>" line. */
function dryRunSections(stdout: string): Map<string, string> {
  const sections = new Map<string, string>();
  for (const part of stdout.split(/^# dry run: /m).slice(1)) {
    const newline = part.indexOf('\n');
    sections.set(part.slice(0, newline), part.slice(newline + 1));
  }
  return sections;
}

/** The LLaMA-Factory config as PyYAML (YAML 1.1, what LLaMA-Factory parses with) reads it. */
function llamaFactoryConfig(stdout: string): Record<string, unknown> {
  const entry = [...dryRunSections(stdout)].find(([name]) => name.endsWith('lora-sft.yaml'));
  return YAML.parse(entry![1], { version: '1.1' }) as Record<string, unknown>;
}

/**
 * A recipe's dry run as the `command` backend starts it: the job and its log (the dry run's output) once it succeeded.
 * Only PATH and `workerEnv` come from the worker.
 */
async function dryRunThroughBackend(
  command: string,
  stage: string,
  hyperparameters: FineTuneHyperparameters,
  workerEnv: Record<string, string> = {},
): Promise<{ jobId: string; log: string }> {
  const backend = createFineTuneBackend(
    { kind: 'command', command, provider: 'served', servedModel: '{job}', pollIntervalSeconds: 1 },
    {},
    { workDir: path.join(dir, 'jobs'), env: { PATH: process.env.PATH, FLT_DRY_RUN: '1', ...workerEnv } },
  );
  const tag = { runId: 'recipe', stage };
  const sha256 = createHash('sha256').update(fs.readFileSync(trainFile)).digest('hex');
  const trainingFileId = await backend.uploadTrainingFile({ tag, localPath: trainFile, sha256 });
  const { jobId } = await backend.createJob({ tag, trainingFileId, baseModel: 'Qwen/Qwen2.5-7B', hyperparameters });
  let state: FineTuneJobState;
  do {
    await new Promise((resolve) => setTimeout(resolve, 100));
    state = await backend.getJob(jobId);
  } while (!terminalFineTuneStatuses.includes(state.status));
  const log = fs.readFileSync(path.join(dir, 'jobs', jobId, 'train.log'), 'utf8');
  expect({ status: state.status, log }).toMatchObject({ status: 'succeeded' });
  return { jobId, log };
}

/** The authors' settings other than LoRA's defaults, as `fineTune.hyperparameters` gives them. */
const trainerSettings = {
  loraRank: 8,
  loraAlpha: 16,
  gradientAccumulation: 4,
  cutoffTokens: 2048,
  validationShare: 0.1,
} satisfies FineTuneHyperparameters;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-recipes-'));
  trainFile = path.join(dir, 'train data.jsonl');
  const example = {
    messages: [
      { role: 'system', content: 'Answer with the letter.' },
      { role: 'user', content: 'Q?' },
      { role: 'assistant', content: 'Answer: B' },
    ],
  };
  fs.writeFileSync(trainFile, `${JSON.stringify(example)}\n`);
  baseEnv = {
    FLT_TRAIN_FILE: trainFile,
    FLT_OUTPUT_DIR: path.join(dir, 'job', 'adapter'),
    FLT_BASE_MODEL: 'meta-llama/Llama-3.1-8B-Instruct',
    FLT_EPOCHS: '2',
    FLT_LEARNING_RATE: '0.0001',
    FLT_LORA: '1',
    FLT_JOB_NAME: 'flt-run-1-sft',
    FLT_LF_TEMPLATE: 'llama3',
    FLT_DRY_RUN: '1',
  };
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('LLaMA-Factory launcher', () => {
  test('fills the config with the authors’ LoRA settings and registers the training file', () => {
    const { status, stdout, stderr } = run('bash', [llamaFactoryLauncher], baseEnv);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(llamaFactoryConfig(stdout)).toMatchObject({
      model_name_or_path: 'meta-llama/Llama-3.1-8B-Instruct',
      stage: 'sft',
      finetuning_type: 'lora',
      lora_rank: 16,
      lora_target: 'all',
      template: 'llama3',
      cutoff_len: 1024,
      mask_history: true,
      output_dir: baseEnv.FLT_OUTPUT_DIR,
      run_name: 'flt-run-1-sft',
      per_device_train_batch_size: 1,
      gradient_accumulation_steps: 8,
      learning_rate: 1e-4,
      num_train_epochs: 2,
      lr_scheduler_type: 'cosine',
      warmup_ratio: 0.1,
      val_size: 0.05,
    });
    expect(llamaFactoryConfig(stdout)).not.toHaveProperty('adapter_name_or_path');

    const sections = dryRunSections(stdout);
    const workDir = `${baseEnv.FLT_OUTPUT_DIR}.llamafactory`;
    const datasetInfo = JSON.parse(sections.get(`${workDir}/dataset_info.json`)!);
    expect(datasetInfo.flt_train).toMatchObject({ file_name: trainFile, formatting: 'sharegpt' });
    expect(sections.get('command')!.trim()).toBe(`llamafactory-cli train ${workDir}/lora-sft.yaml`);
    // A dry run writes nothing.
    expect(fs.existsSync(workDir)).toBe(false);
  });

  test('continues FLT_INIT_ADAPTER at 1e-6 unless a learning rate is given', () => {
    const initAdapter = path.join(dir, 'warm adapter');
    fs.mkdirSync(initAdapter, { recursive: true });
    const continuing = { ...baseEnv, FLT_INIT_ADAPTER: initAdapter, FLT_LEARNING_RATE: '' };
    const config = llamaFactoryConfig(run('bash', [llamaFactoryLauncher], continuing).stdout);
    expect(config).toMatchObject({ adapter_name_or_path: initAdapter, learning_rate: 1e-6, lora_rank: 16 });

    const explicit = llamaFactoryConfig(
      run('bash', [llamaFactoryLauncher], { ...continuing, FLT_LEARNING_RATE: '3e-5' }).stdout,
    );
    expect(explicit.learning_rate).toBe(3e-5);
  });

  test('refuses an incomplete or unusable environment with exit code 2', () => {
    const missing = run('bash', [llamaFactoryLauncher], { ...baseEnv, FLT_TRAIN_FILE: '', FLT_LF_TEMPLATE: '' });
    expect(missing).toMatchObject({
      status: 2,
      stderr: 'train.sh: missing environment: FLT_TRAIN_FILE FLT_LF_TEMPLATE',
    });
    expect(run('bash', [llamaFactoryLauncher], { ...baseEnv, FLT_EPOCHS: '0' })).toMatchObject({ status: 2 });
    expect(run('bash', [llamaFactoryLauncher], { ...baseEnv, FLT_LORA: '0' }).stderr).toContain('LoRA adapters only');
    const noFile = run('bash', [llamaFactoryLauncher], { ...baseEnv, FLT_TRAIN_FILE: path.join(dir, 'nope') });
    expect(noFile.stderr).toContain('FLT_TRAIN_FILE points to');
  });

  test('gets its environment from the command backend', async () => {
    const hyperparameters = { epochs: 3, learningRate: 0.0002, lora: true };
    const { jobId, log } = await dryRunThroughBackend(`bash '${llamaFactoryLauncher}'`, 'sft', hyperparameters, {
      FLT_LF_TEMPLATE: 'qwen',
    });
    expect(llamaFactoryConfig(log)).toMatchObject({
      model_name_or_path: 'Qwen/Qwen2.5-7B',
      template: 'qwen',
      num_train_epochs: 3,
      learning_rate: 2e-4,
      output_dir: path.join(dir, 'jobs', jobId, 'adapter'),
      run_name: jobId,
    });
  });

  test("gets the config's trainer settings from the backend; without them, the worker's or its defaults", async () => {
    const given = llamaFactoryConfig(
      (
        await dryRunThroughBackend(`bash '${llamaFactoryLauncher}'`, 'given', trainerSettings, {
          FLT_LF_TEMPLATE: 'qwen',
          FLT_LORA_RANK: '64',
        })
      ).log,
    );
    expect(given).toMatchObject({
      lora_rank: 8,
      lora_alpha: 16,
      gradient_accumulation_steps: 4,
      cutoff_len: 2048,
      val_size: 0.1,
    });
    const absent = llamaFactoryConfig(
      (
        await dryRunThroughBackend(
          `bash '${llamaFactoryLauncher}'`,
          'absent',
          {},
          {
            FLT_LF_TEMPLATE: 'qwen',
            FLT_LORA_RANK: '64',
          },
        )
      ).log,
    );
    expect(absent).toMatchObject({
      lora_rank: 64,
      lora_alpha: 32,
      gradient_accumulation_steps: 8,
      cutoff_len: 1024,
      val_size: 0.05,
    });
  });
});

describe('TRL + PEFT script', () => {
  const python = hasPython ? test : test.skip;
  if (!hasPython) console.warn('python3 not found: the TRL script checks are skipped');

  python('parses, and its dry run resolves the same defaults without importing any ML package', () => {
    const parsed = run('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', trlScript], {});
    expect(parsed.status).toBe(0);

    const { status, stdout } = run('python3', [trlScript], baseEnv);
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      train_file: trainFile,
      output_dir: baseEnv.FLT_OUTPUT_DIR,
      base_model: baseEnv.FLT_BASE_MODEL,
      run_name: 'flt-run-1-sft',
      init_adapter: null,
      epochs: 2,
      learning_rate: 1e-4,
      batch_size: 1,
      gradient_accumulation: 8,
      lora_rank: 16,
      lora_alpha: 32,
      cutoff_len: 1024,
      val_size: 0.05,
      lr_scheduler: 'cosine',
      warmup_ratio: 0.1,
      target_modules: 'all-linear',
      loss_on: 'final assistant answer',
      seed: 42,
    });
    const continuing = run('python3', [trlScript], { ...baseEnv, FLT_INIT_ADAPTER: dir, FLT_LEARNING_RATE: '' });
    expect(JSON.parse(continuing.stdout)).toMatchObject({ init_adapter: dir, learning_rate: 1e-6 });
  });

  python("gets the config's trainer settings from the command backend", async () => {
    const { log } = await dryRunThroughBackend(`python3 '${trlScript}'`, 'trl', trainerSettings);
    expect(JSON.parse(log)).toMatchObject({
      lora_rank: 8,
      lora_alpha: 16,
      gradient_accumulation: 4,
      cutoff_len: 2048,
      val_size: 0.1,
    });
  });

  python('refuses an incomplete environment with exit code 2', () => {
    const missing = run('python3', [trlScript], { FLT_DRY_RUN: '1', FLT_TRAIN_FILE: trainFile });
    expect(missing).toMatchObject({
      status: 2,
      stderr: 'train_lora.py: missing environment: FLT_OUTPUT_DIR FLT_BASE_MODEL',
    });
    expect(run('python3', [trlScript], { ...baseEnv, FLT_EPOCHS: 'two' }).stderr).toContain('positive number');
  });

  python('trains on the final assistant answer: the chat splits before its last turn', () => {
    const check = [
      'import importlib.util, json, sys',
      'spec = importlib.util.spec_from_file_location("train_lora", sys.argv[1])',
      'module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)',
      'print(json.dumps(module.to_prompt_completion(json.loads(sys.argv[2]))))',
    ].join('\n');
    const example = fs.readFileSync(trainFile, 'utf8').trim();
    const { status, stdout } = run('python3', ['-c', check, trlScript, example], {});
    expect(status).toBe(0);
    const { messages } = JSON.parse(example);
    expect(JSON.parse(stdout)).toEqual({ prompt: messages.slice(0, 2), completion: messages.slice(2) });
  });
});

describe('GGUF conversion', () => {
  test('dry run shows llama.cpp’s convert_lora_to_gguf.py call for a hub id or a local base', () => {
    const env = { ...baseEnv, FLT_LLAMA_CPP_DIR: '/opt/llama.cpp' };
    const out = baseEnv.FLT_OUTPUT_DIR;
    const hub = run('bash', [converter], env);
    expect(hub.status).toBe(0);
    expect(hub.stdout).toContain(
      `python3 /opt/llama.cpp/convert_lora_to_gguf.py --base-model-id meta-llama/Llama-3.1-8B-Instruct --outtype f16 ` +
        `--outfile ${out}/adapter.gguf ${out}`,
    );
    const local = run('bash', [converter], { ...env, FLT_BASE_MODEL: dir, FLT_GGUF_OUTTYPE: 'q8_0' });
    expect(local.stdout).toContain(`--base ${dir} --outtype q8_0`);
    expect(run('bash', [converter], { ...env, FLT_LLAMA_CPP_DIR: '' })).toMatchObject({ status: 2 });
    expect(run('bash', [converter], { ...env, FLT_GGUF_OUTTYPE: 'q4' })).toMatchObject({ status: 2 });
  });
});
