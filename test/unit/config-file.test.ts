import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadRunConfig } from '../../lib/config-file';

const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-config-'));
function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const valid = `method: evaluate
task: fpb
providers:
  double:
    kind: openai-compatible
    baseURL: http://127.0.0.1:9999/v1
    testDouble: true
models:
  - provider: double
    model: sim-model
data:
  test:
    format: semievol-csv
    path: data/test.csv
`;

function errorOf(file: string): string {
  try {
    loadRunConfig(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadRunConfig', () => {
  it('applies defaults and resolves data paths against the config folder', () => {
    const config = loadRunConfig(write('ok.yaml', valid));
    if (config.method !== 'evaluate') throw new Error(`expected an evaluate config, got ${config.method}`);
    expect(config.data.test.path).toBe(path.join(dir, 'data/test.csv'));
    expect(config.sampling).toEqual({ temperature: 0, maxTokens: 256, seed: 0 });
    expect(config.providers.double).toMatchObject({ maxConcurrency: 8, apiKeyEnv: 'OPENAI_API_KEY' });
  });

  it('reads JSON too', () => {
    write('m.gguf', '');
    const json = JSON.stringify({
      method: 'evaluate',
      task: 't',
      providers: { p: { kind: 'llama-cpp', modelPath: 'm.gguf' } },
      models: [{ provider: 'p', model: 'm' }],
      data: { test: { format: 'io-jsonl', path: 'x.jsonl' } },
    });
    expect(loadRunConfig(write('ok.json', json)).providers.p).toMatchObject({
      kind: 'llama-cpp',
      modelPath: path.join(dir, 'm.gguf'),
    });
  });

  it('refuses a llama.cpp model file that does not exist, naming the field and the path', () => {
    const llama = valid.replace(
      / {4}kind: openai-compatible\n.*\n.*testDouble: true\n/,
      '    kind: llama-cpp\n    modelPath: gone.gguf\n',
    );
    const [file, model] = [path.join(dir, 'no-model.yaml'), path.join(dir, 'gone.gguf')];
    expect(errorOf(write('no-model.yaml', llama))).toBe(
      `${file} line 6: field "providers.double.modelPath" names ${model}, which does not exist.`,
    );
  });

  it('names the file, line and field of a wrong value in one sentence', () => {
    const message = errorOf(write('bad-url.yaml', valid.replace('http://127.0.0.1:9999/v1', 'not a url')));
    expect(message).toMatch(/^.*bad-url\.yaml line 6: field "providers\.double\.baseURL" .*URL.*\.$/);
    expect(message.split('\n')).toHaveLength(1);
  });

  it('reports an unknown field where it is', () => {
    expect(
      errorOf(write('typo.yaml', valid.replace('    model: sim-model', '    model: sim-model\n    temprature: 1'))),
    ).toMatch(/typo\.yaml line 11: field "models\[0\]" has unknown field\(s\) "temprature"\./);
  });

  it('reports a model that names no configured provider', () => {
    expect(errorOf(write('ref.yaml', valid.replace('  - provider: double', '  - provider: dubble')))).toMatch(
      /ref\.yaml line 9: field "models\[0\]\.provider" must name a provider under "providers" \(double\), got "dubble"\./,
    );
  });

  it('reports a missing required field and a wrong method', () => {
    expect(errorOf(write('missing.yaml', valid.replace('task: fpb\n', '')))).toMatch(/missing\.yaml.*field "task"/);
    expect(errorOf(write('method.yaml', valid.replace('method: evaluate', 'method: evolve')))).toMatch(
      /method\.yaml line 1: field "method"/,
    );
  });

  it('reports YAML syntax errors with their line', () => {
    expect(errorOf(write('syntax.yaml', 'method: evaluate\ntask: [unclosed\n'))).toMatch(
      /syntax\.yaml line \d: not valid YAML or JSON/,
    );
  });

  it('reports an unreadable file', () => {
    expect(errorOf(path.join(dir, 'nope.yaml'))).toMatch(/nope\.yaml: cannot read the config file \(ENOENT\)\./);
  });
});
