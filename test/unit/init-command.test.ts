// `flt init` writes, for each method and provider, a starter config that `flt validate` accepts as written, and
// never overwrites a file.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { starterPaths } from '../../cli/init';
import { starterConfig, starterMethods, starterProviders } from '../../cli/starter-config';
import { validateConfigFile } from '../../cli/validate';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { parseGoldJsonl } from '../../testdouble/gold-index';

const root = path.resolve(__dirname, '../..');
const modelPath = path.resolve(root, '../shared/models/llama-2-tiny-random.gguf');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-init-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cases = starterMethods.flatMap((method) => starterProviders.map((provider) => [method, provider] as const));

it.each(cases)('a %s starter config for %s passes flt validate as written', async (method, provider) => {
  // In a folder of its own below the temporary one, so its paths to the demo data climb out of it.
  const out = path.join(dir, `${method}-${provider}`, 'config.yaml');
  fs.mkdirSync(path.dirname(out));
  fs.writeFileSync(out, starterConfig(method, provider, starterPaths(out, modelPath, root)));
  const lines = await validateConfigFile(out);
  expect(lines[0]).toBe(`${out}: valid ${method} config for task "${method === 'semievol' ? 'fpb' : 'task190'}"`);
});

it('a llama-cpp starter whose model file is missing is refused by flt validate, naming the field', async () => {
  const out = path.join(dir, 'no-model', 'config.yaml');
  fs.mkdirSync(path.dirname(out));
  const missing = path.join(dir, 'no-model', 'models', 'model.gguf');
  fs.writeFileSync(out, starterConfig('selfguide', 'llama-cpp', starterPaths(out, missing, root)));
  await expect(validateConfigFile(out)).rejects.toThrow(
    `${out} line 9: field "providers.local.modelPath" names ${missing}, which does not exist.`,
  );
});

// The runnable examples of README "First run without a paid key" (the last one validated only: no server here).
it.each(['test-double', 'llama-cpp', 'openai-compatible'] as const)(
  'examples/semievol-%s.yaml is what flt init writes, and passes flt validate',
  async (provider) => {
    const example = path.join(root, 'examples', `semievol-${provider}.yaml`);
    expect(fs.readFileSync(example, 'utf8')).toBe(
      starterConfig('semievol', provider, starterPaths(example, modelPath, root)),
    );
    expect((await validateConfigFile(example))[0]).toContain('valid semievol config');
  },
);

it('writes through the CLI and refuses, in one sentence, to overwrite what it wrote', () => {
  const cli = (...args: string[]) =>
    spawnSync(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'client.ts'), ...args], {
      cwd: dir,
      encoding: 'utf8',
    });
  const first = cli('init', 'semievol', '--provider', 'openai', '--out', 'mine.yaml');
  expect(first.stderr).toBe('');
  expect(first.stdout).toContain('wrote mine.yaml: a semievol starter config for openai');
  const written = fs.readFileSync(path.join(dir, 'mine.yaml'), 'utf8');
  expect(written).toContain('apiKeyEnv: OPENAI_API_KEY');

  const again = cli('init', 'selfguide', '--out', 'mine.yaml');
  expect(again.status).toBe(2);
  expect(again.stderr).toBe('mine.yaml already exists, and flt init never overwrites a file: choose another --out.\n');
  expect(fs.readFileSync(path.join(dir, 'mine.yaml'), 'utf8')).toBe(written);

  const validated = cli('validate', 'mine.yaml');
  expect(validated.stderr).toBe('');
  expect(validated.stdout).toContain('mine.yaml: valid semievol config for task "fpb"');
});

it('names a provider it does not know with the ones it does', () => {
  const result = spawnSync(
    path.join(root, 'node_modules/.bin/tsx'),
    [path.join(root, 'client.ts'), 'init', 'semievol', '--provider', 'ollama'],
    { cwd: dir, encoding: 'utf8' },
  );
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain('expected one of openai, test-double, llama-cpp, openai-compatible.');
});

it("the double's gold file, which the test-double SemiEvol starter names, answers every demo question", () => {
  const gold = parseGoldJsonl(fs.readFileSync(path.join(root, 'demo/fpb/gold.jsonl'), 'utf8'), 'gold.jsonl');
  const items = ['labeled', 'unlabeled', 'test'].flatMap(
    (split) => loadSemiEvolCsv(path.join(root, 'demo/fpb', `${split}.csv`)).items,
  );
  expect(gold).toEqual(
    items.map((item) => ({
      question: item.question,
      answer: item.answer,
      choices: item.options.map((_, i) => String.fromCharCode(65 + i)),
    })),
  );
});
