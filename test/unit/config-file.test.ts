import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
  it('refuses a Together checkpoint download whose serving provider is not a server with a baseURL', () => {
    write('m2.gguf', '');
    const semievol = (provider: string) => `method: semievol
task: fpb
providers:
  together:
    kind: openai-compatible
    baseURL: http://127.0.0.1:9999/together/v1
  local:
    kind: llama-cpp
    modelPath: m2.gguf
model: { provider: together, model: base }
data:
  labeled: { format: semievol-csv, path: l.csv }
  unlabeled: { format: semievol-csv, path: u.csv }
  test: { format: semievol-csv, path: t.csv }
fineTune:
  backend:
    kind: together
    provider: together
    serve: download
    download: { engine: vllm, provider: ${provider} }
`;
    expect(errorOf(write('download-local.yaml', semievol('local')))).toBe(
      `${path.join(dir, 'download-local.yaml')} line 20: field "fineTune.backend.download.provider" names "local", ` +
        'which must be an openai-compatible provider with the baseURL of your vllm server.',
    );
    expect(loadRunConfig(write('download-ok.yaml', semievol('together'))).method).toBe('semievol');
  });

  it('refuses a merged Together checkpoint whose server has no baseURL, or too few ports for its models', () => {
    const semievol = (provider: string, without: string, ports = '') => `method: semievol
task: fpb
providers:
  together:
    kind: openai-compatible
    baseURL: http://127.0.0.1:9999/together/v1
  merged:
    kind: openai-compatible
    baseURL: http://127.0.0.1:8000/v1
  nowhere:
    kind: openai-compatible
model: { provider: together, model: base }
data:
  labeled: { format: semievol-csv, path: l.csv }
  unlabeled: { format: semievol-csv, path: u.csv }
  test: { format: semievol-csv, path: t.csv }
semievol: { without: [${without}] }
fineTune:
  backend:
    kind: together
    provider: together
    serve: download
    download:
      checkpoint: merged
      server: { command: "vllm serve {dir} --served-model-name {model} --port {port}", provider: ${provider}${ports} }
`;
    expect(errorOf(write('merged-nowhere.yaml', semievol('nowhere', 'in-weight-propagation')))).toBe(
      `${path.join(dir, 'merged-nowhere.yaml')} line 25: field "fineTune.backend.download.server.provider" names ` +
        '"nowhere", which must be an openai-compatible provider with the baseURL of the server the run starts.',
    );
    expect(errorOf(write('merged-warm.yaml', semievol('merged', '')))).toBe(
      `${path.join(dir, 'merged-warm.yaml')} line 25: field "fineTune.backend.download.server.ports" is not set, ` +
        'leaving only the port of "merged", but SemiEvol with its warm-up serves M_warm and M_evol, evaluated ' +
        'together, each on a server of its own: list two ports.',
    );
    expect(errorOf(write('merged-warm-1.yaml', semievol('merged', '', ', ports: [8001]')))).toBe(
      `${path.join(dir, 'merged-warm-1.yaml')} line 25: field "fineTune.backend.download.server.ports" lists 1 ` +
        'port, but SemiEvol with its warm-up serves M_warm and M_evol, evaluated together, each on a server of its ' +
        'own: list two ports.',
    );
    expect(errorOf(write('merged-warm-twice.yaml', semievol('merged', '', ', ports: [8001, 8001]')))).toMatch(
      /line 25: field "fineTune\.backend\.download\.server\.ports" must not list a port twice\.$/,
    );
    const warm = loadRunConfig(write('merged-warm-ok.yaml', semievol('merged', '', ', ports: [8001, 8002]')));
    expect(warm.method === 'semievol' && warm.fineTune.backend).toMatchObject({
      download: { server: { ports: [8001, 8002] } },
    });
    const selfguide = `method: selfguide
task: task1385
providers:
  together: { kind: openai-compatible, baseURL: http://127.0.0.1:9999/together/v1 }
  merged: { kind: openai-compatible, baseURL: http://127.0.0.1:8000/v1 }
model: { provider: together, model: base }
data:
  task: { format: selfguide-task, path: task1385 }
fineTune:
  backend:
    kind: together
    provider: together
    serve: download
    download: { checkpoint: merged, server: { command: "vllm serve {dir} --port {port}", provider: merged } }
`;
    expect(errorOf(write('merged-selfguide.yaml', selfguide))).toMatch(
      new RegExp(
        'line 14: field "fineTune\\.backend\\.download\\.server\\.ports" is not set, leaving only the port of ' +
          '"merged", but SELF-GUIDE serves its two fine-tuned models',
      ),
    );
    const withPorts = selfguide.replace('provider: merged }', 'provider: merged, ports: [8001, 8002] }');
    expect(loadRunConfig(write('merged-selfguide-ok.yaml', withPorts)).method).toBe('selfguide');
    const campaign = withPorts
      .replace('method: selfguide', 'method: selfguide-campaign')
      .replace(
        '  task: { format: selfguide-task, path: task1385 }',
        '  validation: [{ format: selfguide-task, path: a }]\n  test: [{ format: selfguide-task, path: b }]',
      );
    expect(errorOf(write('merged-campaign.yaml', campaign))).toMatch(
      /line 15: field "fineTune\.backend\.download\.checkpoint" is merged, but a SELF-GUIDE campaign serves a model /,
    );
    const ok = loadRunConfig(write('merged-ok.yaml', semievol('merged', 'in-weight-propagation')));
    expect(ok.method === 'semievol' && ok.fineTune.backend).toMatchObject({
      download: { checkpoint: 'merged', server: { provider: 'merged', startTimeoutSeconds: 1800 } },
    });
  });

  it('applies defaults and resolves data paths against the config folder', () => {
    const config = loadRunConfig(write('ok.yaml', valid));
    if (config.method !== 'evaluate') throw new Error(`expected an evaluate config, got ${config.method}`);
    expect(config.data.test.path).toBe(path.join(dir, 'data/test.csv'));
    expect(config.sampling).toEqual({ temperature: 0, maxTokens: 256, seed: 0 });
    expect(config.providers.double).toMatchObject({ maxConcurrency: 8 });
    // Left unset: the worker tells a key the config asked for (which must be set) from the OPENAI_API_KEY default.
    expect(config.providers.double).not.toHaveProperty('apiKeyEnv');
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

  it('refuses a llama.cpp modelPath that names a folder, not a model file', () => {
    mkdirSync(path.join(dir, 'models'), { recursive: true });
    const llama = valid.replace(
      / {4}kind: openai-compatible\n.*\n.*testDouble: true\n/,
      '    kind: llama-cpp\n    modelPath: models\n',
    );
    const file = path.join(dir, 'folder-model.yaml');
    expect(errorOf(write('folder-model.yaml', llama))).toBe(
      `${file} line 6: field "providers.double.modelPath" names ${path.join(dir, 'models')}, which is a folder, ` +
        'not a GGUF model file.',
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

  it('refuses a stage always batched on a provider without a Batch API, before any call', () => {
    const semievol = (providerLines: string, batch: string) => `method: semievol
task: fpb
providers:
  double:
    kind: openai-compatible
    baseURL: http://127.0.0.1:9999/v1
${providerLines}model: { provider: double, model: sim-model }
data:
  labeled: { format: semievol-csv, path: l.csv }
  unlabeled: { format: semievol-csv, path: u.csv }
  test: { format: semievol-csv, path: t.csv }
fineTune: { backend: { kind: in-context } }
execution:
  batch: ${batch}
`;
    expect(errorOf(write('batch-none.yaml', semievol('', '{ stages: { justify: true } }')))).toBe(
      `${path.join(dir, 'batch-none.yaml')} line 14: field "execution.batch.stages.justify" sends justify through a ` +
        'Batch API, but provider "double" has none: set providers.double.batchApi (openai or together), or use ' +
        '"auto", which calls online where no Batch API is.',
    );
    expect(loadRunConfig(write('batch-auto.yaml', semievol('', '{ mode: auto }'))).method).toBe('semievol');
    const withApi = semievol('    batchApi: together\n', '{ mode: true }');
    expect(loadRunConfig(write('batch-api.yaml', withApi)).execution.batch?.mode).toBe(true);
  });

  it('reports a model that names no configured provider', () => {
    expect(errorOf(write('ref.yaml', valid.replace('  - provider: double', '  - provider: dubble')))).toMatch(
      new RegExp(
        String.raw`ref\.yaml line 9: field "models\[0\]\.provider" ` +
          String.raw`must name a provider under "providers" \(double\), got "dubble"\.`,
      ),
    );
  });

  it('reports a missing required field and a wrong method', () => {
    expect(errorOf(write('missing.yaml', valid.replace('task: fpb\n', '')))).toMatch(/missing\.yaml.*field "task"/);
    expect(errorOf(write('method.yaml', valid.replace('method: evaluate', 'method: evolve')))).toMatch(
      /method\.yaml line 1: field "method"/,
    );
  });

  it('refuses a task name that could not be part of a run id or an artifact name', () => {
    for (const task of ['"fpb sentiment"', 'fpb/test', '"../fpb"', '..', 'tâche', `${'x'.repeat(61)}`]) {
      expect(errorOf(write('task-name.yaml', valid.replace('task: fpb', `task: ${task}`)))).toMatch(
        / line 2: field "task" must be 1 to 60 ASCII letters, digits, "_", "\." or "-", and not "\." or "\.\." \(/,
      );
    }
    expect(() => loadRunConfig(write('task-ok.yaml', valid.replace('task: fpb', 'task: fpb_v2.1-test')))).not.toThrow();
  });

  it('refuses a provider baseURL that is not http or https', () => {
    for (const url of ['file:///etc/passwd', 'ftp://example.com/v1'])
      expect(errorOf(write('file-url.yaml', valid.replace('http://127.0.0.1:9999/v1', url)))).toMatch(
        /file-url\.yaml line 6: field "providers\.double\.baseURL" must be an http:\/\/ or https:\/\/ URL\.$/,
      );
  });

  it('refuses a maxTokens no model could generate', () => {
    const huge = `${valid}sampling:\n  maxTokens: 1.0e+15\n`;
    expect(errorOf(write('max-tokens.yaml', huge))).toMatch(
      /max-tokens\.yaml line 16: field "sampling\.maxTokens" must be at most 1000000 \(tokens in one answer\)\.$/,
    );
  });

  it('reports YAML syntax errors with their line', () => {
    expect(errorOf(write('syntax.yaml', 'method: evaluate\ntask: [unclosed\n'))).toMatch(
      /syntax\.yaml line \d: not valid YAML or JSON/,
    );
  });

  it('reads only a regular file of at most 1 MiB as a config', () => {
    expect(errorOf('/dev/null')).toBe(
      '/dev/null: is a character device, not a regular file; a config must be a regular file.',
    );
    const fifo = path.join(dir, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    // A writer, so that a reader that (wrongly) reads the FIFO gets its content instead of waiting for ever.
    const writer = spawn('sh', ['-c', 'cat "$1" > "$0"', fifo, write('piped.yaml', valid)], { stdio: 'ignore' });
    try {
      expect(errorOf(fifo)).toBe(`${fifo}: is a FIFO, not a regular file; a config must be a regular file.`);
    } finally {
      writer.kill();
    }
    const big = write('big.yaml', `${valid}# ${'x'.repeat(1024 * 1024)}\n`);
    expect(errorOf(big)).toMatch(/big\.yaml: is \d+ bytes, more than the limit of 1048576 bytes for a config file\.$/);
  });

  it('reports an unreadable file', () => {
    expect(errorOf(path.join(dir, 'nope.yaml'))).toMatch(/nope\.yaml: cannot read the config file \(ENOENT\)\./);
  });
});
