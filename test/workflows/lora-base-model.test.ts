// A SemiEvol or SELF-GUIDE run may start from a LoRA adapter trained elsewhere: its config's `model` carries `lora`
// as an `evaluate` config's models do. The run serves the adapter before any stage calls it, every stage that calls
// M_base names it, the `command` trainer continues it (FLT_INIT_ADAPTER) when `lora.continue` asks, and the run
// unloads it at the end. Against the provider double acting as vLLM, with the fake trainer writing real adapters.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunConfig } from '../../core/run-config';
import type { McqItem } from '../../core/types';
import { loadRunConfig } from '../../lib/config-file';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import { storeSelfGuideTask } from '../../lib/methods/selfguide-tasks';
import { tsArgs } from '../../lib/ts-process';
import type { SelfGuideRunInput, SelfGuideRunResult } from '../../workflows/selfguide';
import type { SemievolRunInput, SemievolRunResult } from '../../workflows/semievol';
import { manifestFileName } from '../support/fake-lora-trainer';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const baseGguf = path.resolve(root, '../shared/models/llama-2-tiny-random.gguf');
const fpbFile = (split: string) => path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`);
const taskDir = path.resolve(root, '../shared/data/selfguide/task1385');
const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
const trainerCommand = [process.execPath, ...tsArgs(path.resolve(root, 'test/support/fake-lora-trainer.ts'))]
  .map(shellQuote)
  .join(' ');
const fpb = (split: string) => loadSemiEvolCsv(fpbFile(split), { requireAnswer: split !== 'unlabeled' }).items;
const labeled = fpb('labeled').slice(0, 20);
const unlabeled = fpb('unlabeled').slice(0, 20);
const test = fpb('test').slice(0, 10);
const gold = (items: McqItem[]) =>
  items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] }));

let dir: string;
let adapterFile: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-lora-base-'));
  adapterFile = path.join(dir, 'adapters', 'finance.gguf');
  fs.mkdirSync(path.dirname(adapterFile));
  writeLoraAdapter(baseGguf, adapterFile, { ...defaultLoraSpec, seed: 'trained-elsewhere' });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes a config next to the adapter (named by a relative path) and loads it as `flt run` does. */
function configOf(fields: object): RunConfig {
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify({ task: 'fpb', ...fields }));
  return loadRunConfig(file);
}

describe('a run whose base model is a configured LoRA adapter, served by vLLM', () => {
  let double: ProviderDouble;
  const deps = tempDeps({ ...process.env, FLT_BASE_GGUF: baseGguf });
  let providers: object;
  const lora = { path: 'adapters/finance.gguf', serve: 'vllm', baseModel: 'sim-model', continue: true };
  const commandBackend = {
    kind: 'command',
    command: trainerCommand,
    provider: 'local-vllm',
    pollIntervalSeconds: 0.2,
    serve: 'vllm',
  };
  const semievolConfig = (model: object, backend: object = commandBackend) => ({
    method: 'semievol',
    providers,
    model,
    data: {
      labeled: { format: 'semievol-csv', path: fpbFile('labeled') },
      unlabeled: { format: 'semievol-csv', path: fpbFile('unlabeled') },
      test: { format: 'semievol-csv', path: fpbFile('test') },
    },
    fineTune: { backend, hyperparameters: { epochs: 1 } },
    semievol: { propagation: { k: 0 }, collaboration: { maxTokens: 32 }, justification: { maxTokens: 32 } },
    sampling: { maxTokens: 32, seed: 3 },
  });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } } },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
    providers = {
      'local-vllm': { kind: 'openai-compatible', baseURL: double.baseURL, testDouble: true, maxConcurrency: 8 },
      local: { kind: 'llama-cpp', modelPath: baseGguf },
    };
  });
  afterAll(async () => {
    await deps.gateway.close();
    await double?.stop();
  });
  beforeEach(async () => {
    await double.restartLoraServing();
    await double.clearRequests();
  });

  /** The LoRA events and chat requests of one run, and where the adapter's load came among them. */
  async function servingOf(run: () => Promise<unknown>) {
    const seen = (await double.loraAdapters()).events.length;
    await run();
    const { loaded, events } = await double.loraAdapters();
    const requests = await double.requests();
    const chats = requests.filter((r) => r.path === '/v1/chat/completions');
    const firstLoad = requests.find((r) => r.path === '/v1/load_lora_adapter')!;
    return { loaded, events: events.slice(seen).filter((e) => e.action !== 'restart'), chats, firstLoad };
  }

  it('SemiEvol serves the adapter before any stage calls it, continues it in both fine-tunes, unloads it', async () => {
    const config = configOf(semievolConfig({ provider: 'local-vllm', model: 'finance', lora }));
    if (config.method !== 'semievol') throw new Error('not a semievol config');
    const runId = `lora-base-semievol-${Date.now()}`;
    const input: SemievolRunInput = {
      runId,
      task: 'fpb',
      providers: config.providers,
      model: config.model,
      data: {
        labeled: await deps.store.writeJsonl(labeled),
        unlabeled: await deps.store.writeJsonl(unlabeled.map((i) => ({ ...i, answer: null }))),
        unlabeledGold: await deps.store.writeJsonl(unlabeled.map(({ id, answer }) => ({ id, answer }))),
        test: await deps.store.writeJsonl(test),
      },
      fineTune: {
        backend: config.fineTune.backend,
        hyperparameters: { epochs: 1 },
        finalHyperparameters: { epochs: 1 },
      },
      options: config.semievol,
      sampling: { temperature: 0, maxTokens: 32, seed: 3 },
      execution: { shardSize: 10, parallelShards: 2 },
    };
    let result: SemievolRunResult | undefined;
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const { loaded, events, chats, firstLoad } = await servingOf(async () => {
      try {
        result = await worker.run(() =>
          client.workflow.execute('semievolRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
        );
      } finally {
        await close();
      }
    });
    const { base, warm, evolved } = result!.models;
    expect(base).toMatchObject({
      provider: 'local-vllm',
      model: 'finance',
      adapter: { name: 'finance', path: adapterFile },
      serving: { engine: 'vllm', provider: 'local-vllm' },
    });
    // One load of the configured adapter, before the first call naming it; the trained ones after; all unloaded.
    expect(events.map((e) => [e.action, e.name, e.error])).toEqual([
      ['load', 'finance', null],
      ['load', warm!.model, null],
      ['load', evolved.model, null],
      ['unload', 'finance', null],
      ['unload', warm!.model, null],
      ['unload', evolved.model, null],
    ]);
    expect(events[0]!.path).toBe(adapterFile);
    expect(loaded).toEqual([]);
    const baseCalls = chats.filter((r) => r.model === 'finance');
    expect(baseCalls[0]!.seq).toBeGreaterThan(firstLoad.seq);
    // Collaborators through M_base, and the vanilla and RAG evaluations, all name the adapter.
    expect(baseCalls.length).toBeGreaterThan(2 * test.length);
    expect(chats.some((r) => r.model === 'sim-model')).toBe(false);
    expect(chats.every((r) => r.status === 200)).toBe(true);
    // Both fine-tunes continued the configured adapter, on the model it adapts.
    for (const trained of [warm!, evolved]) {
      const manifest = JSON.parse(fs.readFileSync(path.join(trained.adapter!.path, manifestFileName), 'utf8'));
      expect(manifest).toMatchObject({ initAdapter: adapterFile, baseModel: 'sim-model' });
    }
    expect(result!.evaluations.vanilla.model.model).toBe('finance');
  });

  it('SELF-GUIDE generates, annotates and is evaluated through the adapter, and fine-tunes continue it', async () => {
    const config = configOf({
      method: 'selfguide',
      providers,
      model: { provider: 'local-vllm', model: 'finance', lora },
      fineTune: { backend: commandBackend, lora: true },
      generation: { rounds: 2, promptsPerRound: 5, maxTokens: 100, maxPromptTokens: 3000 },
      annotation: { samples: 3, temperature: 0.2, minShare: 0.3, shareOf: 'kept', maxTokens: 50 },
      evaluation: { maxTokens: 32, contextTokens: 4096, rouge: 'words' },
      data: { task: { format: 'selfguide-task', path: taskDir } },
      settings: { inputTemperature: 0.8, inputLengthFilter: false, outputLengthFilter: true, epochs: 1 },
    });
    if (config.method !== 'selfguide') throw new Error('not a selfguide config');
    const task = await storeSelfGuideTask(deps.store, config.data.task, 8, []);
    const runId = `lora-base-selfguide-${Date.now()}`;
    const input: SelfGuideRunInput = {
      runId,
      providers: config.providers,
      model: config.model,
      fineTune: config.fineTune,
      generation: config.generation,
      annotation: config.annotation,
      evaluation: config.evaluation,
      execution: { shardSize: 8, parallelShards: 2 },
      seed: 0,
      ...task,
      settings: config.settings,
    };
    let result: SelfGuideRunResult | undefined;
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const { loaded, events, chats, firstLoad } = await servingOf(async () => {
      try {
        result = await worker.run(() =>
          client.workflow.execute('selfGuideRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
        );
      } finally {
        await close();
      }
    });
    const { selfGuide, fewShotFineTune } = result!.models;
    expect(events.filter((e) => e.name === 'finance').map((e) => [e.action, e.error])).toEqual([
      ['load', null],
      ['unload', null],
    ]);
    expect(events[0]!.name).toBe('finance');
    expect(loaded).toEqual([]);
    const baseCalls = chats.filter((r) => r.model === 'finance');
    expect(baseCalls[0]!.seq).toBeGreaterThan(firstLoad.seq);
    expect(chats.some((r) => r.model === 'sim-model')).toBe(false);
    expect(chats.every((r) => r.status === 200)).toBe(true);
    // Few-shot prompting and Self-ICL evaluate the adapter itself.
    expect(result!.evaluations.slice(0, 2).map((e) => e.model.model)).toEqual(['finance', 'finance']);
    for (const trained of [selfGuide, fewShotFineTune]) {
      const manifest = JSON.parse(fs.readFileSync(path.join(trained.adapter!.path, manifestFileName), 'utf8'));
      expect(manifest).toMatchObject({ initAdapter: adapterFile, baseModel: 'sim-model' });
    }
  });

  it('refuses an adapter base that is missing, served wrongly or continued where it cannot be', () => {
    const model = (fields: object) => ({ provider: 'local-vllm', model: 'finance', lora: { ...lora, ...fields } });
    expect(() => configOf(semievolConfig(model({ path: 'adapters/nope' })))).toThrow(
      new RegExp(`field "model\\.lora\\.path" names ${path.join(dir, 'adapters/nope')}, which does not exist\\.$`),
    );
    expect(() => configOf(semievolConfig(model({ serve: 'llama-cpp' })))).toThrow(
      /field "model\.lora\.serve" is llama-cpp, which needs a llama-cpp provider, but "local-vllm" is openai-/,
    );
    expect(() =>
      configOf(semievolConfig(model({}), { kind: 'openai', provider: 'local-vllm', pollIntervalSeconds: 1 })),
    ).toThrow(
      /field "model\.lora\.continue" asks to continue the adapter, which only the command fine-tune backend can/,
    );
    const fullWeights = {
      ...semievolConfig(model({})),
      fineTune: { backend: commandBackend, hyperparameters: { lora: false } },
    };
    expect(() => configOf(fullWeights)).toThrow(
      /field "model\.lora\.continue" continues a LoRA adapter, but fineTune\.hyperparameters\.lora is false/,
    );
    expect(() => configOf(semievolConfig(model({ baseModel: undefined })))).toThrow(
      /field "model\.lora\.baseModel" is required: .*fine-tune/,
    );
  });
});
