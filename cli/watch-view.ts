// What `flt watch` draws, as plain lines: a run's stages with progress bars (items done of total, rate, time left),
// its running stage workflows nested under their stage, the provider batches a stage waits for, the items each
// finished stage's provider refused, fine-tune jobs with their last events, and what it has spent against its budget.
// Pure: the frame depends only on the run tree, the clock and the rates seen so far.
import { stageItemFailuresLines } from '../core/contracts';
import { promptCacheShare, type StageUsage } from '../core/types';
import { approvalHint, type ControlState, type StageProgress } from '../core/workflow-messages';
import type { RunNode } from '../lib/run-tree';
import { flatten } from '../lib/run-tree';

/** Progress per row over a sliding window, for rates and time left. */
export class ProgressRates {
  private readonly samples = new Map<string, { t: number; value: number }[]>();

  constructor(private readonly windowMs = 120_000) {}

  /**
   * Records `value` at time `t` (ms) and returns units per second over the window, or null without two samples
   * apart.
   */
  observe(key: string, t: number, value: number): number | null {
    const seen = (this.samples.get(key) ?? []).filter((s) => t - s.t <= this.windowMs && s.value <= value);
    seen.push({ t, value });
    this.samples.set(key, seen);
    const first = seen[0];
    return t > first.t ? (value - first.value) / ((t - first.t) / 1000) : null;
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

type RowState = 'done' | 'running' | 'pending';

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
  if (!job) return 'starting a fine-tune job';
  const last = job.events.at(-1);
  return `job ${job.jobId} ${job.status}${percentOf(job)}${last ? `: ${last}` : ''}`;
}

/** A provider's message on one line (a line break would defeat cutting the view to the terminal's width), shortened. */
function clip(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

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

/** What holds a run's stage back, if anything: a pause, or an approval it waits for. */
function holdOf(node: RunNode, stage: string): string {
  if (node.control?.awaiting?.stage === stage) return 'awaiting approval';
  return node.control?.paused ? 'paused' : '';
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
): Row {
  const flight = current ? inFlight(node) : 0;
  const retries = current ? retryNotes(node, now) : [];
  const steps = Math.min(stage.total, stage.done + flight);
  const state: RowState = stage.done >= stage.total ? 'done' : current || steps > 0 ? 'running' : 'pending';
  const key = `${node.workflowId}/${stage.stage}`;
  const hold = state === 'running' ? holdOf(node, stage.stage) : '';
  const failures = stageItemFailuresLines(stage.itemFailures);
  const batch = current ? batchPhase(node) : '';
  const details = current ? batchLines(node) : [];
  const cache = promptCacheNote(stageUsageOf(node, stage.stage));
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
      note: [`${stage.done}/${stage.total} shards`, batch, hold, cache, ...retries, ...failures]
        .filter(Boolean)
        .join(', '),
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
    note: [batch, hold, cache, ...retries, ...failures].filter(Boolean).join(', '),
    details,
  };
}

/**
 * A node's rows: a one-stage workflow is one row; a multi-stage one lists its stages, running children under the
 * current one.
 */
function rowsFor(node: RunNode, depth: number, label: string, now: number): Row[] {
  if (node.type === 'fineTune')
    return [
      {
        key: node.workflowId,
        depth,
        label,
        state: 'running',
        value: 0,
        total: 0,
        unit: '',
        note: [fineTuneNote(node), ...retryNotes(node, now)].join(', '),
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
      state: 'running',
      value: 0,
      total: 0,
      unit: '',
      note: node.progress ? `stage ${node.progress.stage}` : 'no worker answered',
    });
  const matched = new Set<RunNode>();
  for (const stage of stages) {
    const child = node.children.find((c) => nameOf(c, node) === stage.stage);
    // A stage's workflow answers progress once its shards start; before that (its batches, hours of them) the
    // parent's count of the stage stands for it.
    const own = child?.progress?.stages ?? (child && batchPhase(child) ? [stage] : []);
    if (child && child.type !== 'fineTune' && own.length === 1) {
      matched.add(child);
      rows.push({
        ...progressRow(child, own[0], inner, stage.stage, true, now),
        key: `${node.workflowId}/${stage.stage}`,
      });
    } else if (child) {
      matched.add(child);
      rows.push(...rowsFor(child, inner, stage.stage, now));
    } else {
      rows.push(progressRow(node, stage, inner, stage.stage, stage.stage === node.progress?.stage, now));
    }
  }
  // Children that are not a stage of their own (SemiEvol's four evaluations, the campaign's branches) go under the
  // current stage.
  const others = node.children
    .filter((c) => !matched.has(c))
    .flatMap((c) => rowsFor(c, inner + 1, nameOf(c, node), now));
  const current = rows.findIndex((r) => r.label === node.progress?.stage && r.depth === inner);
  const lastRunning = rows.map((r) => r.state).lastIndexOf('running');
  const at = current >= 0 ? current + 1 : lastRunning >= 0 ? lastRunning + 1 : rows.length;
  rows.splice(at, 0, ...others);
  return rows;
}

function rowLine(row: Row, labelWidth: number, rates: ProgressRates, now: number): string {
  const label = `${'  '.repeat(row.depth + 1)}${row.label}`.padEnd(labelWidth);
  if (row.total === 0 || (row.total === 1 && !row.unit)) {
    const mark = row.state === 'done' ? '✓ done' : row.state === 'running' ? '▸ running' : '· pending';
    return `${label} ${mark}${row.note ? `  ${row.note}` : ''}`;
  }
  const rate = row.state === 'running' ? rates.observe(row.key, now, row.value) : null;
  const shown =
    row.unit === 'items'
      ? thousands(Math.floor(row.value))
      : Number.isInteger(row.value)
        ? String(row.value)
        : row.value.toFixed(1);
  const parts = [`${bar(row.value / row.total)} ${shown}/${thousands(row.total)}${row.unit ? ` ${row.unit}` : ''}`];
  if (row.note) parts.push(row.note);
  if (row.state === 'done') parts.push('done');
  else if (rate !== null && rate > 0)
    parts.push(
      `${rate >= 1 ? rate.toFixed(1) : rate.toPrecision(2)}/s`,
      `~${formatDuration((row.total - row.value) / rate)} left`,
    );
  return `${label} ${parts.join('  ')}`;
}

function controlLines(runId: string, control: ControlState | null): string[] {
  if (!control) return [];
  const lines: string[] = [];
  if (control.paused)
    lines.push(`PAUSED: no new paid step starts; steps in flight finish. \`flt unpause ${runId}\` resumes.`);
  if (control.awaiting)
    lines.push(`AWAITING APPROVAL: ${control.awaiting.reason}. ${approvalHint(runId, control.awaiting)}`);
  return lines;
}

function spendLine(root: RunNode, highWater?: SpentHighWater): string {
  const nodes = flatten(root);
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
      if (!job) return [`  ${n.workflowId}: starting`];
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
}

export function renderFrame({ root, startedAt, link, now, rates, spent }: FrameInput): string[] {
  const elapsed = formatDuration((now - startedAt.getTime()) / 1000);
  const lines = [
    `run ${root.workflowId} · ${root.type} · ${root.status} · ${elapsed}`,
    `stage: ${root.progress?.stage ?? '?'} · web UI: ${link}`,
  ];
  if (root.failure) lines.push(`${root.status}: ${root.failure}`);
  lines.push(...controlLines(root.workflowId, root.control));
  if (root.status === 'RUNNING' && !root.progress)
    lines.push('No worker answered the progress query: start one with `npm run worker`; showing what Temporal knows.');
  const rows = rowsFor(root, 0, root.workflowId, now);
  const labelWidth = Math.min(56, Math.max(24, ...rows.map((r) => 2 * (r.depth + 1) + r.label.length + 1)));
  lines.push(
    '',
    ...rows.flatMap((row) => [
      rowLine(row, labelWidth, rates, now),
      ...(row.details ?? []).map((d) => `${'  '.repeat(row.depth + 2)}${d}`),
    ]),
  );
  const jobs = jobLines(root);
  if (jobs.length) lines.push('', ...jobs);
  lines.push('', spendLine(root, spent));
  return lines;
}

/** The frame cut to the terminal's width, one column short of it (where some terminals wrap), so nothing wraps. */
export function fitToWidth(lines: string[], width: number): string[] {
  return lines.map((l) => (l.length < width ? l : `${l.slice(0, width - 2)}…`));
}
