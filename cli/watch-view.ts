// What `flt watch` draws, as plain lines: the whole run's progress and time left, what holds it, its stages with
// progress bars (items done of total, rate, time left), its stage workflows (running, and finished ones kept from
// earlier frames) nested under their stage, the provider batches a stage waits for, the items each finished stage's
// provider refused, fine-tune jobs with their last events, and what it has spent against its budget.
// Pure: the frame depends only on the run tree, the clock and what earlier frames saw (rates, spend, children).
import { stageItemFailuresLines } from '../core/contracts';
import { promptCacheShare, type StageUsage } from '../core/types';
import { approvalHint, reviewHint, type ControlState, type StageProgress } from '../core/workflow-messages';
import type { RunNode } from '../lib/run-tree';
import { flatten } from '../lib/run-tree';

/** A row's measured rate and the time left it shows. */
export interface Estimate {
  perSecond: number;
  secondsLeft: number;
}

/**
 * Rates and time left per row over a sliding window. Shards that finish in bursts, a stage's first few samples and a
 * total that changes all move the raw estimate by large steps between two frames; so no estimate is shown before the
 * samples span `settleMs`, and the time shown counts down with the clock and moves toward the raw estimate only by
 * exponential smoothing (time constant `smoothingMs`), whatever the frame interval.
 */
export class ProgressRates {
  private readonly samples = new Map<string, { t: number; value: number }[]>();
  private readonly shown = new Map<string, { t: number; left: number }>();

  constructor(
    private readonly windowMs = 120_000,
    private readonly settleMs = 30_000,
    private readonly smoothingMs = 30_000,
  ) {}

  /** Records `value` of `total` at time `t` (ms); the estimate to show, or null while there is none. */
  observe(key: string, t: number, value: number, total: number): Estimate | null {
    const seen = (this.samples.get(key) ?? []).filter((s) => t - s.t <= this.windowMs && s.value <= value);
    seen.push({ t, value });
    this.samples.set(key, seen);
    const first = seen[0];
    const perSecond = t - first.t >= this.settleMs ? (value - first.value) / ((t - first.t) / 1000) : 0;
    if (perSecond <= 0) {
      this.shown.delete(key);
      return null;
    }
    const raw = (total - value) / perSecond;
    const last = this.shown.get(key);
    let left = raw;
    if (last) {
      const countdown = Math.max(0, last.left - (t - last.t) / 1000);
      left = countdown + (raw - countdown) * (1 - Math.exp(-(t - last.t) / this.smoothingMs));
    }
    this.shown.set(key, { t, left });
    return { perSecond, secondsLeft: left };
  }

  /** Drops a row's samples: a held stage makes no progress, and its rate after the hold starts afresh. */
  forget(key: string): void {
    this.samples.delete(key);
    this.shown.delete(key);
  }
}

/** The spend line's figures, summed over the run tree. */
interface SpentFigures {
  calls: number;
  cached: number;
  tokens: number;
  promptTokens: number;
  cachedPromptTokens: number;
  usd: number;
}

/**
 * Keeps the spend line from going back between frames: a child workflow's usage leaves the tree when it closes,
 * while its parent's ledger counts it only once the whole stage has finished (SemiEvol's four evaluations).
 */
export class SpentHighWater {
  private shown: SpentFigures | null = null;

  hold(current: SpentFigures): SpentFigures {
    const max = (figure: keyof SpentFigures) => Math.max(current[figure], this.shown?.[figure] ?? 0);
    this.shown = {
      calls: max('calls'),
      cached: max('cached'),
      tokens: max('tokens'),
      promptTokens: max('promptTokens'),
      cachedPromptTokens: max('cachedPromptTokens'),
      usd: max('usd'),
    };
    return this.shown;
  }
}

/**
 * Keeps a run's child workflows in the view after they close: Temporal lists only running children, so a stage's
 * finished evaluations or an earlier stage's shards would drop out. Each child's last snapshot stays under its parent,
 * with how it ended (read once per child by the caller) and, when it completed, its counts at their totals.
 */
export class SeenChildren {
  /** Each parent's children in the order first seen, as last seen running. */
  private readonly byParent = new Map<string, Map<string, RunNode>>();
  /** The parent's stage when each child was first seen. */
  private readonly placed = new Map<string, string>();
  private readonly ends = new Map<string, Pick<RunNode, 'status' | 'failure' | 'fineTuneJob'>>();

  /** Children seen in earlier trees that `root` lacks and whose end is not known yet. */
  gone(root: RunNode): string[] {
    const live = new Set(flatten(root).map((n) => n.workflowId));
    return [...this.byParent.values()]
      .flatMap((children) => [...children.keys()])
      .filter((id) => !live.has(id) && !this.ends.has(id));
  }

  /**
   * How a child that left the tree ended, as `readRunTree` reads it closed; a child still running (the tree missed it)
   * keeps its last snapshot.
   */
  ended(workflowId: string, end: Pick<RunNode, 'status' | 'failure' | 'fineTuneJob'>): void {
    if (end.status !== 'RUNNING') this.ends.set(workflowId, end);
  }

  /** `root` with every child seen before back under its parent. */
  restore(root: RunNode): RunNode {
    return this.withChildren(root, true);
  }

  private withChildren(node: RunNode, live: boolean): RunNode {
    const seen = this.byParent.get(node.workflowId) ?? new Map<string, RunNode>();
    this.byParent.set(node.workflowId, seen);
    if (live)
      for (const child of node.children) {
        seen.set(child.workflowId, child);
        // A stage run again under the same id is live again.
        this.ends.delete(child.workflowId);
        if (!this.placed.has(child.workflowId) && node.progress) this.placed.set(child.workflowId, node.progress.stage);
      }
    const children = [...seen.values()].map((child) => {
      const running = live && node.children.includes(child);
      const stageOfParent = this.placed.get(child.workflowId);
      return {
        ...this.withChildren(running ? child : this.closed(child), running),
        ...(stageOfParent ? { stageOfParent } : {}),
      };
    });
    return { ...node, children };
  }

  private closed(last: RunNode): RunNode {
    const end = this.ends.get(last.workflowId);
    if (!end) return last;
    // A completed stage workflow finished every step, and a completed fine-tune's job succeeded (the view may have
    // seen it only before its job started).
    const completed = end.status === 'COMPLETED';
    const job = last.fineTuneJob ?? end.fineTuneJob;
    const finished = (s: StageProgress): StageProgress => ({
      ...s,
      done: s.total,
      ...(s.items ? { items: { ...s.items, done: s.items.total } } : {}),
    });
    return {
      ...last,
      status: end.status,
      failure: end.failure,
      control: null,
      activities: [],
      progress:
        last.progress && completed ? { ...last.progress, stages: last.progress.stages.map(finished) } : last.progress,
      fineTuneJob: job && completed ? { ...job, status: 'succeeded' } : job,
    };
  }
}

/** `ended`: a child workflow that closed without completing. */
type RowState = 'done' | 'running' | 'pending' | 'ended';

interface Row {
  key: string;
  depth: number;
  label: string;
  state: RowState;
  /** Progress in `unit`s; total 0 for rows without a measure (a fine-tune wait, a header). */
  value: number;
  total: number;
  unit: string;
  note: string;
  /** Paused or waiting for the operator: no rate or time left. */
  held?: boolean;
  /** Lines under the row: the batches its stage waits for. */
  details?: string[];
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export const formatUsd = (usd: number) => `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

export function bar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** A child's name under its parent: the stage part of `<parent id>--<stage>`. */
const nameOf = (node: RunNode, parent: RunNode) =>
  node.workflowId.startsWith(`${parent.workflowId}--`)
    ? node.workflowId.slice(parent.workflowId.length + 2)
    : node.workflowId;

/**
 * What a stage sent through a Batch API does before its shards run, by activity. Their heartbeats count shards planned
 * and a batch's lines, not a step's share: they add nothing to the stage's progress.
 */
const batchPhases: Record<string, (n: number) => string> = {
  planStageBatch: () => 'planning a batch',
  startStageBatch: (n) => (n > 1 ? `sending ${n} batches` : 'sending a batch'),
  waitForStageBatch: (n) => (n > 1 ? `waiting for ${n} batches` : 'waiting for a batch'),
  collectStageBatch: (n) => (n > 1 ? `downloading ${n} batches' results` : "downloading a batch's results"),
  storeStageBatchAnswers: () => 'storing batch answers',
};

/** Where a node's stage is in its batches, e.g. `waiting for 2 batches`; empty when it has none in flight. */
export function batchPhase(node: RunNode): string {
  return Object.entries(batchPhases)
    .map(([type, phase]) => {
      const activities = node.activities.filter((a) => a.type === type);
      if (!activities.length) return '';
      const planned = type === 'planStageBatch' ? (activities[0].heartbeat as { done?: unknown; of?: unknown }) : null;
      return typeof planned?.done === 'number' && typeof planned.of === 'number'
        ? `${phase(1)}: ${planned.done}/${planned.of} shards planned`
        : phase(activities.length);
    })
    .filter(Boolean)
    .join(', ');
}

interface BatchHeartbeat {
  batchId?: string;
  status?: string;
  done?: number | null;
  of?: number | null;
  failed?: number | null;
  pollError?: string;
}

/** One line per batch the node waits for: which, its status, lines answered and failed of all, id, poll error. */
export function batchLines(node: RunNode): string[] {
  return node.activities
    .filter((a) => a.type === 'waitForStageBatch')
    .map((a) => {
      const h = (a.heartbeat ?? {}) as BatchHeartbeat;
      const which = a.batch ? `${a.batch.stage} part ${a.batch.part} (${a.batch.provider})` : (h.batchId ?? '?');
      const parts = [h.status ?? 'not polled yet'];
      // A batch still validating reports a total of 0: its lines are not counted yet.
      if (typeof h.done === 'number' && h.of !== 0) {
        const failed = h.failed ?? 0;
        const of = typeof h.of === 'number' ? ` of ${h.of}` : '';
        parts.push(`${h.done - failed} answered${failed ? `, ${failed} failed` : ''}${of}`);
      }
      if (a.batch && h.batchId) parts.push(`id ${h.batchId}`);
      if (h.pollError) parts.push(`last poll failed: ${clip(h.pollError)}`);
      return `batch ${which}: ${parts.join(', ')}`;
    });
}

/** Shares of in-flight activities done, from their `{done, of}` heartbeats: fractions of a step each. */
function inFlight(node: RunNode): number {
  return node.activities.reduce((sum, a) => {
    if (a.type in batchPhases) return sum;
    const h = a.heartbeat as { done?: unknown; of?: unknown } | null;
    return typeof h?.done === 'number' && typeof h.of === 'number' && h.of > 0 ? sum + Math.min(1, h.done / h.of) : sum;
  }, 0);
}

/** ` 42%` where the provider reports how much of the training is done, else nothing. */
const percentOf = (job: { progress?: number | null }) =>
  typeof job.progress === 'number' ? ` ${Math.round(job.progress)}%` : '';

function fineTuneNote(node: RunNode): string {
  const job = node.fineTuneJob;
  if (!job) return node.status === 'RUNNING' ? 'starting a fine-tune job' : '';
  const last = job.events.at(-1);
  return `job ${job.jobId} ${job.status}${percentOf(job)}${last ? `: ${last}` : ''}`;
}

/** A provider's message on one line (a line break would defeat cutting the view to the terminal's width), shortened. */
function clip(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** How a child workflow that closed without completing ended, e.g. `FAILED: activity x failed: ...`; else empty. */
function endNote(node: RunNode): string {
  if (node.status === 'RUNNING' || node.status === 'COMPLETED') return '';
  return node.failure ? `${node.status}: ${clip(node.failure)}` : node.status;
}

/** The state of a row without a measure of its own: its workflow's. */
const stateOf = (node: RunNode): RowState =>
  node.status === 'RUNNING' ? 'running' : node.status === 'COMPLETED' ? 'done' : 'ended';

/** Activities of a node in retry: each one's attempt, last failure and when it tries again. */
export function retryNotes(node: RunNode, now: number): string[] {
  return node.activities
    .filter((a) => a.attempt > 1 || a.lastFailure)
    .map((a) => {
      const wait = a.nextAttemptAt ? (a.nextAttemptAt.getTime() - now) / 1000 : 0;
      const next = wait >= 1 ? `in ${formatDuration(wait)}` : 'now';
      const last = clip(a.lastFailure ?? 'unknown');
      return `retrying ${a.type} attempt ${a.attempt}, last failure: ${last}, next try ${next}`;
    });
}

/** What holds a stage back, all that apply: an approval or a review it waits for, a pause. */
function holdsOf(control: ControlState | null, stage?: string): string[] {
  if (!control) return [];
  return [
    control.awaiting && (stage === undefined || control.awaiting.stage === stage) ? 'awaiting approval' : '',
    control.review && (stage === undefined || control.review.stage === stage) ? 'awaiting review' : '',
    control.paused ? 'paused' : '',
  ].filter(Boolean);
}

/** A stage's usage so far: its line in the run's ledger, or a one-stage workflow's own. */
function stageUsageOf(node: RunNode, stage: string): StageUsage | undefined {
  const progress = node.progress;
  if (progress?.costs) return progress.costs.find((c) => c.stage === stage)?.usage;
  return progress?.stages.length === 1 ? progress.usage : undefined;
}

/** How much of a stage's prompt the provider's prompt cache served, where it served any. */
function promptCacheNote(usage: StageUsage | undefined): string {
  const share = usage ? promptCacheShare(usage) : null;
  return share === null ? '' : `prompt cache ${Math.round(share * 100)}%`;
}

function progressRow(
  node: RunNode,
  stage: StageProgress,
  depth: number,
  label: string,
  current: boolean,
  now: number,
  usage = stageUsageOf(node, stage.stage),
): Row {
  const flight = current ? inFlight(node) : 0;
  const retries = current ? retryNotes(node, now) : [];
  const steps = Math.min(stage.total, stage.done + flight);
  const ended = endNote(node);
  const state: RowState =
    stage.done >= stage.total ? 'done' : ended ? 'ended' : current || steps > 0 ? 'running' : 'pending';
  const key = `${node.workflowId}/${stage.stage}`;
  const holds = state === 'running' ? holdsOf(node.control, stage.stage) : [];
  const failures = stageItemFailuresLines(stage.itemFailures);
  const batch = current ? batchPhase(node) : '';
  const details = current ? batchLines(node) : [];
  const cache = promptCacheNote(usage);
  const notes = [batch, ...holds, cache, ...retries, ...failures, state === 'ended' ? ended : ''];
  const held = holds.length > 0;
  if (stage.items && stage.total > 0) {
    // In-flight shards count by their heartbeats' share, at the stage's mean shard size.
    const value = Math.min(stage.items.total, stage.items.done + flight * (stage.items.total / stage.total));
    return {
      key,
      depth,
      label,
      state,
      value,
      total: stage.items.total,
      unit: 'items',
      note: [`${stage.done}/${stage.total} shards`, ...notes].filter(Boolean).join(', '),
      held,
      details,
    };
  }
  return {
    key,
    depth,
    label,
    state,
    value: steps,
    total: stage.total,
    unit: '',
    note: notes.filter(Boolean).join(', '),
    held,
    details,
  };
}

/**
 * A node's rows: a one-stage workflow is one row; a multi-stage one lists its stages, its children that are no stage
 * of their own under the stage they ran in.
 */
function rowsFor(node: RunNode, depth: number, label: string, now: number): Row[] {
  if (node.type === 'fineTune')
    return [
      {
        key: node.workflowId,
        depth,
        label,
        state: stateOf(node),
        value: 0,
        total: 0,
        unit: '',
        note: [fineTuneNote(node), ...retryNotes(node, now), endNote(node)].filter(Boolean).join(', '),
      },
    ];
  const stages = node.progress?.stages ?? [];
  if (depth > 0 && stages.length === 1 && !node.children.length)
    return [progressRow(node, stages[0], depth, label, true, now)];

  const rows: Row[] = [];
  const inner = depth === 0 ? 0 : depth + 1;
  if (depth > 0)
    rows.push({
      key: node.workflowId,
      depth,
      label,
      state: stateOf(node),
      value: 0,
      total: 0,
      unit: '',
      note:
        node.status !== 'RUNNING'
          ? endNote(node)
          : node.progress
            ? `stage ${node.progress.stage}`
            : 'no worker answered',
    });
  // Children that are not a stage of their own (SemiEvol's four evaluations, the campaign's branches) go under the
  // stage that was current when they were first seen, else the current one.
  const names = new Set(stages.map((s) => s.stage));
  const others = node.children.filter((c) => !names.has(nameOf(c, node)));
  const placeOf = (c: RunNode) => c.stageOfParent ?? node.progress?.stage;
  const nested = (stage: string | undefined) =>
    others.filter((c) => placeOf(c) === stage).flatMap((c) => rowsFor(c, inner + 1, nameOf(c, node), now));
  for (const stage of stages) {
    const child = node.children.find((c) => nameOf(c, node) === stage.stage);
    // A stage's workflow answers progress once its shards start; before that (its batches, hours of them) the
    // parent's count of the stage stands for it.
    const own = child?.progress?.stages ?? (child && batchPhase(child) ? [stage] : []);
    if (child && child.type !== 'fineTune' && own.length === 1) {
      // Once the stage has ended, the parent's entry and ledger hold its complete failures and usage.
      const figures = { ...own[0], itemFailures: stage.itemFailures ?? own[0].itemFailures };
      const usage = stageUsageOf(node, stage.stage) ?? stageUsageOf(child, own[0].stage);
      rows.push({
        ...progressRow(child, figures, inner, stage.stage, true, now, usage),
        key: `${node.workflowId}/${stage.stage}`,
      });
    } else if (child) {
      rows.push(...rowsFor(child, inner, stage.stage, now));
    } else {
      rows.push(progressRow(node, stage, inner, stage.stage, stage.stage === node.progress?.stage, now));
    }
    rows.push(...nested(stage.stage));
  }
  const unplaced = others.filter((c) => !names.has(placeOf(c) ?? ''));
  if (unplaced.length) {
    const rest = unplaced.flatMap((c) => rowsFor(c, inner + 1, nameOf(c, node), now));
    const lastRunning = rows.map((r) => r.state).lastIndexOf('running');
    rows.splice(lastRunning >= 0 ? lastRunning + 1 : rows.length, 0, ...rest);
  }
  return rows;
}

/** A row as a line, and the time left it shows. */
function rowLine(
  row: Row,
  labelWidth: number,
  barWidth: number,
  rates: ProgressRates,
  now: number,
): { line: string; secondsLeft: number | null } {
  const label = `${'  '.repeat(row.depth + 1)}${row.label}`.padEnd(labelWidth);
  if (row.total === 0 || (row.total === 1 && !row.unit)) {
    const marks: Record<RowState, string> = {
      done: '✓ done',
      running: '▸ running',
      pending: '· pending',
      ended: '✗ ended',
    };
    return { line: `${label} ${marks[row.state]}${row.note ? `  ${row.note}` : ''}`, secondsLeft: null };
  }
  // A row whose measure changes (the parent's count of a stage, then its workflow's items) starts its rate afresh.
  const key = `${row.key} ${row.unit}`;
  if (row.held) rates.forget(key);
  const estimate = row.state === 'running' && !row.held ? rates.observe(key, now, row.value, row.total) : null;
  const shown =
    row.unit === 'items'
      ? thousands(Math.floor(row.value))
      : Number.isInteger(row.value)
        ? String(row.value)
        : row.value.toFixed(1);
  const parts = [
    `${bar(row.value / row.total, barWidth)} ${shown}/${thousands(row.total)}${row.unit ? ` ${row.unit}` : ''}`,
  ];
  // What the row's state says comes before its note, which a narrow terminal cuts.
  if (row.state === 'done') parts.push('done');
  else if (estimate) {
    const rate = estimate.perSecond;
    parts.push(
      `${rate >= 1 ? rate.toFixed(1) : rate.toPrecision(2)}/s`,
      `~${formatDuration(estimate.secondsLeft)} left`,
    );
  }
  if (row.note) parts.push(row.note);
  return { line: `${label} ${parts.join('  ')}`, secondsLeft: estimate?.secondsLeft ?? null };
}

/** Activities in flight anywhere in the run: a pause lets them finish. */
const activitiesInFlight = (root: RunNode) => flatten(root).reduce((n, node) => n + node.activities.length, 0);

function controlLines(root: RunNode): string[] {
  const { control, workflowId: runId } = root;
  if (!control) return [];
  const lines: string[] = [];
  if (control.paused) {
    const steps = activitiesInFlight(root);
    const flight = steps ? `${steps} step${steps > 1 ? 's' : ''} still finishing` : 'nothing in flight';
    lines.push(`PAUSED: ${flight}; no new paid step starts. \`flt unpause ${runId}\` resumes.`);
  }
  if (control.awaiting)
    lines.push(`AWAITING APPROVAL: ${control.awaiting.reason}. ${approvalHint(runId, control.awaiting)}`);
  if (control.review) {
    const { what, items, stage } = control.review;
    lines.push(`AWAITING REVIEW: ${thousands(items)} ${what} before stage "${stage}". ${reviewHint(runId)}`);
  }
  return lines;
}

/**
 * The whole run on one line: stages done of all, the current one, time elapsed and left. Time left is known only
 * where every unfinished stage shows its own (they then run side by side); where some do, it is at least the longest
 * of those; a pause or a wait for the operator makes it unknown.
 */
function runLine(root: RunNode, left: Map<string, number | null>, elapsed: string): string {
  const stages = root.progress?.stages ?? [];
  if (!stages.length) return `whole run: stages unknown · ${elapsed} elapsed · time left: unknown`;
  const open = stages.filter((s) => s.done < s.total);
  const parts = [`whole run: ${stages.length - open.length}/${stages.length} stages done`];
  if (open.length) parts.push(`now ${root.progress!.stage}`);
  parts.push(`${elapsed} elapsed`);
  const holds = holdsOf(root.control);
  const known = open.flatMap((s) => left.get(`${root.workflowId}/${s.stage}`) ?? []);
  if (!open.length) parts.push('finishing');
  else if (holds.length) parts.push(`time left: unknown while ${holds.join(', ')}`);
  else if (!known.length) parts.push('time left: unknown');
  else {
    const longest = formatDuration(Math.max(...known));
    parts.push(known.length === open.length ? `time left: ~${longest}` : `time left: at least ${longest}`);
  }
  return parts.join(' · ');
}

function spendLine(root: RunNode, highWater?: SpentHighWater): string {
  // A closed child kept in view adds nothing: its usage reaches its parent's ledger when the stage ends.
  const nodes = flatten(root).filter((n) => n === root || n.status === 'RUNNING');
  const summed = nodes.reduce(
    (sum, n) => {
      const u = n.progress?.usage;
      return u
        ? {
            calls: sum.calls + u.calls,
            cached: sum.cached + u.cachedCalls,
            tokens: sum.tokens + u.promptTokens + u.completionTokens,
            promptTokens: sum.promptTokens + u.promptTokens,
            cachedPromptTokens: sum.cachedPromptTokens + (u.cachedPromptTokens ?? 0),
            usd: sum.usd + u.costUsd,
          }
        : sum;
    },
    { calls: 0, cached: 0, tokens: 0, promptTokens: 0, cachedPromptTokens: 0, usd: 0 } as SpentFigures,
  );
  const usage = highWater ? highWater.hold(summed) : summed;
  const cacheShare = promptCacheShare(usage);
  const control = root.control;
  const parts = [
    `spent: ${thousands(usage.calls)} calls (${thousands(usage.cached)} from cache)`,
    `${thousands(usage.tokens)} tokens` +
      (cacheShare === null ? '' : ` (prompt cache ${Math.round(cacheShare * 100)}% of prompt)`),
    `${formatUsd(usage.usd)} in calls`,
  ];
  if (control?.training.usd) parts[2] += ` + ${formatUsd(control.training.usd)} training (estimated)`;
  if (control?.limits.usd !== undefined) parts.push(`budget ${formatUsd(control.limits.usd)}`);
  if (control?.limits.tokens !== undefined) parts.push(`token budget ${thousands(control.limits.tokens)}`);
  if (control?.estimate) parts.push(`estimate up to ${formatUsd(control.estimate.usd)}`);
  return parts.join(' · ');
}

function jobLines(root: RunNode): string[] {
  const jobs = flatten(root).filter((n) => n.type === 'fineTune');
  if (!jobs.length) return [];
  return [
    'fine-tune jobs',
    ...jobs.flatMap((n) => {
      const job = n.fineTuneJob;
      if (!job) return [`  ${nameOf(n, root)}: ${n.status === 'RUNNING' ? 'starting' : n.status.toLowerCase()}`];
      return [
        `  ${nameOf(n, root)}: ${job.jobId} ${job.status}${percentOf(job)}`,
        ...job.events.slice(-3).map((e) => `      ${e}`),
      ];
    }),
  ];
}

export interface FrameInput {
  root: RunNode;
  startedAt: Date;
  /** The run's Web UI page. */
  link: string;
  now: number;
  rates: ProgressRates;
  /** What earlier frames' spend lines showed; none: each frame on its own. */
  spent?: SpentHighWater;
  /** The terminal's columns, where known: a narrow one gets shorter bars. */
  width?: number;
}

export function renderFrame({ root, startedAt, link, now, rates, spent, width }: FrameInput): string[] {
  const rows = rowsFor(root, 0, root.workflowId, now);
  const labelWidth = Math.min(56, Math.max(24, ...rows.map((r) => 2 * (r.depth + 1) + r.label.length + 1)));
  const barWidth = width !== undefined && width < 120 ? 12 : 24;
  const drawn = rows.map((row) => ({ row, ...rowLine(row, labelWidth, barWidth, rates, now) }));
  const left = new Map(drawn.map((d) => [d.row.key, d.secondsLeft]));
  const lines = [
    `run ${root.workflowId} · ${root.type} · ${root.status}`,
    runLine(root, left, formatDuration((now - startedAt.getTime()) / 1000)),
    `web UI: ${link}`,
  ];
  if (root.failure) lines.push(`${root.status}: ${root.failure}`);
  lines.push(...controlLines(root));
  if (root.status === 'RUNNING' && !root.progress)
    lines.push('No worker answered the progress query: start one with `npm run worker`; showing what Temporal knows.');
  lines.push(
    '',
    ...drawn.flatMap(({ row, line }) => [line, ...(row.details ?? []).map((d) => `${'  '.repeat(row.depth + 2)}${d}`)]),
  );
  const jobs = jobLines(root);
  if (jobs.length) lines.push('', ...jobs);
  lines.push('', spendLine(root, spent));
  return lines;
}

/**
 * The frame fitted to the terminal's width, one column short of it (where some terminals wrap), so the terminal wraps
 * nothing. The table's lines (indented) are cut; the others (the run's state, what holds it and the commands that
 * release it, the spend) wrap at spaces onto indented lines, each `command` kept whole on one line.
 */
export function fitToWidth(lines: string[], width: number): string[] {
  const max = width - 1;
  const cut = (line: string) => (line.length <= max ? line : `${line.slice(0, max - 1)}…`);
  return lines.flatMap((line) => {
    if (line.length <= max || line.startsWith(' ')) return [cut(line)];
    // Words, where a backquoted command with what touches it counts as one word.
    const words = line.match(/(?:[^\s`]*`[^`]*`)+[^\s`]*|\S+/g) ?? [];
    const [first = '', ...rest] = words;
    const wrapped = [first];
    for (const word of rest) {
      const joined = `${wrapped[wrapped.length - 1]} ${word}`;
      if (joined.length <= max) wrapped[wrapped.length - 1] = joined;
      else wrapped.push(`  ${word}`);
    }
    return wrapped.map(cut);
  });
}
