// README "A first run of your own, step by step": a newcomer's path (init, validate, run on the test double, watch,
// show, report) through the CLI and a worker process as the walk-through types it, on the real dev server. (The
// llama.cpp path runs end to end in test/workflows/semievol-llama.test.ts, on fewer questions: the whole sample takes
// too long on a busy CPU.)
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
  // A folder of the newcomer's own, where their config lands; the CLI is the repository's.
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'flt-newcomer-'));
  const flt = (...args: string[]) =>
    run(process.execPath, tsArgs(path.join(root, 'client.ts'), args), { env, cwd, maxBuffer: 1 << 24 });
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

  /** The README's step-by-step first run, its whitespace made single spaces (its lines wrap inside commands). */
  const walkThrough = (() => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const from = readme.indexOf('### A first run of your own, step by step');
    return readme.slice(from, readme.indexOf('\n## ', from)).replace(/\s+/g, ' ');
  })();

  /** Runs `flt <command>` as the README types it, after checking the walk-through still says so. */
  function step(command: string, ...extra: string[]) {
    expect(walkThrough).toContain(`npm run flt -- ${command}`);
    return flt(...command.split(' '), ...extra);
  }

  it("takes the README's first steps: init, validate, run on the double, watch, show, report", async () => {
    const runId = 'my-first-run';
    await step('init semievol --provider test-double --out my-run.yaml');
    // The double listens on a free port here, where the README starts it on 8787.
    const config = path.join(cwd, 'my-run.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('http://127.0.0.1:8787/v1', double.baseURL));
    expect((await step('validate my-run.yaml')).stdout).toContain('120');
    const started = (await step(`run my-run.yaml --id ${runId}`)).stdout;
    expect(started).toContain('provider test double in use');
    expect(started).toContain(runId);

    // Not a terminal: each changed frame, then the run's end and its result.
    const watched = (await step(`watch ${runId}`, '--interval', '1')).stdout;
    expect(watched).toContain(`run ${runId} · semievolRun · COMPLETED after`);
    expect(watched).toMatch(/^ *SemiEvol \(double\/ft:sim-model:\S+\): accuracy \d\.\d{3} \(\d+\/60\)$/m);
    const result = JSON.parse((await flt('result', runId, '--json')).stdout);
    for (const model of ['vanilla', 'sft', 'semievol', 'rag']) expect(result.evaluations[model].score.total).toBe(60);
    expect(result.pseudoLabels.counts.questions).toBe(120);

    const shown = (await step(`show ${runId} --selected`, '--limit', '500')).stdout;
    expect(shown).toContain(`SemiEvol run ${runId}: ${result.pseudoLabels.counts.selected} of 120 items`);
    expect(shown.match(/^item \d+ of 120 · \S+ · selected$/gm)).toHaveLength(result.pseudoLabels.counts.selected);

    expect((await step(`report ${runId}`)).stdout).toContain(path.join(home, 'reports', `${runId}.html`));
    const html = readFileSync(path.join(home, 'reports', `${runId}.html`), 'utf8');
    expect(html).toContain(runId);
    expect(readFileSync(path.join(home, 'reports', `${runId}.md`), 'utf8')).toMatch(/simulated/i);
  });
});
