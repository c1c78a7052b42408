// What `flt watch` draws from a run tree: the whole run's line, stage rows merged with their child workflows' shard
// progress and in-flight heartbeats, other children nested under their stage (kept once closed), fine-tune jobs,
// control state, spend, steady rates and time left, lines fitted to the terminal.
import {
  bar,
  fitToWidth,
  formatDuration,
  ProgressRates,
  renderFrame,
  SeenChildren,
  SpentHighWater,
} from '../../cli/watch-view';
import { emptyUsage } from '../../core/types';
import type { PendingActivity, RunNode } from '../../lib/run-tree';
import type { ControlState } from '../../core/workflow-messages';

const usage = (calls: number, costUsd: number) => ({ ...emptyUsage(), calls, promptTokens: 10 * calls, costUsd });
const control = (over: Partial<ControlState> = {}): ControlState => ({
  paused: false,
  awaiting: null,
  limits: { usd: 1 },
  spent: { usd: 0.2, tokens: 0 },
  training: { usd: 0.05, tokens: 100 },
  estimate: { usd: 0.8, tokens: 1000 },
  approved: [],
  ...over,
});
const node = (over: Partial<RunNode> & Pick<RunNode, 'workflowId' | 'type'>): RunNode => ({
  status: 'RUNNING',
  progress: null,
  control: null,
  activities: [],
  fineTuneJob: null,
  children: [],
  failure: null,
  ...over,
});
const stages = (current: string, names: string[]) =>
  names.map((stage, i) => ({ stage, done: i < names.indexOf(current) ? 1 : 0, total: 1 }));
const names = ['warm-up', 'propagate', 'collaborate', 'justify', 'evolve', 'evaluate'];

function run(current: string, children: RunNode[], over: Partial<RunNode> = {}): RunNode {
  return node({
    workflowId: 'r1',
    type: 'semievolRun',
    progress: { stage: current, stages: stages(current, names), usage: usage(100, 0.1) },
    control: control(),
    children,
    ...over,
  });
}

/** A pending activity, no heartbeat yet. */
const step = (type: string): PendingActivity => ({
  type,
  attempt: 1,
  heartbeat: null,
  lastFailure: null,
  nextAttemptAt: null,
});
const overBudget = {
  stage: 'evolve',
  kind: 'budget' as const,
  reason: 'stage "evolve" is over budget',
  estimate: {
    stage: 'evolve',
    units: 1,
    calls: 0,
    promptTokens: 0,
    completionTokens: 0,
    trainingTokens: 10,
    costUsd: 1,
    trainingUsd: 1,
    fineTune: true,
  },
};
const reviewing = {
  stage: 'evolve',
  what: 'pseudo-labels',
  items: 42,
  artifact: { uri: 'artifact:sha256/0', sha256: '0', count: 42, bytes: 1 },
};
/** SemiEvol's collaborate stage workflow with `done` of its 100 items in finished shards. */
const collaborateAt = (done: number) =>
  node({
    workflowId: 'r1--collaborate',
    type: 'collaborate',
    progress: {
      stage: 'collaborate',
      stages: [{ stage: 'collaborate', done: 0, total: 4, items: { done, total: 100 } }],
      usage: usage(0, 0),
    },
  });

const frame = (root: RunNode, rates = new ProgressRates(), now = 60_000) =>
  renderFrame({ root, startedAt: new Date(0), link: 'http://ui/r1', now, rates }).join('\n');

describe('flt watch frames', () => {
  it('formats durations and bars', () => {
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(125)).toBe('2m 05s');
    expect(formatDuration(7260)).toBe('2h 01m');
    expect(bar(0.5, 10)).toBe('█████░░░░░');
    expect(bar(2, 4)).toBe('████');
  });

  it("merges a stage's child workflow into its row: finished shards' items plus in-flight heartbeats", () => {
    const collaborate = node({
      workflowId: 'r1--collaborate',
      type: 'collaborate',
      progress: {
        stage: 'collaborate',
        stages: [{ stage: 'collaborate', done: 2, total: 6, items: { done: 40, total: 120 } }],
        usage: usage(50, 0.02),
      },
      activities: [
        {
          type: 'collaborateOnShard',
          attempt: 1,
          heartbeat: { done: 40, of: 80 },
          lastFailure: null,
          nextAttemptAt: null,
        },
      ],
    });
    const text = frame(run('collaborate', [collaborate]));
    expect(text).toContain('run r1 · semievolRun · RUNNING\n');
    expect(text).toContain('whole run: 2/6 stages done · now collaborate · 1m 00s elapsed · time left: unknown');
    expect(text).toMatch(/warm-up +✓ done/);
    // 40 items in finished shards + half of a 20-item shard in flight.
    expect(text).toMatch(/collaborate +█+░+ 50\/120 items {2}2\/6 shards/);
    expect(text).toMatch(/justify +· pending/);
    expect(text).not.toMatch(/r1--collaborate/);
    // Spend: the run's finished stages and the running child's finished shards; training is estimated.
    expect(text).toContain(
      'spent: 150 calls (0 from cache) · 1,500 tokens · $0.1200 in calls + $0.0500 training (estimated) · ' +
        'budget $1.00 · estimate up to $0.8000',
    );
  });

  const nesting =
    'nests children that are not a stage of their own under the current stage, ' +
    'and shows fine-tune jobs with their events';
  it(nesting, () => {
    const evaluation = (name: string, done: number) =>
      node({
        workflowId: `r1--${name}`,
        type: 'evaluateModel',
        progress: {
          stage: name,
          stages: [{ stage: name, done, total: 3, items: { done: 20 * done, total: 60 } }],
          usage: usage(0, 0),
        },
      });
    const text = frame(run('evaluate', [evaluation('evaluate-vanilla', 1), evaluation('evaluate-rag', 3)]));
    const lines = text.split('\n');
    const at = (label: string) => lines.findIndex((l) => l.trimStart().startsWith(label));
    expect(at('evaluate-vanilla')).toBe(at('evaluate ') + 1);
    expect(lines[at('evaluate-vanilla')]).toMatch(/^ {4}evaluate-vanilla +█+░+ 20\/60 items/);
    expect(lines[at('evaluate-rag')]).toMatch(/60\/60 items {2}done {2}3\/3 shards$/);

    const fineTune = node({
      workflowId: 'r1--evolve',
      type: 'fineTune',
      fineTuneJob: { jobId: 'ftjob-1', status: 'running', events: ['created', 'Step 1/10', 'Step 2/10', 'Step 3/10'] },
    });
    const withJob = frame(run('evolve', [fineTune]));
    expect(withJob).toMatch(/evolve +▸ running {2}job ftjob-1 running: Step 3\/10/);
    expect(withJob).toContain(
      'fine-tune jobs\n  evolve: ftjob-1 running\n      Step 1/10\n      Step 2/10\n      Step 3/10',
    );

    const withProgress = frame(
      run('evolve', [{ ...fineTune, fineTuneJob: { jobId: 'sftj-1', status: 'running', events: [], progress: 42 } }]),
    );
    expect(withProgress).toMatch(/evolve +▸ running {2}job sftj-1 running 42%/);
    expect(withProgress).toContain('fine-tune jobs\n  evolve: sftj-1 running 42%');
  });

  it("shows the share of each stage's prompt tokens the provider's prompt cache served, and the run's", () => {
    const cachedUsage = (promptTokens: number, cachedPromptTokens: number) => ({
      ...emptyUsage(),
      calls: 10,
      promptTokens,
      cachedPromptTokens,
    });
    const collaborate = node({
      workflowId: 'r1--collaborate',
      type: 'collaborate',
      progress: {
        stage: 'collaborate',
        stages: [{ stage: 'collaborate', done: 1, total: 2, items: { done: 10, total: 20 } }],
        usage: cachedUsage(1000, 600),
      },
    });
    const root = run('collaborate', [collaborate], {
      progress: {
        stage: 'collaborate',
        stages: stages('collaborate', names),
        usage: cachedUsage(400, 100),
        costs: [{ stage: 'propagate', usage: cachedUsage(400, 100), estimate: null }],
      },
    });
    const text = frame(root);
    expect(text).toMatch(/propagate +✓ done {2}prompt cache 25%/);
    expect(text).toMatch(/collaborate +█+░+ 10\/20 items {2}1\/2 shards, prompt cache 60%/);
    expect(text).not.toMatch(/justify .*prompt cache/);
    // 700 of the 1,400 prompt tokens counted so far.
    expect(text).toContain('tokens (prompt cache 50% of prompt)');
  });

  it("shows each finished stage's item failures in its row, in the words `flt result` uses", () => {
    const refused = { count: 1, of: 20, examples: [{ id: 'q7', message: '400 prompt too long' }] };
    const root = run('evolve', []);
    root.progress!.stages[2].itemFailures = { collaborate: refused };
    root.progress!.stages[3].itemFailures = { justify: { ...refused, of: 6 } };
    const text = frame(root);
    expect(text).toMatch(
      /collaborate +✓ done {2}collaborate: 1 of 20 items failed and were dropped: q7: 400 prompt too long/,
    );
    expect(text).toMatch(/justify +✓ done {2}justify: 1 of 6 items failed and were dropped: q7: 400 prompt too long/);

    const selfGuide = node({
      workflowId: 'sg1',
      type: 'selfGuideRun',
      progress: {
        stage: 'annotate-outputs',
        stages: [
          { stage: 'generate-inputs', done: 2, total: 2, itemFailures: { 'generate-inputs': { ...refused, of: 10 } } },
          { stage: 'annotate-outputs', done: 0, total: 1 },
        ],
        usage: usage(10, 0),
      },
    });
    const generated = 'generate-inputs: 1 of 10 items failed and were dropped: q7: 400 prompt too long';
    expect(frame(selfGuide)).toMatch(new RegExp(`generate-inputs +█+ 2/2 {2}done {2}${generated}`));
  });

  it("never shows less spent than an earlier frame, while a closed child's usage waits for its parent's ledger", () => {
    const evaluation = (name: string, calls: number) =>
      node({
        workflowId: `r1--${name}`,
        type: 'evaluateModel',
        progress: { stage: name, stages: [{ stage: name, done: 1, total: 1 }], usage: usage(calls, calls / 1000) },
      });
    const spent = new SpentHighWater();
    const spendOf = (root: RunNode) =>
      renderFrame({ root, startedAt: new Date(0), link: 'l', now: 1, rates: new ProgressRates(), spent })
        .join('\n')
        .match(/spent: .*/)![0];
    // The root's ledger: 100 calls; two evaluations running with 30 and 20 of their own.
    expect(spendOf(run('evaluate', [evaluation('vanilla', 30), evaluation('sft', 20)]))).toContain('spent: 150 calls');
    // vanilla closed: the tree has lost its 30 calls until the stage ends and the root's ledger adds them.
    expect(spendOf(run('evaluate', [evaluation('sft', 25)]))).toContain('spent: 150 calls');
    expect(spendOf(run('evaluate', [evaluation('sft', 60)]))).toContain('spent: 160 calls');
  });

  it('says what holds the run, all that hold at once, how many steps a pause lets finish, and what to run', () => {
    const waiting = frame(run('evolve', [], { control: control({ awaiting: overBudget }) }));
    expect(waiting).toContain(
      'AWAITING APPROVAL: stage "evolve" is over budget. ' +
        'Run `flt approve r1` for this stage, or raise the budget with `flt budget r1 --usd <dollars>`.',
    );
    expect(waiting).toMatch(/evolve +▸ running {2}awaiting approval$/m);

    const paused = frame(run('justify', [], { control: control({ paused: true }) }));
    expect(paused).toContain('PAUSED: nothing in flight; no new paid step starts. `flt unpause r1` resumes.');
    expect(paused).toMatch(/justify +▸ running {2}paused$/m);
    // Steps in flight anywhere in the run: two shards of the stage's workflow and one of the run's own.
    const justify = node({
      workflowId: 'r1--justify',
      type: 'justify',
      control: control({ paused: true }),
      activities: [step('justifyShard'), step('justifyShard')],
    });
    const finishing = frame(run('justify', [justify], { control: control({ paused: true }), activities: [step('x')] }));
    expect(finishing).toContain('PAUSED: 3 steps still finishing; no new paid step starts. `flt unpause r1` resumes.');

    const all = frame(
      run('evolve', [], {
        control: control({
          paused: true,
          awaiting: overBudget,
          review: reviewing,
        }),
      }),
    );
    expect(all).toContain('PAUSED: nothing in flight');
    expect(all).toContain('AWAITING APPROVAL: stage "evolve" is over budget.');
    expect(all).toContain(
      'AWAITING REVIEW: 42 pseudo-labels before stage "evolve". Run `flt review r1 --export FILE`, ' +
        'mark each item "accept" or "reject", then `flt review r1 --apply FILE`.',
    );
    expect(all).toMatch(/evolve +▸ running {2}awaiting approval, awaiting review, paused$/m);
    expect(all).toContain('time left: unknown while awaiting approval, awaiting review, paused');
    expect(frame(run('justify', [], { progress: null }))).toContain('No worker answered the progress query');
  });

  it('shows no rate or time left before the samples span 30 s, then the rate over the window', () => {
    const rates = new ProgressRates();
    frame(run('collaborate', [collaborateAt(10)]), rates, 0);
    expect(frame(run('collaborate', [collaborateAt(30)]), rates, 20_000)).toMatch(/30\/100 items {2}0\/4 shards$/m);
    expect(frame(run('collaborate', [collaborateAt(50)]), rates, 40_000)).toMatch(
      /50\/100 items {2}1\.0\/s {2}~50s left {2}0\/4 shards$/m,
    );
  });

  it('keeps the time left steady while shards finish in bursts and a total grows', () => {
    // 120 items in shards of 20 that finish one a minute, a frame every 2 s; at 4 minutes the stage gets 120 more.
    const rates = new ProgressRates();
    const seen: { t: number; perSecond: number; left: number }[] = [];
    for (let t = 0; t <= 360_000; t += 2000) {
      const estimate = rates.observe('collaborate', t, 20 * Math.floor(t / 60_000), t < 240_000 ? 120 : 240);
      if (t < 30_000) expect(estimate).toBeNull();
      if (estimate) seen.push({ t, perSecond: estimate.perSecond, left: estimate.secondsLeft });
    }
    expect(seen.length).toBeGreaterThan(100);
    const steps = seen.slice(1).map((b, i) => ({ a: seen[i], b }));
    // The rate over the window doubles from one frame to the next when a shard lands (the time left it gave jumped
    // from 9m 50s to 4m 00s)...
    expect(steps.some(({ a, b }) => b.perSecond > 1.9 * a.perSecond)).toBe(true);
    // ...while the time shown counts down with the clock, never drops below that by 5% in a frame and rises by
    // 15% at most when the stage's work doubles, reaching the new time left within a minute.
    for (const { a, b } of steps) {
      expect(b.t - a.t).toBe(2000);
      expect(b.left).toBeGreaterThan(0.95 * (a.left - 2));
      expect(b.left).toBeLessThan(1.15 * (a.left - 2));
    }
    expect(seen.find((s) => s.t === 300_000)!.left).toBeGreaterThan(400);
  });

  it("says the whole run's progress and time left where the stages' own estimates allow", () => {
    const evaluation = (done: number) =>
      node({
        workflowId: 'e1',
        type: 'evaluateModel',
        progress: {
          stage: 'evaluate',
          stages: [{ stage: 'evaluate', done: 1, total: 3, items: { done, total: 30 } }],
          usage: usage(0, 0),
        },
      });
    const rates = new ProgressRates();
    expect(frame(evaluation(10), rates, 0)).toContain(
      'whole run: 0/1 stages done · now evaluate · 0s elapsed · time left: unknown',
    );
    expect(frame(evaluation(20), rates, 40_000)).toContain(
      'whole run: 0/1 stages done · now evaluate · 40s elapsed · time left: ~40s',
    );
    // Later stages have no estimate of their own: the current one's is a lower bound.
    const semievol = new ProgressRates();
    frame(run('collaborate', [collaborateAt(10)]), semievol, 0);
    expect(frame(run('collaborate', [collaborateAt(50)]), semievol, 40_000)).toContain(
      'whole run: 2/6 stages done · now collaborate · 40s elapsed · time left: at least 50s',
    );
  });

  it('keeps finished child workflows in view with their final figures, under the stage they ran in', () => {
    const evaluation = (name: string, done: number, calls = 0) =>
      node({
        workflowId: `r1--${name}`,
        type: 'evaluateModel',
        progress: {
          stage: name,
          stages: [{ stage: name, done, total: 3, items: { done: 20 * done, total: 60 } }],
          usage: usage(calls, 0),
        },
        activities: [step('answerQuestions')],
      });
    const seen = new SeenChildren();
    seen.restore(run('evaluate', [evaluation('evaluate-vanilla', 2, 30), evaluation('evaluate-rag', 1)]));
    const later = run('evaluate', [evaluation('evaluate-rag', 2)]);
    expect(seen.gone(later)).toEqual(['r1--evaluate-vanilla']);
    seen.ended('r1--evaluate-vanilla', { status: 'COMPLETED', failure: null, fineTuneJob: null });
    expect(seen.gone(later)).toEqual([]);
    const lines = frame(seen.restore(later)).split('\n');
    const at = (label: string) => lines.findIndex((l) => l.trimStart().startsWith(label));
    expect(lines[at('evaluate-vanilla')]).toMatch(/^ {4}evaluate-vanilla +█{24} 60\/60 items {2}done {2}3\/3 shards$/);
    expect(lines[at('evaluate-rag')]).toMatch(/^ {4}evaluate-rag +█+░+ 40\/60 items {2}2\/3 shards$/);
    // A closed child's calls wait for its parent's ledger: the spend line counts the running ones only.
    expect(lines.find((l) => l.startsWith('spent:'))).toContain('spent: 100 calls');

    // One that failed says how; a fine-tune stage that completed, that its job succeeded. Each stays under the stage
    // it ran in after the run has moved on.
    seen.ended('r1--evaluate-rag', {
      status: 'FAILED',
      failure: 'activity answerQuestions failed: 400 bad request',
      fineTuneJob: null,
    });
    const evolve = node({
      workflowId: 'r1--evolve',
      type: 'fineTune',
      fineTuneJob: { jobId: 'ftjob-1', status: 'running', events: ['Step 9/10'] },
    });
    seen.restore(run('evolve', [evolve]));
    seen.ended('r1--evolve', { status: 'COMPLETED', failure: null, fineTuneJob: null });
    // The warm-up's fine-tune was seen only before its job started: its job comes from reading it closed.
    seen.restore(run('warm-up', [node({ workflowId: 'r1--warm-up', type: 'fineTune' })]));
    const warmUpJob = { jobId: 'ftjob-0', status: 'queued', events: ['created'] };
    seen.ended('r1--warm-up', { status: 'COMPLETED', failure: null, fineTuneJob: warmUpJob });
    const after = frame(seen.restore(run('justify', []))).split('\n');
    const row = (label: string) => after.findIndex((l) => l.trimStart().startsWith(label));
    expect(after[row('evaluate-rag')]).toMatch(
      /evaluate-rag +█+░+ 40\/60 items {2}2\/3 shards, FAILED: activity answerQuestions failed: 400 bad request$/,
    );
    expect([row('evaluate-vanilla'), row('evaluate-rag')]).toEqual([row('evaluate ') + 1, row('evaluate ') + 2]);
    expect(after[row('evolve')]).toMatch(/^ {2}evolve +✓ done {2}job ftjob-1 succeeded: Step 9\/10$/);
    expect(after[row('warm-up')]).toMatch(/^ {2}warm-up +✓ done {2}job ftjob-0 succeeded: created$/);
    expect(after.join('\n')).toContain('fine-tune jobs\n  evolve: ftjob-1 succeeded\n      Step 9/10');
    expect(after.join('\n')).toMatch(/justify +▸ running/);
  });

  it('wraps what holds the run onto lines of their own, each command whole, and cuts only the table', () => {
    const held = (collaborate: RunNode) =>
      run('collaborate', [collaborate], {
        control: control({
          paused: true,
          awaiting: overBudget,
          review: reviewing,
          limits: { usd: 1, tokens: 1_000_000 },
        }),
      });
    for (const width of [80, 160]) {
      const rates = new ProgressRates();
      const draw = (root: RunNode, now: number) =>
        fitToWidth(renderFrame({ root, startedAt: new Date(0), link: 'http://ui/r1', now, rates, width }), width);
      draw(held(collaborateAt(10)), 0);
      const lines = draw(held(collaborateAt(50)), 40_000);
      for (const line of lines) {
        expect(line.length).toBeLessThan(width);
        expect(line).not.toMatch(/`flt [^`]*$/);
      }
      const text = lines.join('\n');
      for (const command of [
        'flt unpause r1',
        'flt approve r1',
        'flt budget r1 --usd <dollars>',
        'flt review r1 --export FILE',
        'flt review r1 --apply FILE',
      ])
        expect(text).toContain(`\`${command}\``);
      // Wrapped lines read as the whole line did; the rate and time left come before what a cut may drop.
      const flat = text.replace(/\s+/g, ' ');
      expect(flat).toContain('token budget 1,000,000 · estimate up to $0.8000');
      expect(flat).toContain('web UI: http://ui/r1');
      expect(text).toMatch(/50\/100 items {2}1\.0\/s {2}~50s left/);
    }
    expect(fitToWidth(['PAUSED: nothing in flight. `flt unpause r1` resumes.', `  ${'x'.repeat(40)}`], 30)).toEqual([
      'PAUSED: nothing in flight.',
      '  `flt unpause r1` resumes.',
      `  ${'x'.repeat(26)}…`,
    ]);
  });
});

describe('flt watch frames of a stage sent through a Batch API', () => {
  const activity = (type: string, heartbeat: unknown, batch?: PendingActivity['batch']): PendingActivity => ({
    type,
    attempt: 1,
    heartbeat,
    lastFailure: null,
    nextAttemptAt: null,
    ...(batch ? { batch } : {}),
  });
  // A stage's workflow answers no progress query before its shards start: while its batches run it has none.
  const collaborate = (activities: PendingActivity[]) =>
    node({ workflowId: 'r1--collaborate', type: 'collaborate', activities });
  const part = (p: number) => ({ stage: 'collaborate-round-0-0', part: p, provider: 'openai' });

  it('shows each batch: its stage and part, status, answered and failed of total, id and poll error', () => {
    const waiting = collaborate([
      activity(
        'waitForStageBatch',
        { batchId: 'batch_abc', status: 'in_progress', done: 40, of: 80, failed: 2 },
        part(0),
      ),
      activity(
        'waitForStageBatch',
        { batchId: 'batch_def', status: 'unknown', done: null, of: null, failed: null, pollError: '503 busy\nretry' },
        part(1),
      ),
      // Validating: the provider has not counted the lines yet.
      activity('waitForStageBatch', { batchId: 'batch_ghi', status: 'validating', done: 0, of: 0, failed: 0 }, part(2)),
      // The history that names the batch could not be read.
      activity('waitForStageBatch', { batchId: 'b-9', status: 'completed', done: 5, of: 5, failed: 0 }),
    ]);
    const rates = new ProgressRates();
    frame(run('collaborate', [waiting]), rates, 10_000);
    const lines = frame(run('collaborate', [waiting]), rates, 20_000).split('\n');
    const row = lines.findIndex((l) => /^ {2}collaborate /.test(l));
    // No bar, rate or time left from the batches' counts: they are no share of the stage's shards.
    expect(lines[row]).toMatch(/^ {2}collaborate +▸ running {2}waiting for 4 batches$/);
    expect(lines.slice(row + 1, row + 5)).toEqual([
      '    batch collaborate-round-0-0 part 0 (openai): in_progress, 38 answered, 2 failed of 80, id batch_abc',
      '    batch collaborate-round-0-0 part 1 (openai): unknown, id batch_def, last poll failed: 503 busy retry',
      '    batch collaborate-round-0-0 part 2 (openai): validating, id batch_ghi',
      '    batch b-9: completed, 5 answered of 5',
    ]);
    expect(lines[row + 5]).toMatch(/^ {2}justify +· pending/);
  });

  it('shows the planning of a batch in shards planned', () => {
    const planning = collaborate([activity('planStageBatch', { done: 3, of: 6 })]);
    expect(frame(run('collaborate', [planning]))).toMatch(
      /\n {2}collaborate +▸ running {2}planning a batch: 3\/6 shards planned\n {2}justify /,
    );
  });

  it("adds no batch's counts to a SELF-GUIDE generation round's progress", () => {
    const selfGuide = node({
      workflowId: 'sg1',
      type: 'selfGuideRun',
      progress: {
        stage: 'generate-inputs',
        stages: [
          { stage: 'generate-inputs', done: 1, total: 4 },
          { stage: 'annotate-outputs', done: 0, total: 1 },
        ],
        usage: usage(10, 0),
      },
      activities: [
        activity(
          'waitForStageBatch',
          { batchId: 'batch_1', status: 'finalizing', done: 30, of: 30, failed: 0 },
          { stage: 'generate-inputs-round-1-0', part: 0, provider: 'openai' },
        ),
      ],
    });
    const lines = frame(selfGuide).split('\n');
    const row = lines.findIndex((l) => l.startsWith('  generate-inputs '));
    expect(lines[row]).toMatch(/generate-inputs +█{6}░{18} 1\/4 {2}waiting for a batch$/);
    expect(lines[row + 1]).toBe(
      '    batch generate-inputs-round-1-0 part 0 (openai): finalizing, 30 answered of 30, id batch_1',
    );
  });

  it('cuts a line with no space to wrap at to the terminal width', () => {
    expect(fitToWidth(['short', 'x'.repeat(100)], 80)).toEqual(['short', `${'x'.repeat(78)}…`]);
  });
});
