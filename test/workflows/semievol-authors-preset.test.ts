// `semievol.evolution.preset: authors` end to end: the final fine-tune continues M_warm at learning rate 1e-6 on the
// selected pseudo-labels alone, as the authors' later code does; with the `command` backend (the fake LoRA trainer,
// served on the double's vLLM routes) from M_warm's adapter file, on Together from M_warm's job (`from_checkpoint`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { semievolRunSchema } from '../../core/semievol-config';
import type { McqItem } from '../../core/types';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { semievolMethod } from '../../lib/methods/semievol';
import { tsArgs } from '../../lib/ts-process';
import type { SemievolRunResult } from '../../workflows/semievol';
import { manifestFileName } from '../support/fake-lora-trainer';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { tempDeps, testClient, testWorker } from '../support/temporal';

const root = path.resolve(__dirname, '../..');
const baseGguf = path.resolve(root, '../shared/models/llama-2-tiny-random.gguf');
const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
const trainerCommand = [process.execPath, ...tsArgs(path.resolve(root, 'test/support/fake-lora-trainer.ts'))]
  .map(shellQuote)
  .join(' ');
const csv = (split: string) => path.resolve(root, `../shared/data/semievol/fpb/${split}.csv`);
const fpb = (split: string) => loadSemiEvolCsv(csv(split), { requireAnswer: split !== 'unlabeled' }).items;
const labeled = fpb('labeled').slice(0, 20);
const unlabeled = fpb('unlabeled').slice(0, 40);
const test = fpb('test').slice(0, 10);
const gold = (items: McqItem[]) =>
  items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] }));

interface Manifest {
  examples: number;
  learningRate: number;
  initAdapter: string | null;
  baseModel: string;
}
const manifestOf = (adapterDir: string): Manifest =>
  JSON.parse(fs.readFileSync(path.join(adapterDir, manifestFileName), 'utf8')) as Manifest;

/** The user turns of a job's training file (the trainer's job folder holds it next to the adapter folder). */
const trainedQuestions = (adapterDir: string): string[] =>
  fs
    .readFileSync(path.join(path.dirname(adapterDir), 'train.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const { messages } = JSON.parse(line) as { messages: { role: string; content: string }[] };
      return messages.find((m) => m.role === 'user')!.content;
    });

describe('semievolRun with evolution.preset: authors', () => {
  let double: ProviderDouble;
  const deps = tempDeps({ ...process.env, FLT_TEST_KEY: 'k', FLT_BASE_GGUF: baseGguf });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } } },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
  });
  afterAll(async () => double?.stop());

  /** The run's input as `flt run` prepares it from a config with `evolution: {preset: authors}`. */
  async function prepared(provider: object, backend: object) {
    const config = semievolRunSchema.parse({
      method: 'semievol',
      task: 'fpb',
      providers: { serving: { kind: 'openai-compatible', apiKeyEnv: 'FLT_TEST_KEY', testDouble: true, ...provider } },
      model: { provider: 'serving', model: 'sim-model' },
      data: {
        labeled: { format: 'semievol-csv', path: csv('labeled') },
        unlabeled: { format: 'semievol-csv', path: csv('unlabeled') },
        test: { format: 'semievol-csv', path: csv('test') },
      },
      fineTune: {
        backend: { provider: 'serving', pollIntervalSeconds: 0.2, ...backend },
        hyperparameters: { epochs: 1 },
      },
      semievol: {
        propagation: { k: 0 },
        collaboration: { maxTokens: 32 },
        justification: { maxTokens: 32 },
        evolution: { preset: 'authors' },
      },
      sampling: { maxTokens: 32, seed: 5 },
      execution: { shardSize: 20, parallelShards: 2 },
    });
    const loaded = (items: McqItem[]) => ({ items, warnings: [] });
    const { input } = await semievolMethod.prepare(config, deps.store, {
      labeled: loaded(labeled),
      unlabeled: loaded(unlabeled),
      test: loaded(test),
      metric: 'option-letter',
    });
    return input;
  }

  async function run(runId: string, input: object): Promise<SemievolRunResult> {
    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    try {
      return await worker.run(() =>
        client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [{ ...input, runId }],
        }),
      );
    } finally {
      await close();
    }
  }

  it("continues M_warm's adapter at 1e-6 on the selected pseudo-labels only", async () => {
    const input = await prepared(
      { baseURL: double.baseURL, maxConcurrency: 8 },
      { kind: 'command', command: trainerCommand, serve: 'vllm' },
    );
    const result = await run(`semievol-authors-${Date.now()}`, input);
    const warm = result.models.warm!;
    const evolved = result.models.evolved;
    // M_warm: the paper's warm-up from the base model at the backend's learning rate.
    expect(manifestOf(warm.adapter!.path)).toMatchObject({
      initAdapter: null,
      learningRate: 1e-4,
      baseModel: 'sim-model',
    });
    // M_evol: the trainer got FLT_INIT_ADAPTER = M_warm's adapter and FLT_LEARNING_RATE = 1e-6.
    const final = manifestOf(evolved.adapter!.path);
    expect(final).toMatchObject({ initAdapter: warm.adapter!.path, learningRate: 1e-6, baseModel: 'sim-model' });

    // Only pseudo-labelled questions, as many as were selected; none of D_L.
    const selected = result.pseudoLabels.counts.selected;
    expect(selected).toBeGreaterThan(0);
    const questions = trainedQuestions(evolved.adapter!.path);
    expect(questions).toHaveLength(selected);
    expect(final.examples).toBe(selected);
    const within = (items: McqItem[], content: string) => items.some((i) => content.includes(i.question));
    expect(questions.every((q) => within(unlabeled, q) && !within(labeled, q))).toBe(true);
  });

  it("on Together with dedicated endpoints, continues M_warm's job by the model its endpoint serves", async () => {
    const input = await prepared(
      { baseURL: double.togetherBaseURL, maxConcurrency: 8 },
      {
        kind: 'together',
        baseURL: double.togetherBaseURL,
        apiKeyEnv: 'FLT_TEST_KEY',
        serve: 'endpoint',
        endpoint: { hardware: '1x_nvidia_h100_80gb_sxm', minReplicas: 1, maxReplicas: 1 },
      },
    );
    const result = await run(`semievol-authors-together-${Date.now()}`, input);
    const warm = result.models.warm!;
    expect(warm.endpoint?.trainedModel).toEqual(expect.any(String));
    const response = await fetch(`${double.togetherBaseURL}/fine-tunes`, { headers: { authorization: 'Bearer k' } });
    const { data: jobs } = (await response.json()) as { data: Record<string, unknown>[] };
    const job = (stage: string) => jobs.filter((j) => String(j.suffix).endsWith(`-${stage}`));
    const [warmUp] = job('warm-up');
    const [evolve] = job('evolve');
    expect(warmUp).toMatchObject({ from_checkpoint: null, model: 'sim-model', learning_rate: 1e-4 });
    expect(evolve).toMatchObject({ from_checkpoint: warm.endpoint!.trainedModel, learning_rate: 1e-6 });
  });
});
