// README "First run without a paid key": the test double's example, run through the CLI and a worker process as the
// walk-through runs it, on the real dev server. (The llama.cpp path runs end to end in
// test/workflows/semievol-llama.test.ts, on fewer questions: the whole sample takes too long on a busy CPU.)
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import { parseGoldJsonl } from '../../testdouble/gold-index';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { temporalAddress } from '../support/temporal';

const run = promisify(execFile);
const root = path.resolve(__dirname, '../..');

describe('the examples that need no paid key', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-first-run-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    FLT_HOME: home,
    FLT_TASK_QUEUE: `first-${process.pid}`,
  };
  delete env.OPENAI_API_KEY;
  const flt = (...args: string[]) =>
    run(process.execPath, tsArgs(path.join(root, 'client.ts'), args), { env, cwd: root, maxBuffer: 1 << 24 });
  let double: ProviderDouble;
  let worker: ChildProcess;

  beforeAll(async () => {
    // As `npm run provider:fake -- --gold demo/fpb/gold.jsonl` starts it, on a free port instead of 8787.
    const goldFile = path.join(root, 'demo/fpb/gold.jsonl');
    double = await startProviderDouble({ gold: parseGoldJsonl(readFileSync(goldFile, 'utf8'), goldFile) });
    worker = spawnTs(path.join(root, 'worker.ts'), [], { env, cwd: root, stdio: 'ignore' });
  });

  afterAll(async () => {
    worker?.kill('SIGTERM');
    await new Promise((resolve) => (worker?.exitCode !== null ? resolve(null) : worker.once('exit', resolve)));
    await double?.stop();
  });

  /** The example with its relative data paths made absolute, and the double's port where it says 8787. */
  function exampleCopy(name: string): string {
    const examples = path.join(root, 'examples');
    const text = readFileSync(path.join(examples, name), 'utf8')
      .replace(/path: (\.\.\/\S+)/g, (_, relative: string) => `path: ${path.resolve(examples, relative)}`)
      .replace('http://127.0.0.1:8787/v1', double.baseURL);
    const copy = path.join(home, name);
    writeFileSync(copy, text);
    return copy;
  }

  it('runs SemiEvol on the provider test double to its evaluations', async () => {
    const runId = `first-run-double-${process.pid}`;
    const { stdout } = await flt('run', exampleCopy('semievol-test-double.yaml'), '--id', runId, '--wait');
    expect(stdout).toContain('provider test double in use');
    const result = JSON.parse((await flt('result', runId, '--json')).stdout);
    for (const model of ['vanilla', 'sft', 'semievol', 'rag']) expect(result.evaluations[model].score.total).toBe(60);
    expect(result.pseudoLabels.counts.questions).toBe(120);
  });
});
