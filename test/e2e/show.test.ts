// `flt show` and `flt export`: a small SemiEvol run and a small SELF-GUIDE run, each run to its end on the provider
// test double by a worker process against the real dev server, then their items read back through the CLI: counts,
// filters, --grep, --json, the next-page line in a terminal, the sentence for a stage without items; and exported as
// datasets (JSON lines and Parquet, read back by another Parquet reader) with their cards.
import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { Client } from '@temporalio/client';
import { controlQuery } from '../../core/workflow-messages';
import { spawnTs, tsArgs } from '../../lib/ts-process';
import { outcome } from '../support/exec-outcome';
import { fpbSampleRun } from '../support/fpb-sample';
import type { ProviderDouble } from '../support/provider-double';
import { temporalAddress, testClient } from '../support/temporal';

const exec = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const splits = { labeled: 8, unlabeled: 24, test: 6 };

describe('flt show', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-show-'));
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    FLT_HOME: home,
    FLT_TASK_QUEUE: `show-${process.pid}`,
    FLT_SHOW_KEY: 'k',
  };
  const fltArgs = (args: string[]) => tsArgs(path.join(root, 'client.ts'), args);
  const run = (...args: string[]) => exec(process.execPath, fltArgs(args), { env, cwd: root, maxBuffer: 1 << 24 });
  const flt = (...args: string[]) => run(...args).then((r) => r.stdout);
  const semievolRun = `show-semievol-${process.pid}`;
  const selfGuideRun = `show-selfguide-${process.pid}`;
  const heldRun = `show-held-${process.pid}`;
  let double: ProviderDouble;
  let worker: ChildProcess;
  let client: Client;
  let closeClient: () => Promise<void>;

  const provider = () => ({
    double: { kind: 'openai-compatible', baseURL: double.baseURL, apiKeyEnv: 'FLT_SHOW_KEY', testDouble: true },
  });

  beforeAll(async () => {
    let data: Record<string, { format: string; path: string }>;
    ({ data, double } = await fpbSampleRun(home, splits));
    worker = spawnTs(path.join(root, 'worker.ts'), [], { env, cwd: root, stdio: 'ignore' });
    const semievol = path.join(home, 'semievol.yaml');
    writeFileSync(
      semievol,
      stringify({
        method: 'semievol',
        task: 'fpb-show',
        providers: provider(),
        model: { provider: 'double', model: 'sim-model' },
        data,
        fineTune: { backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 } },
        execution: { shardSize: 10, parallelShards: 3 },
      }),
    );
    // The same run, held before each fine-tune until approved: before warm-up, and after select.
    const held = path.join(home, 'held.yaml');
    writeFileSync(held, readFileSync(semievol, 'utf8') + 'budget: { usd: 100, approveFineTunes: true }\n');
    await flt('run', held, '--id', heldRun);
    ({ client, close: closeClient } = await testClient());
    const selfguide = path.join(home, 'selfguide.yaml');
    writeFileSync(
      selfguide,
      stringify({
        method: 'selfguide',
        task: 'task190',
        providers: provider(),
        model: { provider: 'double', model: 'sim-model' },
        fineTune: { backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.2 }, epochChoice: 'last' },
        data: { task: { format: 'selfguide-task', path: path.join(root, 'demo/selfguide/task190') } },
        settings: { epochs: 1 },
        generation: { rounds: 2, promptsPerRound: 10 },
        annotation: { samples: 5 },
        evaluation: { testLimit: 3 },
        execution: { shardSize: 10, parallelShards: 3 },
      }),
    );
    // `--wait` returns once each run has ended: everything below reads finished runs.
    await Promise.all([
      flt('run', semievol, '--id', semievolRun, '--wait'),
      flt('run', selfguide, '--id', selfGuideRun, '--wait'),
    ]);
    // Both runs end to end on a busy machine: longer than a test's own limit.
  }, 900_000);

  afterAll(async () => {
    worker?.kill('SIGTERM');
    await new Promise((resolve) => (worker?.exitCode !== null ? resolve(null) : worker.once('exit', resolve)));
    await double?.stop();
    await closeClient?.();
  });

  const jsonLines = (text: string) =>
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));

  it("shows a SemiEvol run's questions through collaborate, justify and select, with the withheld gold", async () => {
    const result = JSON.parse(await flt('result', semievolRun, '--json'));
    const text = await flt('show', semievolRun);
    expect(text).toContain(`SemiEvol run ${semievolRun}: 24 items; shown: 1 to 20.`);
    expect(text.match(/^item \d+ of 24 · /gm)).toHaveLength(20);
    expect(text).toMatch(/^ {2}collaborator 4: /m);
    expect(text).toMatch(/^ {2}consistency: (consistent|inconsistent)/m);
    expect(text).toMatch(/^ {2}pseudo-label: [ABC], entropy \d\.\d{3}$/m);
    expect(text).toMatch(/^ {2}gold \(withheld from the run\): [ABC]$/m);
    expect(text).not.toContain('next page'); // not a terminal

    const items = jsonLines(await flt('show', semievolRun, '--json'));
    expect(items).toHaveLength(24);
    const selected = items.filter((i) => i.selected);
    expect(selected).toHaveLength(result.pseudoLabels.counts.selected);
    expect(items.filter((i) => !i.consistent).length).toBe(result.pseudoLabels.justified);
    expect(items.every((i) => i.gold && i.collaborators.length === 4)).toBe(true);

    const shownSelected = await flt('show', semievolRun, '--selected', '--limit', '100');
    expect(shownSelected.match(/^item \d+ of 24 · \S+ · selected$/gm)).toHaveLength(selected.length);
    expect(shownSelected).not.toMatch(/not selected$/m);
    const rejected = jsonLines(await flt('show', semievolRun, '--rejected', '--json'));
    expect(rejected.map((i) => i.id)).toEqual(items.filter((i) => !i.selected).map((i) => i.id));

    // --grep reads the question text, in any letter case.
    const word = items[7].question.split(/\s+/).find((w: string) => /^[a-z]{6,}$/i.test(w))!;
    const grepped = jsonLines(await flt('show', semievolRun, '--grep', word.toUpperCase(), '--json'));
    expect(grepped.map((i) => i.id)).toContain(items[7].id);
    expect(grepped.every((i) => new RegExp(word, 'i').test(JSON.stringify(i)))).toBe(true);

    // Through collaborate only: answers and consistency, no pseudo-label or selection yet.
    const collaborate = jsonLines(await flt('show', semievolRun, 'collaborate', '--json'));
    expect(collaborate[0].collaborators).toHaveLength(4);
    expect(collaborate.some((i) => 'pseudoLabel' in i || 'selected' in i)).toBe(false);
  });

  it("shows a SELF-GUIDE run's generated inputs with their filter verdicts, votes and kept answers", async () => {
    const result = JSON.parse(await flt('result', selfGuideRun, '--json'));
    const items = jsonLines(await flt('show', selfGuideRun, '--json'));
    expect(items).toHaveLength(result.inputs.generated);
    expect(items.filter((i) => i.filter.kept)).toHaveLength(result.inputs.filters.kept);
    expect(items.filter((i) => i.annotation?.kept)).toHaveLength(result.synthetic.pairs);
    expect(items.filter((i) => i.annotation).every((i) => i.annotation.samples === 5)).toBe(true);

    const reasons = Object.entries(result.inputs.filters).filter(([reason, n]) => reason !== 'kept' && n);
    expect(reasons.length).toBeGreaterThan(0);
    for (const [reason, n] of reasons) {
      const shown = await flt('show', selfGuideRun, '--reason', reason, '--limit', '100');
      expect(shown.match(new RegExp(`^ {2}filter: removed: ${reason}$`, 'gm'))).toHaveLength(n as number);
    }
    const kept = await flt('show', selfGuideRun, 'filter-inputs', '--selected', '--limit', '100');
    expect(kept.match(/^ {2}filter: kept$/gm)).toHaveLength(result.inputs.filters.kept);
    expect(kept).not.toContain('kept answer'); // annotation comes after filter-inputs

    const text = await flt('show', selfGuideRun, '--selected', '--limit', '3');
    expect(text.match(/^item \d+ of \d+ · round [12]$/gm)).toHaveLength(3);
    expect(text).toMatch(/^ {2}kept answer: /m);
    expect(text).toMatch(/^ {4}\d ×: [ECN]$/m);
  });

  /** A Parquet file's rows, read by hyparquet in a Node process of its own (an ES module, which Jest cannot load). */
  const parquetRows = async (file: string) => {
    const read =
      "const b = require('node:fs').readFileSync(process.argv[1]);" +
      "require('hyparquet').parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.length) })" +
      '.then((rows) => console.log(JSON.stringify(rows)));';
    const { stdout } = await exec(process.execPath, ['-e', read, file], { cwd: root, maxBuffer: 1 << 24 });
    return JSON.parse(stdout);
  };

  it("exports a SemiEvol run's selected questions and pseudo-labels as datasets with their cards", async () => {
    const items = jsonLines(await flt('show', semievolRun, '--json'));
    const selected = items.filter((i) => i.selected);
    const asJsonl = path.join(home, 'export-selected');
    await flt('export', semievolRun, '--what', 'selected', '--out', asJsonl);
    expect(readdirSync(asJsonl).sort()).toEqual(['README.md', 'data']);
    const rows = jsonLines(readFileSync(path.join(asJsonl, 'data/train.jsonl'), 'utf8'));
    expect(rows).toEqual(
      selected.map((i) => ({ id: i.id, question: i.question, options: i.options, answer: i.pseudoLabel.label })),
    );
    const card = readFileSync(path.join(asJsonl, 'README.md'), 'utf8');
    expect(card).toContain('        path: data/train.jsonl\n');
    expect(card).toContain(`${rows.length} rows in \`data/train.jsonl\` (jsonl)`);
    expect(card).toContain(`run: \`${semievolRun}\``);
    expect(card).toContain('**Simulated data.**');

    const asParquet = path.join(home, 'export-pseudo-labels');
    await flt('export', semievolRun, '--what', 'pseudo-labels', '--format', 'parquet', '--out', asParquet);
    const labeled = items.filter((i) => i.pseudoLabel?.label);
    const parquet = await parquetRows(path.join(asParquet, 'data/train-00000-of-00001.parquet'));
    expect(parquet.map((r: Record<string, unknown>) => [r.id, r.pseudo_label, r.selected])).toEqual(
      labeled.map((i) => [i.id, i.pseudoLabel.label, i.selected]),
    );
    expect(parquet[0].options).toEqual(labeled[0].options);
    expect(parquet[0].entropy).toBeCloseTo(labeled[0].pseudoLabel.entropy, 12);

    // M_evol's training set: D_L and the selected questions (the run's plan, `labeled-and-selected`), as chats.
    const training = path.join(home, 'export-semievol-training');
    const { plan } = JSON.parse(await flt('result', semievolRun, '--json'));
    await flt('export', semievolRun, '--what', 'training-set', '--out', training);
    const examples = jsonLines(readFileSync(path.join(training, 'data/train.jsonl'), 'utf8'));
    const labeledCount = plan.evolveOn === 'labeled-and-selected' ? splits.labeled : 0;
    expect(examples).toHaveLength(labeledCount + selected.length);
    expect(examples.at(-1).messages.at(-1)).toEqual({
      role: 'assistant',
      content: `Answer: ${selected.at(-1).pseudoLabel.label}`,
    });
  });

  it("exports a SELF-GUIDE run's synthetic pairs and training set; refuses what the run does not make", async () => {
    const result = JSON.parse(await flt('result', selfGuideRun, '--json'));
    const synthetic = path.join(home, 'export-synthetic');
    await flt('export', selfGuideRun, '--what', 'synthetic', '--format', 'parquet', '--out', synthetic);
    const pairs = await parquetRows(path.join(synthetic, 'data/train-00000-of-00001.parquet'));
    expect(pairs).toHaveLength(result.synthetic.pairs);
    expect(Object.keys(pairs[0]).sort()).toEqual(['input', 'output']);

    const training = path.join(home, 'export-training');
    await flt('export', selfGuideRun, '--what', 'training-set', '--out', training);
    const examples = jsonLines(readFileSync(path.join(training, 'data/train.jsonl'), 'utf8'));
    expect(examples).toHaveLength(result.synthetic.pairs - result.synthetic.tooLongToTrain);
    expect(examples[0].messages.at(-1)).toMatchObject({ role: 'assistant', weight: 1 });

    const wrong = await outcome(run('export', selfGuideRun, '--what', 'pseudo-labels'));
    expect(wrong.stderr.trim()).toBe(
      '--what pseudo-labels is not what a SELF-GUIDE run makes; it exports "synthetic", "selected", "training-set".',
    );
    const full = path.join(home, 'export-full');
    mkdirSync(full);
    writeFileSync(path.join(full, 'kept.txt'), 'mine');
    const notEmpty = await outcome(run('export', selfGuideRun, '--what', 'synthetic', '--out', full));
    expect(notEmpty.stderr.trim()).toBe(`--out ${full} is not empty: name a new folder, or empty this one.`);
    expect(readdirSync(full)).toEqual(['kept.txt']);
  });

  it('says in a terminal how to see the next page, as a command that shows it', () => {
    // `script` gives the command a terminal of its own.
    const command = [process.execPath, ...fltArgs(['show', semievolRun, '--grep', "'s|A", '--limit', '2'])];
    const quoted = command.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const shown = spawnSync('script', ['-qec', `stty cols 60; ${quoted}`, '/dev/null'], { env, cwd: root });
    const text = shown.stdout.toString().replace(/\r/g, '');
    expect(text).toContain(`next page: flt show ${semievolRun} --grep ''\\''s|A' --limit 2 --offset 2`);
    // Every line but that command (copied whole) fits the terminal's 60 columns.
    const lines = text.split('\n').filter((line) => !line.startsWith('next page: '));
    expect(lines.filter((line) => line.length > 60)).toEqual([]);
  });

  it('shows a running run as far as its stages have finished, and says which have not', async () => {
    const awaiting = async (stage: string) => {
      for (;;) {
        const state = await client.workflow.getHandle(heldRun).query(controlQuery);
        if (state.awaiting?.stage === stage) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await awaiting('warm-up');
    const early = await outcome(run('show', heldRun));
    expect(early.stderr.trim()).toBe(
      `Run ${heldRun} is RUNNING (stage: awaiting-approval), and collaborate has not finished: no items to show yet.`,
    );
    await flt('approve', heldRun);
    await awaiting('evolve');
    const text = await flt('show', heldRun, 'justify', '--limit', '1');
    // The note is wrapped to the width like the items.
    expect(text.replace(/\s+/g, ' ')).toContain(
      `run ${heldRun} is RUNNING (stage: awaiting-approval); collaborate, justify and select have finished.`,
    );
    expect(text.match(/^item 1 of 24 · \S+$/gm)).toHaveLength(1); // through justify: no selection
    await flt('cancel', heldRun);
    await expect(client.workflow.getHandle(heldRun).result()).rejects.toThrow();
  });

  it('rejects a stage without items, a bad regex and an unknown run in one sentence each', async () => {
    const stage = await outcome(run('show', semievolRun, 'evolve'));
    expect(stage.code).toBe(2);
    expect(stage.stderr.trim()).toBe(
      'Stage "evolve" has no item view; in a SemiEvol run, collaborate, justify and select do ' +
        '(without a stage, the items through all of them).',
    );
    const regex = await outcome(run('show', semievolRun, '--grep', '(unclosed'));
    expect(regex.stderr.trim()).toMatch(/^--grep '\(unclosed' is not a regular expression: .+\.$/);
    const unknown = await outcome(run('show', `no-such-run-${process.pid}`));
    expect(unknown.stderr.trim()).toBe(
      `No run with id no-such-run-${process.pid} in this namespace; \`flt list\` shows the runs.`,
    );
  });
});
