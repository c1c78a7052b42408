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
    // Unset, the answer and layout options stay out of the run's inputs, as in runs recorded before they existed: a
    // reused --id with the same config is not refused as changed.
    expect(config.semievol).not.toHaveProperty('answers');
    expect(config.semievol).not.toHaveProperty('promptLayout');
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

  describe("the authors' trainer settings in fineTune.hyperparameters", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-semievol-trainer-'));
    const csv = path.join(root, 'demo/fpb/test.csv');
    const settings =
      '{ loraRank: 16, loraAlpha: 32, gradientAccumulation: 8, cutoffTokens: 1024, validationShare: 0.05 }';
    const write = (backend: string, hyperparameters: string) => {
      const file = path.join(dir, `${backend.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(
        file,
        'method: semievol\ntask: fpb\nproviders:\n' +
          '  vllm: { kind: openai-compatible, baseURL: http://127.0.0.1:8000/v1 }\n' +
          'model: { provider: vllm, model: llama }\n' +
          `data:\n  labeled: { format: semievol-csv, path: ${csv} }\n` +
          `  unlabeled: { format: semievol-csv, path: ${csv} }\n  test: { format: semievol-csv, path: ${csv} }\n` +
          `fineTune:\n  backend: ${backend}\n  hyperparameters: ${hyperparameters}\n`,
      );
      return file;
    };

    it('reach both fine-tunes beside the paper defaults, and stay out of the inputs when unset', async () => {
      const config = loadRunConfig(write('{ kind: command, command: train.sh, provider: vllm }', settings));
      if (config.method !== 'semievol') throw new Error('expected a semievol config');
      const { input } = await semievolMethod.prepare(config, new LocalArtifactStore(path.join(dir, 'artifacts')));
      const { fineTune } = input as unknown as SemievolRunInput;
      const authors = {
        loraRank: 16,
        loraAlpha: 32,
        gradientAccumulation: 8,
        cutoffTokens: 1024,
        validationShare: 0.05,
      };
      expect(fineTune.hyperparameters).toEqual({ epochs: 2, learningRate: 1e-4, lora: true, ...authors });
      expect(fineTune.finalHyperparameters).toEqual({ epochs: 2, learningRate: 1e-4, lora: true, ...authors });
      const unset = loadRunConfig(write('{ kind: together, provider: vllm }', '{ epochs: 1 }'));
      if (unset.method !== 'semievol') throw new Error('expected a semievol config');
      expect(unset.fineTune.hyperparameters).toEqual({ epochs: 1 });
    });

    it('are refused, naming the field, where the backend does not pass them on', () => {
      const together = write('{ kind: together, provider: vllm }', '{ loraRank: 16, validationShare: 0.05 }');
      expect(() => loadRunConfig(together)).toThrow(
        new ConfigError(
          `${together} line 12: field "fineTune.hyperparameters.validationShare" is not passed on by the together ` +
            'fine-tune backend, which passes loraRank and loraAlpha of loraRank, loraAlpha, gradientAccumulation, ' +
            'cutoffTokens, validationShare (a command trainer gets them all).',
        ),
      );
      const openai = write('{ kind: openai, provider: vllm }', '{ loraRank: 16 }');
      expect(() => loadRunConfig(openai)).toThrow(
        /"fineTune\.hyperparameters\.loraRank" is not passed on by the openai fine-tune backend, which passes none/,
      );
      const fireworks = write('{ kind: fireworks, provider: vllm, account: a }', '{ loraRank: 16 }');
      expect(loadRunConfig(fireworks).method).toBe('semievol');
    });

    it('are checked for range: the share held out lies strictly between 0 and 1', () => {
      const file = write('{ kind: command, command: train.sh, provider: vllm }', '{ validationShare: 1 }');
      expect(() => loadRunConfig(file)).toThrow(/line 12: field "fineTune\.hyperparameters\.validationShare"/);
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
    for (const [key, value] of [
      ['answers', 'theirs'],
      ['promptLayout', 'paper'],
    ])
      expect(() =>
        loadRunConfig(write(`${key}.yaml`, base + data('semievol-csv') + `semievol:\n  ${key}: ${value}\n`)),
      ).toThrow(new RegExp(`line 13: field "semievol\\.${key}" .*"ours".*"authors"`));
  });

  describe('open questions', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-semievol-open-'));
    const fixture = (name: string) => path.join(root, 'test/fixtures/open-numeric', name);
    const write = (name: string, text: string) => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const config = (data: string, extra = '') =>
      loadRunConfig(
        write(
          `open-${Math.random().toString(36).slice(2)}.yaml`,
          'method: semievol\ntask: numeric\n' +
            'providers:\n  p: { kind: openai-compatible, baseURL: http://127.0.0.1:1/v1 }\n' +
            `model: { provider: p, model: m }\nfineTune:\n  backend: { kind: in-context }\n${data}${extra}`,
        ),
      );
    const split = (format: string, file: string) => `{ format: ${format}, path: ${file} }`;
    const numericData =
      `data:\n  labeled: ${split('open-jsonl', fixture('labeled.jsonl'))}\n` +
      `  unlabeled: ${split('open-csv', fixture('unlabeled.csv'))}\n` +
      `  test: ${split('open-jsonl', fixture('test.jsonl'))}\n`;
    const textFile = write('text.jsonl', '{"question":"Who designed the tower?","answer":"Gustave Eiffel"}\n');
    const textData =
      `data:\n  labeled: ${split('open-jsonl', textFile)}\n  unlabeled: ${split('open-jsonl', textFile)}\n` +
      `  test: ${split('open-jsonl', textFile)}\n`;
    const prepared = async (data: string, extra = '') => {
      const loaded = config(data, extra);
      if (loaded.method !== 'semievol') throw new Error('expected a semievol config');
      return (await semievolMethod.prepare(loaded, new LocalArtifactStore(path.join(dir, 'artifacts')))).input;
    };

    it('scores open numeric splits by number and open text splits by text-match by default', async () => {
      expect((await prepared(numericData)).metric).toBe('number');
      expect((await prepared(textData)).metric).toBe('text-match');
      expect((await prepared(numericData, 'metric: text-match\n')).metric).toBe('text-match');
      const fpb = loadRunConfig(example);
      if (fpb.method !== 'semievol') throw new Error('expected a semievol config');
      expect((await semievolMethod.prepare(fpb, new LocalArtifactStore(dir))).input.metric).toBe('option-letter');
    });

    it('refuses splits of both kinds, and a metric that does not fit the answers, before anything runs', async () => {
      const mixed =
        `data:\n  labeled: ${split('open-jsonl', textFile)}\n  unlabeled: ${split('open-jsonl', textFile)}\n` +
        `  test: ${split('semievol-csv', path.join(root, 'demo/fpb/test.csv'))}\n`;
      expect(() => config(mixed)).toThrow(ConfigError);
      expect(() => config(mixed)).toThrow(
        'line 11: field "data.test.format" must be an open-question format (open-csv or open-jsonl) like ' +
          'data.labeled, since a run pseudo-labels one kind of question.',
      );
      expect(() => config(numericData, 'metric: option-letter\n')).toThrow(
        /field "metric" must be "number" or "text-match" for open questions/,
      );
      await expect(prepared(textData, 'metric: number\n')).rejects.toThrow(
        `${textFile}: item "line-1" field "answer" must read as a number for metric "number", got "Gustave Eiffel".`,
      );
    });
  });
});
