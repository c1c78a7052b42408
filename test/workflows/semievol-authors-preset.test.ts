// `semievol.evolution.preset: authors` end to end with the `command` backend (the fake LoRA trainer) serving on the
// double's vLLM routes: the final fine-tune continues M_warm's adapter at learning rate 1e-6 on the selected
// pseudo-labels alone, as the authors' later code does.
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

describe('semievolRun with evolution.preset: authors on the command backend', () => {
  let double: ProviderDouble;
  const deps = tempDeps({ ...process.env, FLT_TEST_KEY: 'k', FLT_BASE_GGUF: baseGguf });

  beforeAll(async () => {
    double = await startProviderDouble({
      config: { models: { 'sim-model': { accuracy: 0.5 } } },
      gold: gold([...labeled, ...unlabeled, ...test]),
    });
  });
  afterAll(async () => double?.stop());

  it("continues M_warm's adapter at 1e-6 on the selected pseudo-labels only", async () => {
    const config = semievolRunSchema.parse({
      method: 'semievol',
      task: 'fpb',
      providers: {
        'local-vllm': {
          kind: 'openai-compatible',
          baseURL: double.baseURL,
          apiKeyEnv: 'FLT_TEST_KEY',
          testDouble: true,
          maxConcurrency: 8,
        },
      },
      model: { provider: 'local-vllm', model: 'sim-model' },
      data: {
        labeled: { format: 'semievol-csv', path: csv('labeled') },
        unlabeled: { format: 'semievol-csv', path: csv('unlabeled') },
        test: { format: 'semievol-csv', path: csv('test') },
      },
      fineTune: {
        backend: {
          kind: 'command',
          command: trainerCommand,
          provider: 'local-vllm',
          pollIntervalSeconds: 0.2,
          serve: 'vllm',
        },
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
    });

    const { client, close } = await testClient();
    const worker = await testWorker(deps);
    const runId = `semievol-authors-${Date.now()}`;
    try {
      const result: SemievolRunResult = await worker.run(() =>
        client.workflow.execute('semievolRun', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [{ ...input, runId }],
        }),
      );
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
    } finally {
      await close();
    }
  });
});
