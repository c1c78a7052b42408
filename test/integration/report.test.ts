// The run report of every method: a self-contained HTML page whose charts Chromium really draws and whose item
// browser it really searches, filters and pages (skipped, saying so, where Chromium is missing), and a Markdown
// summary with the same numbers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { histogramBins } from '../../lib/report/charts';
import type { ReportData } from '../../lib/report/data';
import type { RunItems } from '../../lib/report/items';
import { renderHtml, renderMarkdown } from '../../lib/report/render';
import { filterItems, itemBlock, type ItemFilters } from '../../lib/show-items';
import {
  browseProbe,
  drawnProbe,
  findChromium,
  headless,
  readBrowseProbe,
  readProbe,
  type BrowseStep,
} from '../support/chromium';
import { selfGuideReportItems, semievolReportItems } from '../support/report-items';

const usage = { calls: 840, cachedCalls: 12, promptTokens: 90_000, completionTokens: 8_000, costUsd: 0.042 };
const base = {
  task: 'fpb',
  startedAt: new Date('2026-01-02T03:04:05Z'),
  closedAt: new Date('2026-01-02T03:14:05Z'),
  simulated: true,
  summary: ['a summary line'],
  usage,
};
const costs = [
  { stage: 'warm-up', callsUsd: 0, trainingUsd: 0.02, estimateUsd: 0.025 },
  { stage: 'collaborate', callsUsd: 0.01, trainingUsd: 0, estimateUsd: 0.08 },
  { stage: 'evaluate', callsUsd: 0.004, trainingUsd: 0, estimateUsd: null },
];
// 60 entropies from 0.05 to 1.23; the lower half selected.
const entropies = Array.from({ length: 60 }, (_, i) => ({ value: 0.05 + i * 0.02, selected: i < 30 }));

const funnel = (task: string) => ({
  task,
  runId: `run--test-${task}`,
  funnel: [
    { label: 'generated inputs', count: 40, kind: 'stage' as const },
    { label: 'removed: empty', count: 2, kind: 'removed' as const },
    { label: 'removed: duplicate', count: 5, kind: 'removed' as const },
    { label: 'annotated inputs', count: 33, kind: 'stage' as const },
    { label: 'dropped: class balancing', count: 9, kind: 'removed' as const },
    { label: 'synthetic pairs kept', count: 24, kind: 'stage' as const },
  ],
  classes: [
    { label: 'C', count: 8 },
    { label: 'E', count: 8 },
    { label: 'N', count: 8 },
  ],
});

const semievolItems: RunItems = {
  method: 'semievol',
  runId: 'semievol-run',
  task: 'fpb',
  items: semievolReportItems(60),
};
const selfGuideItems = (task: string, runId: string): RunItems => ({
  method: 'selfguide',
  runId,
  task,
  items: selfGuideReportItems(120),
});

const reports: ReportData[] = [
  {
    ...base,
    runId: 'evaluate-run',
    workflowType: 'evaluationRun',
    method: 'evaluate',
    scores: {
      metric: 'accuracy',
      groups: [
        {
          label: 'fpb',
          bars: [
            { label: 'api/a', value: 0.6 },
            { label: 'api/b', value: 0.75 },
          ],
        },
      ],
    },
    costs: [{ stage: 'evaluate', callsUsd: 0.01, trainingUsd: 0, estimateUsd: 0.03 }],
  },
  {
    ...base,
    runId: 'semievol-run',
    workflowType: 'semievolRun',
    method: 'semievol',
    scores: {
      metric: 'accuracy',
      groups: [
        {
          label: 'fpb',
          bars: ['vanilla', 'SFT', 'SemiEvol', 'RAG'].map((label, i) => ({ label, value: 0.5 + 0.1 * i })),
        },
      ],
    },
    costs,
    items: [semievolItems],
    semievol: {
      entropies,
      threshold: 0.64,
      selection: { theta: 50, among: 'all', strict: false, entropyOver: 'response' },
      counts: {
        questions: 64,
        consistent: 30,
        pseudoLabeled: 60,
        droppedNoAnswer: 3,
        droppedCutOff: 0,
        droppedNoLogprobs: 1,
        selected: 30,
      },
      consistencyRate: 30 / 64,
      justified: 34,
      accuracy: {
        all: { correct: 45, total: 60, accuracy: 0.75 },
        selected: { correct: 27, total: 30, accuracy: 0.9 },
      },
    },
  },
  {
    ...base,
    runId: 'selfguide-run',
    workflowType: 'selfGuideRun',
    method: 'selfguide',
    task: 'task190',
    scores: {
      metric: 'exact-match',
      groups: [
        {
          label: 'task190',
          bars: ['few-shot prompting', 'Self-ICL', 'few-shot fine-tuning', 'SELF-GUIDE'].map((label, i) => ({
            label,
            value: 0.3 + 0.1 * i,
          })),
        },
      ],
    },
    costs,
    selfGuide: [funnel('task190')],
    items: [selfGuideItems('task190', 'selfguide-run')],
  },
  {
    ...base,
    runId: 'campaign-run',
    workflowType: 'selfGuideCampaign',
    method: 'selfguide-campaign',
    task: 'one-parameter',
    scores: {
      metric: 'score',
      groups: [
        {
          label: 'task190 (validation)',
          bars: [
            { label: 'few-shot prompting', value: 0.3 },
            { label: 'SELF-GUIDE', value: 0.4 },
          ],
        },
        {
          label: 'task1386 (test)',
          bars: [
            { label: 'few-shot prompting', value: 0.35 },
            { label: 'SELF-GUIDE', value: 0.45 },
          ],
        },
      ],
    },
    costs: [{ stage: 'validation', callsUsd: 0.3, trainingUsd: 0.1, estimateUsd: 0.5 }],
    selfGuide: [funnel('task1386')],
    items: [selfGuideItems('task1386', 'run--test-task1386')],
    campaign: {
      settings: ['t0.7-in-on-out-on-e1', 't0.7-in-on-out-on-e2', 't1-in-on-out-on-e1', 't1-in-on-out-on-e2'],
      tasks: ['task190', 'task036', 'worst task'],
      gains: [
        [0.1, -0.05, -0.05],
        [0.12, 0.02, 0.02],
        [-0.2, 0.05, -0.2],
        [0.05, null, null],
      ],
      choices: [{ kinds: ['classification', 'generation'], setting: 't0.7-in-on-out-on-e2', worstGain: 0.02 }],
    },
  },
];

/** Marks every chart of a report should draw: charts in page order. */
const expected: Record<string, { chart: string; marks: number }[]> = {
  'evaluate-run': [
    { chart: 'bars', marks: 2 },
    { chart: 'bars', marks: 2 },
  ],
  'semievol-run': [
    { chart: 'bars', marks: 4 },
    {
      chart: 'histogram',
      marks: histogramBins(entropies, 20).reduce((n, b) => n + (b.selected ? 1 : 0) + (b.rest ? 1 : 0), 0) + 1,
    },
    { chart: 'funnel', marks: 7 },
    { chart: 'bars', marks: 5 },
  ],
  'selfguide-run': [
    { chart: 'bars', marks: 4 },
    { chart: 'funnel', marks: 6 },
    { chart: 'bars', marks: 3 },
    { chart: 'bars', marks: 5 },
  ],
  'campaign-run': [
    { chart: 'bars', marks: 4 },
    { chart: 'heatmap', marks: 12 },
    { chart: 'funnel', marks: 6 },
    { chart: 'bars', marks: 3 },
    { chart: 'bars', marks: 2 },
  ],
};

describe('run reports', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flt-report-'));

  it.each(reports)('$runId: a self-contained page with its charts, and the same numbers in Markdown', (data) => {
    const html = renderHtml(data);
    expect(html).not.toMatch(/<link|\s(src|href)=/); // nothing fetched
    expect(html.match(/<script>/g) ?? []).toHaveLength(data.items ? 1 : 0); // only the item browser's script runs
    expect([...html.matchAll(/<svg class="chart" data-chart="(\w+)"/g)].map((m) => m[1])).toEqual(
      expected[data.runId].map((c) => c.chart),
    );
    expect(html).toContain('every figure in it is simulated');
    const markdown = renderMarkdown(data, `${data.runId}.html`);
    expect(markdown).toContain(`# ${data.runId}`);
    expect(markdown).toContain(`Charts: ${data.runId}.html`);
    for (const group of data.scores.groups)
      for (const bar of group.bars)
        expect(markdown).toContain(`| ${group.label} | ${bar.label} | ${(100 * bar.value).toFixed(1)}% |`);
  });

  it('puts the selection threshold, the selected share and the chosen setting in words too', () => {
    const semievol = renderMarkdown(reports[1], 'x.html');
    expect(semievol).toContain('50.0% (30 of 60) have H ≤ τ = 0.6400, the 50th percentile, and were selected');
    expect(semievol).toContain('46.9% of D_U was consistent');
    const campaign = renderMarkdown(reports[3], 'x.html');
    expect(campaign).toContain('| **t0.7-in-on-out-on-e2** | +12.0 | +2.0 | +2.0 |'); // the chosen setting, in bold
    expect(campaign).toContain('| t1-in-on-out-on-e2 | +5.0 |  |  |');
  });

  it("lists a stage's item failures in that stage's section, in the words `flt result` uses", () => {
    const refused = { count: 1, of: 64, examples: [{ id: 'q7', message: '400 prompt too long' }] };
    const semievol: ReportData = {
      ...reports[1],
      semievol: { ...reports[1].semievol!, itemFailures: { collaborate: refused, justify: { ...refused, of: 34 } } },
    };
    const selfGuide: ReportData = {
      ...reports[2],
      selfGuide: [{ ...funnel('task190'), itemFailures: { 'generate-inputs': { ...refused, of: 40 } } }],
    };
    const sectionOf = (html: string, title: string) =>
      html.split('<section>').find((s) => s.startsWith(`<h2>${title}</h2>`)) ?? '';
    const collaborate = 'collaborate: 1 of 64 items failed and were dropped: q7: 400 prompt too long';
    const justify = 'justify: 1 of 34 items failed and were dropped: q7: 400 prompt too long';
    const generate = 'generate-inputs: 1 of 40 items failed and were dropped: q7: 400 prompt too long';
    const pseudoLabels = sectionOf(renderHtml(semievol), 'Consistency and pseudo-labels');
    expect(pseudoLabels).toContain(collaborate);
    expect(pseudoLabels).toContain(justify);
    expect(sectionOf(renderHtml(selfGuide), "SELF-GUIDE's filters on task190")).toContain(generate);
    const markdown = renderMarkdown(selfGuide, 'x.html');
    expect(markdown.slice(markdown.indexOf("## SELF-GUIDE's filters on task190"))).toContain(`- ${generate}`);
    expect(renderMarkdown(semievol, 'x.html')).toContain(`- ${justify}`);
    expect(renderHtml(reports[1])).not.toContain('items failed');
  });

  it('shows serving billed by time apart from measured calls, as estimated', () => {
    const served: ReportData = {
      ...reports[0]!,
      usage: { ...usage, costUsd: 0.052, timeBilledUsd: 0.01 },
      costs: [{ stage: 'evaluate', callsUsd: 0.042, trainingUsd: 0, servingUsd: 0.01, estimateUsd: 0.03 }],
    };
    const html = renderHtml(served);
    expect(html).toContain('<tr><td>cost of calls</td><td>$0.0420</td></tr>');
    expect(html).toContain('<tr><td>serving billed by time (estimated)</td><td>$0.0100</td></tr>');
    const markdown = renderMarkdown(served, 'x.html');
    expect(markdown).toContain('| evaluate | $0.0420 | $0.0000 | $0.0100 | $0.0300 |');
    expect(renderMarkdown(reports[0]!, 'x.html')).not.toContain('serving by time');
  });

  it("shows the share of each stage's prompt tokens the provider's prompt cache served, and the run's", () => {
    const cached: ReportData = {
      ...reports[0]!,
      usage: { ...usage, promptTokens: 1000, cachedPromptTokens: 250 },
      costs: [
        { stage: 'collaborate', callsUsd: 0.01, trainingUsd: 0, promptCacheShare: 0.4, estimateUsd: 0.03 },
        { stage: 'evaluate', callsUsd: 0.004, trainingUsd: 0, estimateUsd: null },
      ],
    };
    expect(renderHtml(cached)).toContain('(25.0% of prompt from the prompt cache)');
    const markdown = renderMarkdown(cached, 'x.html');
    expect(markdown).toContain('| collaborate | $0.0100 | $0.0000 | $0.0300 | 40.0% |');
    expect(markdown).toContain('| evaluate | $0.0040 | $0.0000 |  |  |');
    expect(renderMarkdown(reports[0]!, 'x.html')).not.toContain('prompt cache');
  });

  const chromium = findChromium();
  const inChromium = chromium ? it.each(reports) : it.skip.each(reports);
  inChromium(
    chromium
      ? '$runId: Chromium draws every chart'
      : '$runId: Chromium draws every chart (skipped: no chromium on PATH; ' +
          '`apt-get install chromium` or `npm run setup` as root on Debian)',
    async (data) => {
      const file = path.join(dir, `${data.runId}.html`);
      writeFileSync(file, renderHtml(data).replace('</body>', `${drawnProbe}</body>`));
      const charts = readProbe(await headless(chromium!, file, { dumpDom: true }));
      expect(charts.map(({ chart, marks }) => ({ chart, marks }))).toEqual(expected[data.runId]);
      for (const c of charts) {
        expect(c.width).toBeGreaterThan(200);
        expect(c.drawn).toBe(c.marks);
      }
    },
  );

  /** What `flt show` lists for a step's filters: the page the browser should show, its first head and its status. */
  function expectedView(run: RunItems, filters: ItemFilters, offset: number) {
    const matching = filterItems(run.items, filters);
    const shown = Math.max(0, Math.min(50, matching.length - offset));
    const of = matching.length === run.items.length ? '' : `${matching.length} of `;
    const range = shown ? `; shown: ${offset + 1} to ${offset + shown}` : '; none on this page';
    return {
      shown,
      first: shown ? itemBlock(matching[offset], run.items.length, 100)[0] : null,
      status: `${of}${run.items.length} items${range}`,
    };
  }

  const browsing: [string, ReportData, [BrowseStep, ItemFilters, number][]][] = [
    [
      'SemiEvol',
      reports[1],
      [
        [{}, {}, 0],
        [{ page: 1 }, {}, 50],
        [{ verdict: 'selected' }, { selected: true }, 0],
        [{ verdict: 'rejected', reason: 'cut-off' }, { rejected: true, reason: 'cut-off' }, 0],
        [{ grep: 'KONE' }, { grep: /KONE/i }, 0],
        [{ grep: 'answer: b', verdict: 'rejected' }, { grep: /answer: b/i, rejected: true }, 0],
        [{ grep: '</script><script>' }, { grep: /<\/script><script>/i }, 0],
      ],
    ],
    [
      'SELF-GUIDE',
      reports[2],
      [
        [{ verdict: 'selected' }, { selected: true }, 0],
        [{ page: 1 }, { selected: true }, 50],
        [{ page: 1 }, { selected: true }, 100],
        [{ page: -1 }, { selected: true }, 50],
        [{ reason: 'balancing' }, { reason: 'balancing' }, 0],
        [{ grep: '^sentence 1\\d on' }, { grep: /^sentence 1\d on/i }, 0],
      ],
    ],
  ];
  const browse = chromium ? it.each(browsing) : it.skip.each(browsing);
  browse(
    chromium
      ? '%s items: Chromium searches, filters and pages them as `flt show` does'
      : '%s items: Chromium searches, filters and pages them (skipped: no chromium on PATH)',
    async (_method, data, steps) => {
      const file = path.join(dir, `${data.runId}-browse.html`);
      const probe = browseProbe([...steps.map(([step]) => step), { grep: '(' }]);
      writeFileSync(file, renderHtml(data).replace('</body>', `${probe}</body>`));
      const views = readBrowseProbe(await headless(chromium!, file, { dumpDom: true }));
      const run = data.items![0];
      expect(views.slice(0, -1)).toEqual(
        steps.map(([, filters, offset]) => ({
          ...expectedView(run, filters, offset),
          title: `flt report: ${data.runId}`,
        })),
      );
      expect(views.filter((v) => v.shown > 0 && v.shown < 50).length).toBeGreaterThan(0); // filters that narrow
      expect(views.at(-1)).toMatchObject({
        shown: 0,
        first: null,
        status: expect.stringMatching(/^\( is not a regular expression: /),
      });
    },
  );
});
