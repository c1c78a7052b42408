// What `flt watch` draws from a run tree: stage rows merged with their child workflows' shard progress and in-flight
// heartbeats, other children nested under the current stage, fine-tune jobs, control state, spend, rates.
import { bar, formatDuration, ProgressRates, renderFrame } from '../../cli/watch-view';
import { emptyUsage } from '../../core/types';
import type { RunNode } from '../../lib/run-tree';
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
    expect(text).toContain('run r1 · semievolRun · RUNNING · 1m 00s');
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
    expect(lines[at('evaluate-rag')]).toMatch(/60\/60 items {2}3\/3 shards {2}done/);

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
    expect(frame(selfGuide)).toMatch(new RegExp(`generate-inputs +█+ 2/2 {2}${generated} {2}done`));
  });

  it('says when the run is paused or waits for approval, and what to run', () => {
    const estimate = {
      stage: 'evolve',
      units: 1,
      calls: 0,
      promptTokens: 0,
      completionTokens: 0,
      trainingTokens: 10,
      costUsd: 1,
      trainingUsd: 1,
      fineTune: true,
    };
    const waiting = frame(
      run('evolve', [], {
        control: control({
          awaiting: { stage: 'evolve', kind: 'budget', reason: 'stage "evolve" is over budget', estimate },
        }),
      }),
    );
    expect(waiting).toContain(
      'AWAITING APPROVAL: stage "evolve" is over budget. ' +
        'Run `flt approve r1` for this stage, or raise the budget with `flt budget r1 --usd <dollars>`.',
    );
    expect(waiting).toMatch(/evolve +▸ running {2}awaiting approval/);
    const paused = frame(run('justify', [], { control: control({ paused: true }) }));
    expect(paused).toContain('PAUSED: no new paid step starts; steps in flight finish. `flt unpause r1` resumes.');
    expect(paused).toMatch(/justify +▸ running {2}paused/);
    expect(frame(run('justify', [], { progress: null }))).toContain('No worker answered the progress query');
  });

  it('computes a rate and the time left from earlier frames', () => {
    const rates = new ProgressRates();
    const at = (done: number) =>
      node({
        workflowId: 'r1--collaborate',
        type: 'collaborate',
        progress: {
          stage: 'collaborate',
          stages: [{ stage: 'collaborate', done: 0, total: 4, items: { done, total: 100 } }],
          usage: usage(0, 0),
        },
      });
    frame(run('collaborate', [at(10)]), rates, 10_000);
    const later = frame(run('collaborate', [at(30)]), rates, 20_000);
    expect(later).toMatch(/30\/100 items {2}0\/4 shards {2}2\.0\/s {2}~35s left/);
  });
});
