// A model in an `evaluate` config may name an adapter trained elsewhere (`lora: {path, serve}`): the run serves it
// through the same serving step as a freshly trained adapter, calls it, and unloads it at the end. Shown against the
// provider double acting as vLLM, and on embedded llama.cpp with a real GGUF adapter for the tiny model.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AnsweredQuestion } from '../../activities/inference';
import { LlamaCppChat } from '../../activities/providers/llama-cpp-chat';
import type { EvaluateRunConfig, LlamaCppProviderConfig } from '../../core/config';
import { zeroShotMessages } from '../../core/prompts';
import type { McqItem } from '../../core/types';
import { loadRunConfig } from '../../lib/config-file';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { defaultLoraSpec, writeLoraAdapter } from '../../lib/gguf/lora-adapter';
import type { EvaluationRunInput, EvaluationRunResult } from '../../workflows/evaluation-run';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const baseGguf = path.resolve(__dirname, '../../../shared/models/llama-2-tiny-random.gguf');
const fpbTest = path.resolve(__dirname, '../../../shared/data/semievol/fpb/test.csv');
const items: McqItem[] = loadSemiEvolCsv(fpbTest).items.slice(0, 2);
const maxDifference = (a: number[], b: number[]) => Math.max(...a.map((value, i) => Math.abs(value - b[i]!)));

let dir: string;
let adapterFile: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-configured-lora-'));
  adapterFile = path.join(dir, 'adapters', 'math.gguf');
  fs.mkdirSync(path.dirname(adapterFile));
  writeLoraAdapter(baseGguf, adapterFile, { ...defaultLoraSpec, seed: 'trained-elsewhere' });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/**
 * Writes an evaluate config next to the adapter (which it names by a relative path) and loads it as `flt` does; the
 * test items are handed to the workflow directly.
 */
function configWith(providers: object, models: object[]): EvaluateRunConfig {
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      method: 'evaluate',
      task: 'fpb',
      providers,
      models,
      data: { test: { format: 'semievol-csv', path: fpbTest } },
      sampling: { temperature: 0, maxTokens: 6, seed: 1 },
    }),
  );
  const config = loadRunConfig(file);
  if (config.method !== 'evaluate') throw new Error('not an evaluate config');
  return config;
}

async function evaluate(
  deps: ReturnType<typeof tempDeps>,
  config: EvaluateRunConfig,
  runId: string,
  sampling: EvaluationRunInput['sampling'] = config.sampling,
): Promise<EvaluationRunResult> {
  const { client, close } = await testClient();
  const worker = await testWorker(deps);
  try {
    const input: EvaluationRunInput = {
      runId,
      task: config.task,
      providers: config.providers,
      models: config.models,
      test: await deps.store.writeJsonl(items),
      sampling,
      metric: config.metric,
      execution: { shardSize: 2, parallelShards: 1 },
    };
    return await worker.run(() =>
      client.workflow.execute('evaluationRun', { taskQueue: worker.taskQueue, workflowId: runId, args: [input] }),
    );
  } finally {
    await close();
  }
}

describe('an evaluate config naming an adapter served by vLLM', () => {
  let double: ProviderDouble;
  beforeAll(async () => {
    double = await startProviderDouble();
  });
  afterAll(async () => double?.stop());

  it('loads it once under the model name, calls it by that name, and unloads it at the end', async () => {
    const config = configWith(
      { 'local-vllm': { kind: 'openai-compatible', baseURL: double.baseURL, testDouble: true } },
      [
        { provider: 'local-vllm', model: 'sim-model' },
        { provider: 'local-vllm', model: 'math', lora: { path: 'adapters/math.gguf', serve: 'vllm' } },
      ],
    );
    expect(config.models[1]!.lora!.path).toBe(adapterFile);
    const seen = (await double.loraAdapters()).events.length;
    await double.clearRequests();
    const deps = tempDeps();
    try {
      const result = await evaluate(deps, config, `configured-lora-vllm-${Date.now()}`);
      expect(result.evaluations.map((e) => e.model.model)).toEqual(['sim-model', 'math']);
      expect(result.evaluations[1]!.score.total).toBe(2);
    } finally {
      await deps.gateway.close();
    }
    const events = (await double.loraAdapters()).events.slice(seen);
    expect(events.map((e) => [e.action, e.api, e.name, e.error])).toEqual([
      ['load', 'vllm', 'math', null],
      ['unload', 'vllm', 'math', null],
    ]);
    expect(events[0]!.path).toBe(adapterFile);
    const chats = (await double.requests()).filter((r) => r.path === '/v1/chat/completions');
    // The serving step's one-token probe, then one call per test question for each model.
    expect(chats.filter((r) => r.model === 'math')).toHaveLength(1 + items.length);
    expect(chats.filter((r) => r.model === 'sim-model')).toHaveLength(items.length);
    expect((await double.loraAdapters()).loaded).toEqual([]);
  });

  it('refuses, before any call, an adapter that does not exist or an engine its provider cannot be', () => {
    const providers = {
      'local-vllm': { kind: 'openai-compatible', baseURL: double.baseURL },
      local: { kind: 'llama-cpp', modelPath: baseGguf },
    };
    expect(() =>
      configWith(providers, [{ provider: 'local-vllm', model: 'm', lora: { path: 'adapters/nope', serve: 'vllm' } }]),
    ).toThrow(
      new RegExp(`field "models\\[0\\]\\.lora\\.path" names ${path.join(dir, 'adapters/nope')}, which does not`),
    );
    expect(() =>
      configWith(providers, [{ provider: 'local-vllm', model: 'm', lora: { path: 'adapters', serve: 'llama-cpp' } }]),
    ).toThrow(/field "models\[0\]\.lora\.serve" is llama-cpp, which needs a llama-cpp provider/);
    expect(() =>
      configWith(providers, [{ provider: 'local', model: 'm', lora: { path: 'adapters', serve: 'sglang' } }]),
    ).toThrow(/field "models\[0\]\.lora\.serve" is sglang, which needs an openai-compatible provider/);
  });
});

describe('an evaluate config naming an adapter applied by embedded llama.cpp', () => {
  it('answers with the adapter applied, unlike the same model without it', async () => {
    const local = { kind: 'llama-cpp', modelPath: baseGguf, contextSize: 1024, threads: 1 };
    const config = configWith({ local }, [
      { provider: 'local', model: 'tiny-random' },
      { provider: 'local', model: 'tiny-random', lora: { path: 'adapters/math.gguf', serve: 'llama-cpp' } },
    ]);
    const sampling = { ...config.sampling, logprobs: true };
    const deps = tempDeps();
    const runId = `configured-lora-llama-${Date.now()}`;
    try {
      const result = await evaluate(deps, config, runId, sampling);
      expect(result.usage.calls).toBe(2 * items.length); // the adapted model's calls are not the base model's cache
      const answersOf = async (stage: string) =>
        deps.store.readAll<AnsweredQuestion>((await deps.store.lookup(`runs/${runId}/${stage}/answers-00000`))!);
      const [base, adapted] = [await answersOf('evaluate-1'), await answersOf('evaluate-2')];
      const direct = new LlamaCppChat(config.providers.local as LlamaCppProviderConfig);
      try {
        for (const [i, item] of items.entries()) {
          const response = await direct.complete({
            model: 'tiny-random',
            messages: zeroShotMessages(item),
            temperature: sampling.temperature,
            max_tokens: sampling.maxTokens,
            seed: sampling.seed,
            logprobs: true,
            adapter: { name: 'tiny-random', path: adapterFile },
          });
          const withAdapter = response.choices[0]!.logprobs!.map((entry) => entry.logprob);
          expect(maxDifference(adapted[i]!.responses[0]!.logprobs!, withAdapter)).toBeLessThan(1e-5);
          expect(maxDifference(base[i]!.responses[0]!.logprobs!, withAdapter)).toBeGreaterThan(1e-3);
        }
      } finally {
        await direct.close();
      }
    } finally {
      await deps.gateway.close();
    }
  });
});
