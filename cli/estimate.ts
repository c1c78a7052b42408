// `flt estimate <config>`: the expected calls, tokens and cost of each paid stage before anything is paid for, and
// the one-line version `flt run` prints. The numbers come from the methods' estimates (core/*-estimate.ts).
import type { BudgetConfig } from '../core/config';
import { estimateTokens, type ComputeCharge, type StageEstimate } from '../core/estimate';
import type { BudgetPlan } from '../core/workflow-messages';
import { usdText } from '../core/ui-text';
import { loadRunConfig } from '../lib/config-file';
import { methodOf } from '../lib/methods';
import { formatUsd } from './watch-view';

const n = (value: number) => Math.round(value).toLocaleString('en-US');

/** What the run saves on a stage by sending its calls through a Batch API: nothing where it calls online. */
const batchSaving = (e: StageEstimate) => (e.batch?.batched ? e.batch.onlineUsd - e.costUsd : 0);

const totals = (stages: readonly StageEstimate[]) => ({
  calls: stages.reduce((s, e) => s + e.calls, 0),
  tokens: stages.reduce((s, e) => s + estimateTokens(e), 0),
  usd: stages.reduce((s, e) => s + e.costUsd, 0),
  saving: stages.reduce((s, e) => s + batchSaving(e), 0),
});

/**
 * One row per stage and their total. Where a stage can go through a Batch API, its cost online and batched come
 * before the cost the run pays, and the saving where `execution.batch` sends it there; a dash marks what cannot be.
 */
export function estimateTable(stages: readonly StageEstimate[]): string[] {
  const canBatch = stages.some((e) => e.batch);
  const header = [
    'stage',
    'calls',
    'prompt tokens',
    'completion tokens (max)',
    'training tokens',
    ...(canBatch ? ['online (up to)', 'batch (up to)', 'saving'] : []),
    'cost (up to)',
  ];
  const total = stages.reduce(
    (sum, e) => ({
      calls: sum.calls + e.calls,
      prompt: sum.prompt + e.promptTokens,
      completion: sum.completion + e.completionTokens,
      training: sum.training + e.trainingTokens,
      online: sum.online + (e.batch?.onlineUsd ?? e.costUsd),
      saving: sum.saving + batchSaving(e),
      usd: sum.usd + e.costUsd,
    }),
    { calls: 0, prompt: 0, completion: 0, training: 0, online: 0, saving: 0, usd: 0 },
  );
  const prices = (online: number, batch: number | undefined, saving: number) =>
    canBatch ? [formatUsd(online), batch === undefined ? '-' : formatUsd(batch), saving ? formatUsd(saving) : '-'] : [];
  const rows = [
    header,
    ...stages.map((e) => [
      e.stage,
      n(e.calls),
      n(e.promptTokens),
      n(e.completionTokens),
      n(e.trainingTokens),
      ...prices(e.batch?.onlineUsd ?? e.costUsd, e.batch?.batchUsd, batchSaving(e)),
      formatUsd(e.costUsd),
    ]),
    [
      'total',
      n(total.calls),
      n(total.prompt),
      n(total.completion),
      n(total.training),
      ...prices(total.online, undefined, total.saving),
      formatUsd(total.usd),
    ],
  ];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}

const amount = (value: number) => value.toLocaleString('en-US', { maximumFractionDigits: value < 10 ? 3 : 1 });

function chargeLine(stage: string, c: ComputeCharge): string {
  const what = { training: 'training', serving: 'serving on your GPU', endpoint: 'dedicated endpoint' }[c.kind];
  if (c.amount === null || c.rate === null)
    return `${stage}: ${what} not priced (the command backend sets no gpuHour and trainingTokensPerSecond)`;
  const units = c.unit === 'million tokens' ? 'million tokens' : `${c.unit}s`;
  return `${stage}: ${what} ${amount(c.amount)} ${units} at ${formatUsd(c.rate)} per ${c.unit} = ${formatUsd(c.usd)}`;
}

/** One line per training job, serving GPU and endpoint a stage pays for beyond its calls, with the arithmetic. */
export function chargeLines(stages: readonly StageEstimate[]): string[] {
  return stages.flatMap((e) => (e.charges ?? []).map((c) => chargeLine(e.stage, c)));
}

const listed = new Intl.ListFormat('en', { type: 'conjunction' });

/** The line `flt run` prints; it names the stages sent through a Batch API and what that saves. */
export function estimateLine(stages: readonly StageEstimate[], file: string): string {
  const t = totals(stages);
  const batched = stages.filter((e) => e.batch?.batched).map((e) => e.stage);
  const saving = batched.length
    ? `, with ${listed.format(batched)} at batch prices: ${formatUsd(t.saving)} less than online`
    : '';
  return (
    `estimate: up to ${formatUsd(t.usd)} (${n(t.calls)} calls, ${n(t.tokens)} tokens, ` +
    `completions at their max tokens)${saving}; \`flt estimate ${file}\` shows each stage`
  );
}

/** The run's static details on money, for the Temporal UI: the estimate, and the budget the run stops at. */
export function budgetDetails(budget: BudgetConfig | undefined, stages: readonly StageEstimate[]): string[] {
  const t = totals(stages);
  const limits = [
    budget?.usd !== undefined && usdText(budget.usd),
    budget?.tokens !== undefined && `${n(budget.tokens)} tokens`,
  ].filter(Boolean);
  return [
    `estimate: up to ${usdText(t.usd)}, ${n(t.tokens)} tokens`,
    limits.length ? `budget: ${limits.join(' and ')}` : 'budget: none',
    ...(budget?.approveFineTunes ? ['every fine-tune waits for approval'] : []),
  ];
}

/**
 * The line `flt run` writes to stderr before it starts a run whose budget is under half its estimate (in dollars or
 * tokens): likely a typo, and the run would soon wait for an operator.
 */
export function budgetWarning(
  budget: Partial<BudgetConfig> | undefined,
  stages: readonly StageEstimate[],
): string | undefined {
  const t = totals(stages);
  const tight = [
    budget?.usd !== undefined && budget.usd < t.usd / 2 && { limit: formatUsd(budget.usd), estimate: formatUsd(t.usd) },
    budget?.tokens !== undefined &&
      budget.tokens < t.tokens / 2 && { limit: `${n(budget.tokens)} tokens`, estimate: `${n(t.tokens)} tokens` },
  ].filter((c) => !!c);
  if (!tight.length) return undefined;
  return (
    `warning: the budget of ${tight.map((c) => c.limit).join(' and ')} is under half the estimate of up to ` +
    `${tight.map((c) => c.estimate).join(' and ')}; the run starts, and waits for \`flt budget\` or \`flt approve\` ` +
    'before the first stage that would cross it.'
  );
}

/** What the run's workflow checks before each paid stage: the config's limits and this estimate. */
export function budgetPlan(budget: BudgetConfig | undefined, stages: StageEstimate[]): BudgetPlan {
  return {
    limits: { usd: budget?.usd, tokens: budget?.tokens },
    approveFineTunes: budget?.approveFineTunes ?? false,
    stages,
  };
}

/** `flt estimate <config>`. */
export function estimateCommand(file: string): void {
  const config = loadRunConfig(file);
  const stages = methodOf(config).estimate(config);
  console.log(`${file}: ${config.method} on "${config.task}"`);
  for (const line of estimateTable(stages)) console.log(`  ${line}`);
  const charges = chargeLines(stages);
  if (charges.length) console.log('Training, serving and endpoint time in these costs:');
  for (const line of charges) console.log(`  ${line}`);
  console.log(
    'Tokens are estimated at 4 characters each from the prompts this run would send. ' +
      'Upper bounds: every completion at its max tokens,',
  );
  console.log(
    'and counts known only mid-run at their most (every question self-justified, every input kept and labelled). ' +
      'Prices come from',
  );
  console.log(
    "each provider's `prices` (per million tokens; a dedicated endpoint's minutes and your GPU's hours at its " +
      'tokensPerSecond); training from the fine-tune backend, at the configured epochs.',
  );
  if (stages.some((e) => e.batch)) {
    console.log(
      "Batch: the stage's calls through their provider's Batch API, at its batchInputPerMillionTokens and " +
        'batchOutputPerMillionTokens (else half the online price).',
    );
    console.log(
      'Saving: on the stages `execution.batch` sends there (under auto: those with at least autoMinCalls calls); ' +
        'the cost, which the budget is checked against, is what the run pays.',
    );
  }
  if (config.budget?.usd !== undefined || config.budget?.tokens !== undefined) {
    const t = totals(stages);
    const over =
      (config.budget.usd !== undefined && t.usd > config.budget.usd) ||
      (config.budget.tokens !== undefined && t.tokens > config.budget.tokens);
    console.log(
      over
        ? 'This estimate is over the budget: ' +
            'the run will wait for `flt approve` (or `flt budget`) before the stage that would cross it.'
        : 'This estimate is within the budget.',
    );
  }
}
