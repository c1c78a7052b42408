// The `semievol` config and how a run is prepared from it: defaults, paths, and D_U's gold kept out of decisions.
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { McqItem } from '../../core/types';
import { LocalArtifactStore } from '../../lib/artifacts';
import { ConfigError, loadRunConfig } from '../../lib/config-file';
import { semievolMethod } from '../../lib/methods/semievol';
import type { SemievolRunInput } from '../../workflows/semievol';

const root = path.resolve(__dirname, '../..');
const example = path.join(root, 'examples/semievol-fpb.yaml');

describe('the semievol method', () => {
  it('loads the example config with data paths resolved against its folder', () => {
    const config = loadRunConfig(example);
    if (config.method !== 'semievol') throw new Error('expected a semievol config');
    expect(config.data.unlabeled.path).toBe(path.join(root, 'demo/fpb/unlabeled.csv'));
    expect(config.semievol).toMatchObject({
      propagation: { k: 3 },
      collaboration: { n: 4 },
      selection: { theta: 50 },
      rag: { k: 1 },
    });
  });

  it("stores D_U's questions without answers for the run, and its answers apart for the diagnostic only", async () => {
    const config = loadRunConfig(example);
    if (config.method !== 'semievol') throw new Error('expected a semievol config');
    const store = new LocalArtifactStore(mkdtempSync(path.join(os.tmpdir(), 'flt-semievol-')));
    const { input, notes } = await semievolMethod.prepare(config, store);
    const data = input.data as Record<string, Parameters<typeof store.readAll>[0]>;
    const unlabeled = await store.readAll<McqItem>(data.unlabeled);
    expect(unlabeled).toHaveLength(120);
    expect(unlabeled.every((item) => item.answer === null)).toBe(true);
    const gold = await store.readAll<{ id: string; answer: string }>(data.unlabeledGold);
    expect(gold).toHaveLength(120);
    expect(Object.keys(gold[0]).sort()).toEqual(['answer', 'id']);
    expect(notes).toContain('unlabeled: 120 gold answers kept aside for the pseudo-label accuracy diagnostic only');
    // The paper's setup for an API model: 2 epochs, nothing else imposed.
    expect(input.fineTune).toMatchObject({ hyperparameters: { epochs: 2 }, finalHyperparameters: { epochs: 2 } });
  });

  it("fills in the paper's hyperparameters for open models, and lets the final fine-tune override them", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-semievol-config-'));
    const file = path.join(dir, 'local.yaml');
    const csv = path.join(root, 'demo/fpb/test.csv');
    writeFileSync(
      file,
      'method: semievol\ntask: fpb\nproviders:\n' +
        '  vllm: { kind: openai-compatible, baseURL: http://127.0.0.1:8000/v1 }\n' +
        'model: { provider: vllm, model: llama }\n' +
        `data:\n  labeled: { format: semievol-csv, path: ${csv} }\n` +
        `  unlabeled: { format: semievol-csv, path: ${csv} }\n  test: { format: semievol-csv, path: ${csv} }\n` +
        'fineTune:\n  backend: { kind: command, command: train.sh, provider: vllm }\n' +
        '  finalHyperparameters: { learningRate: 1.0e-6 }\n',
    );
    const config = loadRunConfig(file);
    if (config.method !== 'semievol') throw new Error('expected a semievol config');
    const store = new LocalArtifactStore(path.join(dir, 'artifacts'));
    const { input, notes } = await semievolMethod.prepare(config, store);
    // The same file for all three splits: every test question is also training data.
    expect(notes).toEqual(
      expect.arrayContaining([
        ...['labeled', 'unlabeled'].map(
          (split) =>
            `test: warning: all 60 test questions are also in the ${split} split (${csv}); ` +
            'its scores are not a fair test.',
        ),
      ]),
    );
    expect(input.fineTune).toMatchObject({
      hyperparameters: { epochs: 2, learningRate: 1e-4, lora: true },
      finalHyperparameters: { epochs: 2, learningRate: 1e-6, lora: true },
    });
  });

  describe('evolution.preset: authors', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-semievol-preset-'));
    const csv = path.join(root, 'demo/fpb/test.csv');
    const write = (backend: string, extra = '') => {
      const file = path.join(dir, `${backend.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(
        file,
        'method: semievol\ntask: fpb\nproviders:\n' +
          '  vllm: { kind: openai-compatible, baseURL: http://127.0.0.1:8000/v1 }\n' +
          'model: { provider: vllm, model: llama }\n' +
          `data:\n  labeled: { format: semievol-csv, path: ${csv} }\n` +
          `  unlabeled: { format: semievol-csv, path: ${csv} }\n  test: { format: semievol-csv, path: ${csv} }\n` +
          `fineTune:\n  backend: ${backend}\n${extra}` +
          'semievol:\n  evolution: { preset: authors }\n',
      );
      return file;
    };
    const fineTuneOf = async (file: string) => {
      const config = loadRunConfig(file);
      if (config.method !== 'semievol') throw new Error('expected a semievol config');
      const { input } = await semievolMethod.prepare(config, new LocalArtifactStore(path.join(dir, 'artifacts')));
      return { fineTune: (input as unknown as SemievolRunInput).fineTune, evolution: config.semievol.evolution };
    };

    it("trains M_warm as the paper does and M_evol from M_warm's adapter at 1e-6 on the selected only", async () => {
      const { fineTune, evolution } = await fineTuneOf(
        write('{ kind: command, command: train.sh, provider: vllm, serve: vllm }'),
      );
      expect(evolution).toEqual({ preset: 'authors', from: 'warm', data: 'selected' });
      expect(fineTune).toMatchObject({
        hyperparameters: { epochs: 2, learningRate: 1e-4, lora: true },
        finalHyperparameters: { epochs: 2, learningRate: 1e-6, lora: true },
      });
    });

    it('keeps a final learning rate the config gives, and runs on Together and Fireworks', async () => {
      const together = await fineTuneOf(
        write('{ kind: together, provider: vllm }', '  finalHyperparameters: { learningRate: 2.0e-6 }\n'),
      );
      expect(together.fineTune.finalHyperparameters).toMatchObject({ learningRate: 2e-6 });
      const fireworks = await fineTuneOf(write('{ kind: fireworks, provider: vllm, account: a }'));
      expect(fireworks.fineTune.finalHyperparameters).toMatchObject({ learningRate: 1e-6 });
    });

    it('is refused, naming the field and the backends that can, where the backend cannot continue an adapter', () => {
      for (const backend of [
        '{ kind: openai, provider: vllm }',
        '{ kind: in-context }',
        '{ kind: command, command: train.sh, provider: vllm }',
      ]) {
        const file = write(backend);
        const kind = /kind: ([a-z-]+)/.exec(backend)![1];
        expect(() => loadRunConfig(file)).toThrow(
          new ConfigError(
            `${file} line 13: field "semievol.evolution.preset" is authors, which continues M_warm's adapter, ` +
              `and fineTune.backend ${kind}${kind === 'command' ? ' without serve' : ''} cannot; ` +
              'command (with serve), together and fireworks can.',
          ),
        );
      }
    });
  });

  it('rejects a split that is not multiple choice and an unknown ablation, naming the line', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-semievol-bad-'));
    const base =
      'method: semievol\ntask: fpb\nproviders:\n  p: { kind: llama-cpp, modelPath: m.gguf }\n' +
      'model: { provider: p, model: m }\nfineTune:\n  backend: { kind: in-context }\n';
    const write = (name: string, text: string) => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const data = (format: string) =>
      `data:\n  labeled: { format: ${format}, path: a }\n` +
      '  unlabeled: { format: semievol-csv, path: a }\n  test: { format: semievol-csv, path: a }\n';
    expect(() => loadRunConfig(write('jsonl.yaml', base + data('io-jsonl')))).toThrow(ConfigError);
    expect(() => loadRunConfig(write('jsonl.yaml', base + data('io-jsonl')))).toThrow(
      /line 9: field "data\.labeled\.format"/,
    );
    expect(() =>
      loadRunConfig(write('ablation.yaml', base + data('semievol-csv') + 'semievol:\n  without: [selection]\n')),
    ).toThrow(/field "semievol\.without\[0\]"/);
  });
});
