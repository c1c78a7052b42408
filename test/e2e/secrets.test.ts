// A recognizable fake API key reaches the provider, and nowhere else: not the histories (arguments, results,
// memo, search attributes), not the worker's or the CLI's output, not the artifact store or the response cache.
import { execFile } from 'node:child_process';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { startProviderDouble } from '../support/provider-double';
import { temporalAddress, testClient } from '../support/temporal';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const canary = 'sk-flt-canary-7f3a9c1e5b2d';

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

/** Every string and every byte payload in a history, decoded as text. */
function texts(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (Array.isArray(value)) value.forEach((v) => texts(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => texts(v, out));
  return out;
}

it('keeps the API key out of histories, logs and artifacts', async () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-secrets-'));
  const testSplit = path.join(root, 'demo/fpb/test.csv');
  const { items } = loadSemiEvolCsv(testSplit);
  // The double only answers requests that carry the key: the run completing proves the key was used.
  const double = await startProviderDouble({
    apiKey: canary,
    gold: items.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] })),
  });
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    FLT_HOME: home,
    FLT_TASK_QUEUE: `secrets-${process.pid}`,
    FLT_CANARY_KEY: canary,
  };
  const workerLog = path.join(home, 'worker.log');
  const worker = spawnTs(path.join(root, 'worker.ts'), [], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let logged = '';
  worker.stdout!.on('data', (d) => (logged += d));
  worker.stderr!.on('data', (d) => (logged += d));
  const config = path.join(home, 'run.yaml');
  writeFileSync(
    config,
    stringify({
      method: 'evaluate',
      task: 'secrets',
      providers: {
        double: { kind: 'openai-compatible', baseURL: double.baseURL, apiKeyEnv: 'FLT_CANARY_KEY', testDouble: true },
      },
      models: [{ provider: 'double', model: 'sim-model' }],
      data: { test: { format: 'semievol-csv', path: testSplit } },
      execution: { shardSize: 30, parallelShards: 2 },
    }),
  );
  const runId = `secrets-${Date.now()}`;
  const { client, close } = await testClient();
  try {
    const cli = await run(
      process.execPath,
      tsArgs(path.join(root, 'client.ts'), ['run', config, '--id', runId, '--wait']),
      { env, cwd: root },
    );
    expect(cli.stdout).toMatch(/accuracy/);

    const histories = [];
    for (const id of [runId, `${runId}--evaluate-1`])
      histories.push(await client.workflow.getHandle(id).fetchHistory());
    const historyText = texts(histories).join('\n');
    expect(historyText).toContain('FLT_CANARY_KEY'); // the variable's name travels, by design
    expect(historyText).not.toContain(canary);
    expect(cli.stdout + cli.stderr).not.toContain(canary);

    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
    writeFileSync(workerLog, logged);
    expect(logged).not.toContain(canary);
    const stored = filesUnder(home).filter((f) => !f.endsWith('run.yaml'));
    expect(stored.length).toBeGreaterThan(10); // artifacts and cached responses were written
    for (const file of stored) expect(readFileSync(file, 'utf8').includes(canary) ? file : null).toBeNull();
  } finally {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    await close();
    await double.stop();
  }
});
