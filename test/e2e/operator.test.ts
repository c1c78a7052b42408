// Operating a SemiEvol run from the CLI against the real dev server, a worker process and the provider test double:
// estimate, run with a budget that stops it before a fine-tune and before an over-budget stage, approve, budget,
// pause and unpause, watch (as a process, and in tmux terminals 160 and 80 columns wide), report (drawn by Chromium),
// list and the search attributes in `temporal workflow list`. Every state the watcher is checked for is held until it
// has been seen: by the run itself (waiting, paused) or by provider faults (calls failing and retried, fine-tune polls
// failing).
import type { Client } from '@temporalio/client';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { searchAttributes } from '../../core/search-attributes';
import { findTemporalCli } from '../../lib/dev-server';
import { loadSemiEvolCsv } from '../../lib/datasets';
import { flatten, readRunTree } from '../../lib/run-tree';
import { controlQuery } from '../../core/workflow-messages';
import { drawnProbe, findChromium, headless, readProbe } from '../support/chromium';
import { startProviderDouble, type ProviderDouble } from '../support/provider-double';
import { temporalAddress, testClient } from '../support/temporal';

const exec = promisify(execFile);
const root = path.resolve(__dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const splits = { labeled: 12, unlabeled: 30, test: 15 };

/** Polls `check` until it returns a value (visibility and workflow progress are eventually consistent). */
async function until<T>(what: string, check: () => Promise<T | null | undefined | false>): Promise<T> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const value = await check().catch(() => null);
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('operating a run from the CLI', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'flt-operator-'));
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    FLT_HOME: home,
    FLT_TASK_QUEUE: `operator-${process.pid}`,
    FLT_OP_KEY: 'k',
  };
  const flt = (...args: string[]) => exec(tsx, [path.join(root, 'client.ts'), ...args], { env, cwd: root });
  const task = `fpb-operator-${process.pid}`;
  const runId = `operator-${Date.now()}`;
  let double: ProviderDouble;
  let worker: ChildProcess;
  let watcher: ChildProcess | undefined;
  let client: Client;
  let closeClient: () => Promise<void>;
  let config: string;
  const control = () => client.workflow.getHandle(runId).query(controlQuery);

  /** The counters a watch screen shows, which must never go back from one screen to the next. */
  type Counters = Record<'calls' | 'cached' | 'tokens' | 'usd' | 'stagesDone', number>;
  function countersOf(words: string): Counters {
    const spent = /spent: ([\d,]+) calls \(([\d,]+) from cache\) · ([\d,]+) tokens.*? \$([\d.]+) in calls/.exec(words);
    const stages = /whole run: (\d+)\/\d+ stages done/.exec(words);
    expect(spent && stages).toBeTruthy();
    const n = (figure: string) => Number(figure.replace(/,/g, ''));
    return {
      calls: n(spent![1]),
      cached: n(spent![2]),
      tokens: n(spent![3]),
      usd: n(spent![4]),
      stagesDone: n(stages![1]),
    };
  }
  /** `flt watch` in tmux terminals of two widths, from the first wait for approval on; none without tmux. */
  const terminals =
    spawnSync('tmux', ['-V']).status === 0
      ? [160, 80].map((width) => ({
          width,
          session: `flt-operator-${process.pid}-${width}`,
          last: null as Counters | null,
        }))
      : [];
  /**
   * Each terminal's screen once it shows `shows` (matched in words, so a wrapped line reads as one) and the whole
   * frame, down to the spend line's last figure. A frame's progress and control are read a moment apart, so one drawn
   * as the run moves on may mix two stages: `shows` names the stage with what holds it. Checks that the terminal
   * wrapped no line (`-J` joins what it wrapped), that no line cuts a command, that the Web UI link is whole, and that
   * no counter went back since the terminal's last screen.
   */
  async function screens(what: string, shows: RegExp): Promise<Record<number, string>> {
    const seen: Record<number, string> = {};
    for (const terminal of terminals) {
      const screen = await until(`watch at ${terminal.width} columns to show ${what}`, async () => {
        const pane = spawnSync('tmux', ['capture-pane', '-p', '-J', '-t', terminal.session], { encoding: 'utf8' });
        const words = pane.stdout.replace(/\s+/g, ' ');
        return shows.test(words) && /estimate up to \$[\d.]+ $/.test(words) && pane.stdout;
      });
      for (const line of screen.split('\n').map((l) => l.trimEnd())) {
        expect(line.length).toBeLessThan(terminal.width);
        expect(line).not.toMatch(/`flt [^`]*$/);
      }
      const words = screen.replace(/\s+/g, ' ');
      expect(words).toContain(`/workflows/${runId} `);
      const counters = countersOf(words);
      for (const [counter, value] of Object.entries(terminal.last ?? {}))
        expect(counters[counter as keyof Counters]).toBeGreaterThanOrEqual(value);
      terminal.last = counters;
      seen[terminal.width] = screen;
    }
    return seen;
  }

  beforeAll(async () => {
    // Small splits: the first rows of the bundled sample (two lines per row in these files).
    const data: Record<string, { format: string; path: string }> = {};
    for (const [split, rows] of Object.entries(splits)) {
      const file = path.join(home, `${split}.csv`);
      writeFileSync(
        file,
        readFileSync(path.join(root, `demo/fpb/${split}.csv`), 'utf8')
          .split('\n')
          .slice(0, 1 + 2 * rows)
          .join('\n') + '\n',
      );
      data[split] = { format: 'semievol-csv', path: file };
    }
    const gold = Object.values(data).flatMap((d) => loadSemiEvolCsv(d.path).items);
    double = await startProviderDouble({
      config: { fineTune: { stepMs: 300 }, latencyMs: 20 },
      gold: gold.map((i) => ({ question: i.question, answer: i.answer!, choices: ['A', 'B', 'C'] })),
    });
    worker = spawn(tsx, [path.join(root, 'worker.ts')], { env, cwd: root, stdio: 'ignore' });
    ({ client, close: closeClient } = await testClient());
    config = path.join(home, 'semievol.yaml');
    writeFileSync(
      config,
      stringify({
        method: 'semievol',
        task,
        providers: {
          double: {
            kind: 'openai-compatible',
            baseURL: double.baseURL,
            apiKeyEnv: 'FLT_OP_KEY',
            testDouble: true,
            prices: { inputPerMillionTokens: 1, outputPerMillionTokens: 1, trainingPerMillionTokens: 1 },
          },
        },
        model: { provider: 'double', model: 'sim-model' },
        data,
        fineTune: { backend: { kind: 'openai', provider: 'double', pollIntervalSeconds: 0.3 } },
        // Asks before each fine-tune; $0.01 is less than collaboration is estimated at.
        budget: { usd: 0.01, approveFineTunes: true },
        execution: { shardSize: 5, parallelShards: 2 },
      }),
    );
  });

  afterAll(async () => {
    for (const { session } of terminals) spawnSync('tmux', ['kill-session', '-t', session]);
    if (watcher?.exitCode === null) watcher.kill('SIGTERM');
    worker?.kill('SIGTERM');
    await new Promise((resolve) => (worker?.exitCode !== null ? resolve(null) : worker.once('exit', resolve)));
    await double?.stop();
    await closeClient?.();
  });

  it('estimates calls, tokens and cost per stage before anything is paid for', async () => {
    const { stdout } = await flt('estimate', config);
    expect(stdout).toContain(`semievol on "${task}"`);
    for (const stage of ['warm-up', 'propagate', 'collaborate', 'justify', 'evolve', 'evaluate', 'total'])
      expect(stdout).toMatch(new RegExp(`^ {2}${stage} +[\\d,]+ +[\\d,]+ +[\\d,]+ +[\\d,]+ +\\$\\d+\\.\\d{4}$`, 'm'));
    expect(stdout).toMatch(/^ {2}collaborate +120 /m); // 4 collaborators x 30 questions
    expect(stdout).toContain('over the budget');
    expect(await double.requests()).toHaveLength(0);
  });

  const operatedRun =
    'waits for approval before a fine-tune and before crossing the budget; pauses and unpauses; watch follows it all';
  // About 30 CLI processes, each a few seconds of tsx start-up on an idle machine and several times that on a loaded
  // one: the bound is for a hang, not for speed.
  it(
    operatedRun,
    async () => {
      const started = await flt('run', config, '--id', runId);
      expect(started.stdout).toMatch(
        /estimate: up to \$\d+\.\d{4} \(\d[\d,]* calls, [\d,]+ tokens, completions at their max tokens\)/,
      );
      let watched = '';
      watcher = spawn(tsx, [path.join(root, 'client.ts'), 'watch', runId, '--interval', '0.3'], { env, cwd: root });
      watcher.stdout!.setEncoding('utf8').on('data', (chunk: string) => (watched += chunk));
      const watcherDone = new Promise((resolve) => watcher!.once('exit', resolve));

      // 1. The warm-up fine-tune asks first: nothing is paid, and the run says so everywhere.
      const atWarmUp = await until(
        'the warm-up to wait for approval',
        async () => (await control()).awaiting?.stage === 'warm-up' && (await control()),
      );
      expect(atWarmUp.awaiting).toMatchObject({ kind: 'fine-tune' });
      expect((await flt('status', runId)).stdout).toMatch(
        /awaiting approval: stage "warm-up" fine-tunes .*Run `flt approve operator-\d+`\./,
      );
      expect(
        (await client.workflow.getHandle(runId).describe()).typedSearchAttributes.get(searchAttributes.stage),
      ).toBe('awaiting-approval');
      // What the Web UI shows as the run's current details.
      const metadata = await client.workflow
        .getHandle(runId)
        .query<{ currentDetails: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toMatch(
        new RegExp(
          String.raw`^\*\*Awaiting approval\*\*: stage "warm-up" fine-tunes .*\n\n` +
            String.raw`\*\*Stage\*\*: warm-up: stage 1 of 8: M_warm = fine-tune\(M_base, D_L\): 12 examples\n\n` +
            String.raw`\*\*Spent\*\*: USD 0\.0000, 0 tokens of a USD 0\.0100 budget$`,
        ),
      );
      // The Web UI renders details as Markdown: no "$" for it to pair into LaTeX, one list item per line.
      const details = await (await client.workflow.getHandle(runId).describe()).staticDetails();
      expect(details).toMatch(/^- method: semievol\n- task: /);
      expect(details).toMatch(/\n- budget: USD 0\.0100\n/);
      expect(`${details}${metadata.currentDetails}`).not.toContain('$');
      await until('list --stage awaiting-approval', async () =>
        (await flt('list', '--stage', 'awaiting-approval', '--task', task)).stdout.includes(runId),
      );
      // The live view in real terminals, kept open until the run's last wait for approval.
      const command =
        `cd ${root} && TEMPORAL_ADDRESS=${temporalAddress()} FLT_HOME=${home} ` +
        `${tsx} client.ts watch ${runId} --interval 0.5`;
      for (const { session, width } of terminals)
        spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', String(width), '-y', '40', command]);
      const atWarmUpScreens = await screens(
        'the warm-up waiting',
        /now warm-up · .* AWAITING APPROVAL: stage "warm-up"/,
      );
      if (terminals.length) {
        expect(atWarmUpScreens[160]).toMatch(new RegExp(`^run ${runId} · semievolRun · RUNNING$`, 'm'));
        expect(atWarmUpScreens[160]).toMatch(/^ {2}warm-up +▸ running {2}awaiting approval$/m);
        expect(atWarmUpScreens[160]).toMatch(
          /^whole run: 0\/8 stages done · now warm-up · \d.* elapsed · time left: unknown while awaiting approval$/m,
        );
        expect(atWarmUpScreens[80]).toMatch(new RegExp(`\`flt approve ${runId}\`\\.$`, 'm'));
      }
      expect((await double.requests()).filter((r) => r.method === 'POST')).toHaveLength(0);
      expect((await flt('approve', runId)).stdout).toContain(`approved stage "warm-up" of ${runId}.`);

      // 2. Collaboration is estimated over the $0.01 budget: it waits until the budget is raised.
      const atCollaborate = await until(
        'collaboration to wait for budget',
        async () => (await control()).awaiting?.stage === 'collaborate' && (await control()),
      );
      expect(atCollaborate.awaiting).toMatchObject({ kind: 'budget' });
      expect(atCollaborate.awaiting!.reason).toMatch(/over its USD 0\.0100 budget/);
      expect((await double.requests()).filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
      await until('watch to show the wait for budget', async () =>
        watched.includes('AWAITING APPROVAL: stage "collaborate" is estimated at up to'),
      );
      const atBudgetScreens = await screens(
        'the wait for budget',
        /now collaborate · .* AWAITING APPROVAL: stage "collaborate"/,
      );
      if (terminals.length)
        expect(atBudgetScreens[80]).toMatch(new RegExp(`\`flt budget ${runId} --usd <dollars>\`\\.$`, 'm'));
      // Every model call fails for now (and is retried), which holds collaboration mid-stage for the pause below.
      await double.configure({ faults: { rate: 1, kinds: ['500'], paths: '^/v1/chat' } });
      expect((await flt('budget', runId, '--usd', '100')).stdout).toMatch(
        new RegExp(`^budget of ${runId}: \\$100\\.00; spent \\$0\\.\\d{4}`),
      );
      const collaborate = client.workflow.getHandle(`${runId}--collaborate`);
      await until('collaboration to have shards in flight', async () => {
        const { status, raw } = await collaborate.describe();
        return status.name === 'RUNNING' && !!raw.pendingActivities?.length;
      });

      // 3. Paused: the run and its running stage workflow start nothing new; the shards in flight (their calls
      // failing, so held in flight) finish, and the view counts them until none is left.
      expect((await flt('pause', runId)).stdout).toMatch(
        new RegExp(`^paused ${runId} and 1 running stage workflow\\(s\\)`),
      );
      await until('watch to count the steps still finishing', async () =>
        /PAUSED: [1-9]\d* steps? still finishing; no new paid step starts/.test(watched),
      );
      await screens('the steps still finishing', /PAUSED: [1-9]\d* steps? still finishing/);
      await double.configure({ faults: { rate: 0 } });
      const quiet = await until('the paused run to have nothing in flight', async () => {
        const tree = await readRunTree(client, runId);
        return tree.control?.paused && flatten(tree).every((n) => n.activities.length === 0) && tree;
      });
      const held = quiet.children.find((c) => c.workflowId === `${runId}--collaborate`)!;
      expect(held.status).toBe('RUNNING');
      expect(held.progress!.stages[0].done).toBeLessThan(held.progress!.stages[0].total);
      expect(
        (await client.workflow.getHandle(runId).describe()).typedSearchAttributes.get(searchAttributes.stage),
      ).toBe('paused');
      await until('list --stage paused', async () =>
        (await flt('list', '--stage', 'paused', '--task', task)).stdout.includes(runId),
      );
      await until(
        'watch to show the paused stage',
        async () =>
          watched.includes('PAUSED: nothing in flight; no new paid step starts') &&
          /collaborate +[█░]{24} \d+\/30 items {2}\d\/6 shards, paused/.test(watched),
      );
      const pausedScreens = await screens('nothing in flight', /PAUSED: nothing in flight/);
      if (terminals.length) {
        expect(pausedScreens[160]).toMatch(/time left: unknown while paused$/m);
        expect(pausedScreens[80]).toMatch(new RegExp(`\`flt unpause ${runId}\` resumes\\.$`, 'm'));
      }
      expect((await flt('unpause', runId)).stdout).toMatch(
        new RegExp(`^unpaused ${runId} and 1 running stage workflow\\(s\\)`),
      );

      // 4. M_evol's fine-tune asks too. Approved, its job is watched (its polls fail for a while, which holds it
      // running).
      await until('evolve to wait for approval', async () => (await control()).awaiting?.stage === 'evolve');
      // Earlier stages' workflows have closed: each stays in view as done, with its final figures.
      const atEvolveScreens = await screens(
        'evolve waiting',
        /5\/8 stages done · now evolve · .* AWAITING APPROVAL: stage "evolve"/,
      );
      if (terminals.length) {
        expect(atEvolveScreens[160]).toMatch(/^ {2}collaborate +█{24} 30\/30 items {2}done {2}6\/6 shards/m);
        expect(atEvolveScreens[160]).toMatch(/^whole run: 5\/8 stages done · now evolve · /m);
      }
      await double.configure({ faults: { rate: 1, kinds: ['500'], paths: '^/v1/fine_tuning/jobs/[^/]+$' } });
      expect((await flt('approve', runId)).stdout).toContain(`approved stage "evolve" of ${runId}.`);
      // Within one frame's list of jobs (no blank line), after the warm-up's where the view saw it run.
      await until('watch to show the fine-tune job', async () =>
        /fine-tune jobs\n(?:.+\n)*? {2}evolve: ftjob-\S+ running\n(?: {6}.*\n)*? {6}poll failed, will poll again/.test(
          watched,
        ),
      );
      await double.configure({ faults: { rate: 0 } });
      expect((await control()).approved).toEqual(['warm-up', 'evolve']);
      const result = await client.workflow.getHandle(runId).result();
      expect(result.evaluations.semievol.score.total).toBe(splits.test);
      expect(result.costs.map((c: { stage: string }) => c.stage)).toEqual([
        'warm-up',
        'propagate',
        'collaborate',
        'justify',
        'evolve',
        'evaluate',
      ]);

      // The watcher ends with the result.
      await watcherDone;
      expect(watched).toMatch(new RegExp(`run ${runId} · semievolRun · COMPLETED after`));
      expect(watched).toMatch(/SemiEvol \(double\/ft:sim-model\S*\): accuracy 0\.\d{3} \(\d+\/15\)/);
    },
    900_000,
  );

  it('writes a report of the finished run, whose charts Chromium draws', async () => {
    const out = path.join(home, 'reports');
    const { stdout } = await flt('report', runId, '--out', out);
    expect(stdout).toContain(`report: ${path.join(out, `${runId}.html`)}`);
    const html = readFileSync(path.join(out, `${runId}.html`), 'utf8');
    expect([...html.matchAll(/data-chart="(\w+)"/g)].map((m) => m[1])).toEqual(['bars', 'histogram', 'funnel', 'bars']);
    expect(readFileSync(path.join(out, `${runId}.md`), 'utf8')).toMatch(/^## Entropy of the pseudo-labels$/m);
    const chromium = findChromium();
    if (!chromium)
      return console.warn(
        'report not drawn: no chromium on PATH (`apt-get install chromium`, or `npm run setup` as root on Debian)',
      );
    const probe = path.join(out, 'probe.html');
    writeFileSync(probe, html.replace('</body>', `${drawnProbe}</body>`));
    const charts = readProbe(await headless(chromium, probe, { dumpDom: true }));
    expect(charts.map((c) => c.chart)).toEqual(['bars', 'histogram', 'funnel', 'bars']);
    for (const c of charts) {
      expect(c.marks).toBeGreaterThan(0);
      expect(c.drawn).toBeGreaterThan(0);
    }
    expect(charts[0]).toMatchObject({ marks: 4, drawn: 4 }); // vanilla, SFT, SemiEvol, RAG
    expect(charts[1].drawn).toBe(charts[1].marks); // every non-empty bin and the threshold
  });

  it('finds the run with each `flt list` filter and by each search attribute in `temporal workflow list`', async () => {
    for (const filter of [
      ['--method', 'semievol'],
      ['--task', task],
      ['--stage', 'done'],
      ['--status', 'Completed'],
    ]) {
      await until(`flt list ${filter.join(' ')}`, async () =>
        (await flt('list', ...filter, '--limit', '1000')).stdout.includes(runId),
      );
    }
    const cli = findTemporalCli()!;
    for (const clause of [
      `FltMethod = 'semievol'`,
      `FltTask = '${task}'`,
      `FltStage = 'done'`,
      `FltBaseModel = 'sim-model'`,
      'FltCostUsd > 0',
      'FltAccuracy >= 0',
    ]) {
      await until(`temporal workflow list --query "${clause}"`, async () => {
        const { stdout } = await exec(cli, [
          'workflow',
          'list',
          '--address',
          temporalAddress(),
          '--query',
          `WorkflowId = '${runId}' AND ${clause}`,
        ]);
        return stdout.includes(runId);
      });
    }
  });
});
