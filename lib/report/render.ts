// A run report as one self-contained HTML page (inline CSS and SVG, an inline script only for the item browser,
// nothing fetched) and as a Markdown summary with the same numbers in tables.
import { escapeXml, funnelChart, groupedBarChart, heatMap, histogramBins, histogramChart } from './charts';
import { stageItemFailuresLines } from '../../core/contracts';
import { promptCacheShare, type StageUsage } from '../../core/types';
import type { CampaignReport, CostLine, ReportData, SelfGuideReport } from './data';
import { itemBrowserScript, itemBrowserSection, itemCounts, itemsTitle } from './items';

const percent = (v: number) => `${(100 * v).toFixed(1)}%`;
const points = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;
const usd = (v: number) => `$${v.toFixed(v < 1 ? 4 : 2)}`;

interface Section {
  title: string;
  /** One or two sentences on what the chart shows. */
  lead: string;
  chart: string;
  /** The chart's numbers, for the Markdown summary (and readers without SVG). */
  table: string[][];
  /** The section's stages' items the provider refused, in the words `flt result` uses. */
  itemFailures: string[];
  /** What the chart's marks and labels mean, where the chart cannot say it itself. */
  legend?: string[];
  /** The table's last row sums the rows above it. */
  total?: boolean;
}

function scoresSection(data: ReportData): Section {
  const { metric, groups } = data.scores;
  return {
    title: 'Scores',
    lead: `Test ${metric} of every model and baseline, per task.`,
    chart: groupedBarChart({
      title: `${metric} per task`,
      groups,
      groupAxis: 'task',
      valueAxis: { title: metric, unit: 'share' },
      max: 1,
      format: percent,
    }),
    table: [
      ['task', 'model or baseline', metric],
      ...groups.flatMap((g) => g.bars.map((b) => [g.label, b.label, percent(b.value)])),
    ],
    itemFailures: stageItemFailuresLines(data.scores.itemFailures),
  };
}

/** The cost table's last row: each column summed; the estimates only where stages have one, saying how many do. */
function costTotal(costs: CostLine[], usage: StageUsage, serving: boolean, promptCache: boolean): string[] {
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const estimates = costs.flatMap((c) => (c.estimateUsd === null ? [] : [c.estimateUsd]));
  const runCacheShare = promptCacheShare(usage);
  return [
    'total',
    usd(sum(costs.map((c) => c.callsUsd))),
    usd(sum(costs.map((c) => c.trainingUsd))),
    ...(serving ? [usd(sum(costs.map((c) => c.servingUsd ?? 0)))] : []),
    !estimates.length
      ? ''
      : usd(sum(estimates)) +
        (estimates.length < costs.length ? ` (${estimates.length} of ${costs.length} stages)` : ''),
    ...(promptCache ? [runCacheShare === null ? '' : percent(runCacheShare)] : []),
  ];
}

function costSection(lines: CostLine[], usage: StageUsage): Section {
  const costs = lines.filter((c) => c.callsUsd || c.trainingUsd || c.servingUsd || c.estimateUsd);
  const serving = costs.some((c) => c.servingUsd);
  const promptCache = costs.some((c) => c.promptCacheShare !== undefined);
  const groups = costs.map((c) => ({
    label: c.stage,
    bars: [
      { label: 'spent', value: c.callsUsd + c.trainingUsd + (c.servingUsd ?? 0) },
      ...(c.estimateUsd === null ? [] : [{ label: 'estimate (upper bound)', value: c.estimateUsd }]),
    ],
  }));
  return {
    title: 'Cost per stage',
    lead:
      'Spent: model and embedding calls as measured, plus fine-tune jobs priced from their estimate ' +
      "(providers do not report a job's cost)" +
      (serving ? ', plus serving billed by time, estimated from the wall time measured around the stage' : '') +
      '. Estimate: what the stage was expected to cost at most when it started.' +
      (promptCache
        ? " Prompt cache: the share of the stage's prompt tokens the provider read from its prompt cache, billed at " +
          'its cached-input price.'
        : ''),
    chart: groupedBarChart({
      title: 'cost per stage',
      groups,
      groupAxis: 'stage',
      valueAxis: { title: 'US dollars', unit: 'usd' },
      format: usd,
    }),
    table: [
      [
        'stage',
        'calls (measured)',
        'training (estimated)',
        ...(serving ? ['serving by time (estimated)'] : []),
        'estimate (upper bound)',
        ...(promptCache ? ['prompt cache'] : []),
      ],
      ...costs.map((c) => [
        c.stage,
        usd(c.callsUsd),
        usd(c.trainingUsd),
        ...(serving ? [usd(c.servingUsd ?? 0)] : []),
        c.estimateUsd === null ? '' : usd(c.estimateUsd),
        ...(promptCache ? [c.promptCacheShare === undefined ? '' : percent(c.promptCacheShare)] : []),
      ]),
      costTotal(costs, usage, serving, promptCache),
    ],
    total: true,
    itemFailures: [],
  };
}

function semievolSections(data: ReportData): Section[] {
  const s = data.semievol!;
  const c = s.counts;
  const comparison = `${s.selection.strict ? '<' : '≤'} τ`;
  const selectedShare = c.pseudoLabeled ? c.selected / c.pseudoLabeled : 0;
  const funnel = [
    { label: 'unlabeled questions', count: c.questions, kind: 'stage' as const },
    { label: 'consistent', count: c.consistent, kind: 'stage' as const },
    { label: 'self-justified', count: s.justified, kind: 'stage' as const },
    { label: 'dropped: no answer', count: c.droppedNoAnswer, kind: 'removed' as const },
    { label: 'dropped: no log-probs', count: c.droppedNoLogprobs, kind: 'removed' as const },
    { label: 'pseudo-labeled', count: c.pseudoLabeled, kind: 'stage' as const },
    { label: 'selected', count: c.selected, kind: 'stage' as const },
  ];
  return [
    {
      title: 'Entropy of the pseudo-labels',
      lead:
        `H of each pseudo-labeled question; ${percent(selectedShare)} (${c.selected} of ${c.pseudoLabeled}) ` +
        `have H ${comparison} = ${s.threshold === null ? 'n/a' : s.threshold.toFixed(4)}, ` +
        `the ${s.selection.theta}th percentile` +
        (s.selection.among === 'self-justified' ? ' of the self-justified questions (consistent ones are kept)' : '') +
        ', and were selected.',
      chart: histogramChart({
        title: 'entropy histogram',
        bins: histogramBins(s.entropies, 20),
        threshold: s.threshold,
        labels: ['selected', 'not selected'],
        axes: { x: 'H (mean negative log-probability per token)', y: 'questions' },
      }),
      table: [
        ['entropy from', 'to', 'selected', 'not selected'],
        ...histogramBins(s.entropies, 20).map((b) => [
          b.from.toFixed(3),
          b.to.toFixed(3),
          String(b.selected),
          String(b.rest),
        ]),
      ],
      itemFailures: [],
    },
    {
      title: 'Consistency and pseudo-labels',
      lead:
        `${percent(s.consistencyRate)} of D_U was consistent (every collaborator gave the same letter); ` +
        'the rest was self-justified. Pseudo-label accuracy against the withheld gold: ' +
        `all ${s.accuracy.all.total ? percent(s.accuracy.all.accuracy) : 'n/a'}, ` +
        `selected ${s.accuracy.selected.total ? percent(s.accuracy.selected.accuracy) : 'n/a'}.`,
      chart: funnelChart({ title: 'pseudo-labels', steps: funnel, axis: 'questions' }),
      table: [['step', 'questions'], ...funnel.map((f) => [f.label, String(f.count)])],
      itemFailures: stageItemFailuresLines(s.itemFailures),
    },
  ];
}

function selfGuideSections(report: SelfGuideReport): Section[] {
  const sections: Section[] = [
    {
      title: `SELF-GUIDE's filters on ${report.task}`,
      lead:
        'Inputs the model generated, what each filter removed, what was annotated, ' +
        `and the synthetic pairs kept (run ${report.runId}).`,
      chart: funnelChart({
        title: `filter funnel of ${report.task}`,
        steps: report.funnel,
        axis: 'inputs, then pairs',
      }),
      table: [['step', 'count'], ...report.funnel.map((f) => [f.label, String(f.count)])],
      itemFailures: stageItemFailuresLines(report.itemFailures),
    },
  ];
  if (report.classes) {
    const classes = report.classes;
    sections.push({
      title: `Synthetic pairs per class on ${report.task}`,
      lead: 'Kept pairs per label, after downsampling every label to the rarest.',
      chart: groupedBarChart({
        title: `pairs per class of ${report.task}`,
        groups: classes.map((c) => ({ label: c.label, bars: [{ label: 'pairs', value: c.count }] })),
        groupAxis: 'label',
        valueAxis: { title: 'synthetic pairs', unit: 'count' },
        format: (v) => String(Math.round(v)),
      }),
      table: [['label', 'pairs'], ...classes.map((c) => [c.label, String(c.count)])],
      itemFailures: [],
    });
  }
  return sections;
}

/** What the heat map's setting keys mean, and how the campaign chose a setting (core/selfguide-campaign.ts). */
const settingLegend = [
  'tN: the temperature N the inputs were generated at.',
  'in-on or in-off: whether the input length filter removed generated inputs whose length is outside the ' +
    "examples' mean ± 2 standard deviations.",
  'out-on or out-off: whether the same filter kept annotation samples of such lengths from voting (off on ' +
    'classification tasks whatever the key says: their outputs are labels).',
  'eN: N epochs of fine-tuning.',
  'A setting is chosen for the worst of its validation tasks (those of the kinds it is chosen for): the one whose ' +
    'worst task gains most; of settings that tie on it, the one listed first wins. Rows follow the grid: input ' +
    'temperature, then input length filter, output length filter and epochs, each in the order the config lists them.',
];

/** The chosen settings in words: one across all tasks, or one per task kind, the first outlined. */
function choiceWords(c: CampaignReport): string {
  const [first] = c.choices;
  if (c.choices.length === 1)
    return `the setting with the best worst-task gain, ${first.setting} (${points(first.worstGain)}), is outlined`;
  return (
    "a setting is chosen per task kind, on that kind's tasks alone: " +
    c.choices
      .map(
        (choice, i) =>
          `${choice.kinds.join(' and ')}: ${choice.setting} (${points(choice.worstGain)})${i ? '' : ', outlined'}`,
      )
      .join('; ')
  );
}

function campaignSection(data: ReportData): Section {
  const c = data.campaign!;
  const chosen = c.choices[0].setting;
  return {
    title: 'The campaign grid',
    lead:
      "Each setting's gain over few-shot prompting (points) on each validation task and on its worst one; " +
      `${choiceWords(c)}.`,
    chart: heatMap({
      title: 'gain over few-shot prompting per setting and task',
      rows: c.settings,
      columns: c.tasks,
      axes: { rows: 'setting', columns: 'validation task' },
      values: c.gains,
      highlight: chosen,
      format: points,
    }),
    table: [
      ['setting', ...c.tasks],
      ...c.settings.map((s, i) => [
        s === chosen ? `**${s}**` : s,
        ...c.gains[i].map((g) => (g === null ? '' : points(g))),
      ]),
    ],
    itemFailures: stageItemFailuresLines(c.itemFailures),
    legend: settingLegend,
  };
}

function sectionsOf(data: ReportData): Section[] {
  return [
    scoresSection(data),
    ...(data.semievol ? semievolSections(data) : []),
    ...(data.campaign ? [campaignSection(data)] : []),
    ...(data.selfGuide ?? []).flatMap(selfGuideSections),
    ...(data.costs?.some((c) => c.callsUsd || c.trainingUsd || c.servingUsd || c.estimateUsd)
      ? [costSection(data.costs, data.usage)]
      : []),
  ];
}

const when = (d: Date | null) =>
  d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC')
    : 'n/a';

function facts(data: ReportData): [string, string][] {
  const u = data.usage;
  const cacheShare = promptCacheShare(u);
  return [
    ['method', data.method],
    ['task', data.task],
    ['started', when(data.startedAt)],
    ['finished', when(data.closedAt)],
    ['calls', `${u.calls} paid, ${u.cachedCalls} from the response cache`],
    [
      'tokens',
      `${u.promptTokens} prompt, ${u.completionTokens} completion` +
        (cacheShare === null ? '' : ` (${percent(cacheShare)} of prompt from the prompt cache)`),
    ],
    ['cost of calls', usd(u.costUsd - (u.timeBilledUsd ?? 0))],
    ...(u.timeBilledUsd ? [['serving billed by time (estimated)', usd(u.timeBilledUsd)] as [string, string]] : []),
  ];
}

const simulatedNote =
  'This run used the provider test double: every figure in it is simulated, not a real model\u2019s.';

const style = `
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 2rem auto; max-width: 980px; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table.facts td { padding: 0 1rem .1rem 0; }
.summary { background: #f6f6f6; padding: .6rem 1rem; white-space: pre-wrap; font: 12px ui-monospace, monospace; }
.simulated { background: #fff3cd; border: 1px solid #e0c36c; padding: .5rem 1rem; }
svg.chart { display: block; margin: .5rem 0; font-family: system-ui, sans-serif; }
details table { border-collapse: collapse; font-size: 12px; }
details td, details th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
details td:first-child, details th:first-child { text-align: left; }
tr.total td { font-weight: 600; border-top: 2px solid #999; }
ul.legend { font-size: 12px; color: #444; margin-top: 0; }
.item-filters { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; margin: .5rem 0; }
.item-filters input { width: 22rem; }
.item-status { color: #555; margin: .3rem 0; }
pre.item { font: 12px/1.4 ui-monospace, monospace; background: #f8f8f8; padding: .4rem .6rem; white-space: pre-wrap; }
pre.item::first-line { font-weight: 600; }`;

const failureList = (lines: string[]) =>
  lines.length
    ? `<p>Items the provider refused:</p><ul class="item-failures">${lines
        .map((l) => `<li>${escapeXml(l)}</li>`)
        .join('')}</ul>\n`
    : '';

const legendList = (lines: string[] | undefined) =>
  lines ? `<ul class="legend">${lines.map((l) => `<li>${escapeXml(l)}</li>`).join('')}</ul>\n` : '';

export function renderHtml(data: ReportData): string {
  const cell = (text: string) => `<td>${escapeXml(text.replace(/\*\*/g, ''))}</td>`;
  const row = (r: string[], total: boolean) => `<tr${total ? ' class="total"' : ''}>${r.map(cell).join('')}</tr>`;
  const table = (rows: string[][], total: boolean) =>
    `<table><thead><tr>${rows[0].map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${rows
      .slice(1)
      .map((r, i) => row(r, total && i === rows.length - 2))
      .join('')}</tbody></table>`;
  const sections = sectionsOf(data).map(
    (s) =>
      `<section><h2>${escapeXml(s.title)}</h2><p>${escapeXml(s.lead)}</p>\n${failureList(s.itemFailures)}${s.chart}\n` +
      `${legendList(s.legend)}<details><summary>numbers</summary>${table(s.table, !!s.total)}</details></section>`,
  );
  const items = data.items ?? [];
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>flt report: ${escapeXml(data.runId)}</title>`,
    `<style>${style}</style></head><body>`,
    `<h1>${escapeXml(data.runId)}</h1>`,
    data.simulated ? `<p class="simulated">${escapeXml(simulatedNote)}</p>` : '',
    `<table class="facts">${facts(data)
      .map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(v)}</td></tr>`)
      .join('')}</table>`,
    `<pre class="summary">${escapeXml(data.summary.join('\n'))}</pre>`,
    ...sections,
    ...items.map(itemBrowserSection),
    items.length ? itemBrowserScript : '',
    '</body></html>',
    '',
  ].join('\n');
}

export function renderMarkdown(data: ReportData, htmlFile: string): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const table = (rows: string[][]) =>
    [
      `| ${rows[0].map(cell).join(' | ')} |`,
      `|${rows[0].map(() => ' --- ').join('|')}|`,
      ...rows.slice(1).map((r) => `| ${r.map(cell).join(' | ')} |`),
    ].join('\n');
  return [
    `# ${data.runId}`,
    '',
    ...(data.simulated ? [`> ${simulatedNote}`, ''] : []),
    ...facts(data).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '```',
    ...data.summary,
    '```',
    '',
    `Charts: ${htmlFile}`,
    ...sectionsOf(data).flatMap((s) => [
      '',
      `## ${s.title}`,
      '',
      s.lead,
      ...(s.itemFailures.length ? ['', 'Items the provider refused:', ...s.itemFailures.map((f) => `- ${f}`)] : []),
      '',
      table(s.table),
      ...(s.legend ? ['', ...s.legend.map((l) => `- ${l}`)] : []),
    ]),
    ...(data.items ?? []).flatMap((run) => [
      '',
      `## ${itemsTitle(run)}`,
      '',
      `Search and filter them in ${htmlFile}, or list them with \`flt show ${run.runId}\`.`,
      '',
      table([
        ['items', 'count'],
        ['all', String(run.items.length)],
        ...itemCounts(run).map((c) => [c.label, String(c.count)]),
      ]),
    ]),
    '',
  ].join('\n');
}
