// The report's item browser (the items `flt show` lists, embedded in the page) and its other tables: the cost table's
// total row and the campaign heat map's legend.
import type { ReportData } from '../../lib/report/data';
import { browserItems, itemBrowserSection, longestText, scriptJson, type RunItems } from '../../lib/report/items';
import { renderHtml, renderMarkdown } from '../../lib/report/render';
import {
  filterItems,
  isSelected,
  itemBlock,
  reasonOf,
  searchedText,
  type ItemFilters,
  type ShownItem,
} from '../../lib/show-items';
import { hostileText, selfGuideReportItems, semievolReportItems } from '../support/report-items';

const semievol: RunItems = { method: 'semievol', runId: 'semievol-run', task: 'fpb', items: semievolReportItems(60) };
const selfGuide: RunItems = {
  method: 'selfguide',
  runId: 'selfguide-run',
  task: 'task190',
  items: selfGuideReportItems(120),
};

/** The page script's test of one item, in TypeScript: what the Chromium test checks the script itself against. */
function pageMatches(item: ReturnType<typeof browserItems>['items'][number], filters: ItemFilters): boolean {
  return (
    (!filters.selected || item.verdict === true) &&
    (!filters.rejected || item.verdict === false) &&
    (!filters.reason || item.reason === filters.reason) &&
    (!filters.grep || filters.grep.test(item.search))
  );
}

describe('the items the page carries', () => {
  it.each([semievol, selfGuide])("are $method's items as `flt show` writes and filters them", (run) => {
    const { items, cut } = browserItems(run.items);
    expect(cut).toBe(0);
    run.items.forEach((item: ShownItem, i) => {
      expect(items[i]).toEqual({
        block: itemBlock(item, run.items.length, 100).join('\n'),
        verdict: isSelected(item) ?? null,
        reason: reasonOf(item),
        search: searchedText(item),
      });
    });
    const filters: ItemFilters[] = [
      { selected: true },
      { rejected: true },
      { reason: run.method === 'semievol' ? 'cut-off' : 'duplicate' },
      { grep: /kone|sports/i },
      { rejected: true, grep: /answer: b|^e$/im },
    ];
    for (const f of filters)
      expect(items.filter((item) => pageMatches(item, f)).map((item) => item.block.split('\n')[0])).toEqual(
        filterItems(run.items, f).map((item) => itemBlock(item, run.items.length, 100)[0]),
      );
  });

  it('cuts a text longer than the limit, and counts the items it cut', () => {
    const [first, second] = semievolReportItems(2);
    const long = { ...first, question: `${'many words '.repeat(400)}needle` };
    const { items, cut } = browserItems([long, second]);
    expect(cut).toBe(1);
    expect(items[0].search).not.toContain('needle');
    expect(items[0].search.split('\n')[0]).toHaveLength(longestText + 1); // and an ellipsis
    expect(items[1].search).toBe(searchedText(second));
  });

  it('embeds as JSON that no text can end or bend the script element with', () => {
    const json = scriptJson({ text: hostileText });
    expect(json).not.toMatch(/<\/script|<!--|<script/i);
    expect(JSON.parse(json)).toEqual({ text: hostileText });
  });
});

describe('the item browser section', () => {
  const section = itemBrowserSection(selfGuide);

  it('shows the first page without script, escaped, and says how to see the rest', () => {
    const firstPage = section.slice(section.indexOf('<div class="item-list">'), section.indexOf('</div>'));
    expect(firstPage.match(/<pre class="item">/g)).toHaveLength(50);
    expect(firstPage).toContain('item 1 of 120 · round 1');
    expect(firstPage).toContain('item 50 of 120');
    expect(firstPage).toContain('tail &lt;/script&gt;&lt;script&gt;');
    expect(section).toMatch(/<noscript>.*first 50 of 120 items.*flt show selfguide-run.*<\/noscript>/);
  });

  it("offers the method's verdicts and every reason it records, with counts", () => {
    const count = (filters: ItemFilters) => filterItems(selfGuide.items, filters).length;
    expect(section).toContain(`<option value="selected">kept by the input filters (${count({ selected: true })})`);
    expect(section).toContain(`<option value="rejected">removed by the input filters (${count({ rejected: true })})`);
    for (const reason of ['empty', 'noise', 'length', 'duplicate', 'no-majority', 'not-a-label', 'balancing'])
      expect(section).toContain(`<option value="${reason}">${reason} (${count({ reason })})</option>`);
    const questions = itemBrowserSection(semievol);
    expect(questions).toContain('<option value="selected">selected (');
    expect(questions).toContain('<option value="cut-off">cut-off (');
  });

  it('says when texts were cut, and where they are whole', () => {
    const [item] = semievolReportItems(1);
    const long = itemBrowserSection({ ...semievol, items: [{ ...item, question: 'x'.repeat(longestText + 1) }] });
    expect(long).toContain(`1 item has a text longer than ${longestText.toLocaleString('en-US')} characters`);
    expect(long).toContain('flt show semievol-run');
  });
});

const base: ReportData = {
  runId: 'semievol-run',
  workflowType: 'semievolRun',
  method: 'semievol',
  task: 'fpb',
  startedAt: new Date('2026-01-02T03:04:05Z'),
  closedAt: new Date('2026-01-02T03:14:05Z'),
  simulated: false,
  summary: ['a summary line'],
  usage: { calls: 10, cachedCalls: 0, promptTokens: 1000, completionTokens: 100, costUsd: 0.014 },
  scores: { metric: 'accuracy', groups: [{ label: 'fpb', bars: [{ label: 'vanilla', value: 0.5 }] }] },
  costs: [
    { stage: 'warm-up', callsUsd: 0, trainingUsd: 0.02, estimateUsd: 0.025 },
    { stage: 'collaborate', callsUsd: 0.01, trainingUsd: 0, estimateUsd: 0.08 },
    { stage: 'evaluate', callsUsd: 0.004, trainingUsd: 0, estimateUsd: null },
  ],
};

describe('the report page', () => {
  it("browses each run's items with one inline script, and the Markdown counts them", () => {
    const html = renderHtml({ ...base, items: [semievol] });
    expect(html.match(/<script>/g)).toHaveLength(1); // the browser's; the data is JSON, which no browser runs
    expect(html.match(/<script type="application\/json" class="item-data">/g)).toHaveLength(1);
    expect(html).not.toMatch(/<link|\s(src|href)=/);
    expect(html).not.toContain('</script><script>document.title'); // the hostile text stays text
    expect(renderHtml(base)).not.toContain('<script');
    const markdown = renderMarkdown({ ...base, items: [semievol] }, 'x.html');
    expect(markdown).toContain('## Items of fpb (run semievol-run)');
    expect(markdown).toContain(`| selected | ${filterItems(semievol.items, { selected: true }).length} |`);
    expect(markdown).toContain(`| no-answer | ${filterItems(semievol.items, { reason: 'no-answer' }).length} |`);
  });

  it('totals the cost table, summing the estimates it has and saying how many', () => {
    const markdown = renderMarkdown(base, 'x.html');
    expect(markdown).toContain('| total | $0.0140 | $0.0200 | $0.1050 (2 of 3 stages) |');
    const estimated = renderMarkdown({ ...base, costs: base.costs!.slice(0, 2) }, 'x.html');
    expect(estimated).toContain('| total | $0.0100 | $0.0200 | $0.1050 |');
    expect(renderHtml(base)).toContain('<tr class="total"><td>total</td><td>$0.0140</td>');
  });

  it("explains the heat map's setting keys and the tie rule, and names each kind's choice", () => {
    const campaign: ReportData = {
      ...base,
      workflowType: 'selfGuideCampaign',
      method: 'selfguide-campaign',
      campaign: {
        settings: ['t0.7-in-on-out-on-e1', 't0.7-in-on-out-on-e2'],
        tasks: ['task190', 'task036', 'worst task'],
        gains: [
          [0.1, 0.02, 0.02],
          [0.12, 0.02, 0.02],
        ],
        choices: [
          { kinds: ['classification'], setting: 't0.7-in-on-out-on-e2', worstGain: 0.12 },
          { kinds: ['generation'], setting: 't0.7-in-on-out-on-e1', worstGain: 0.02 },
        ],
      },
    };
    const markdown = renderMarkdown(campaign, 'x.html');
    expect(markdown).toContain('- tN: the temperature N the inputs were generated at.');
    expect(markdown).toContain('- eN: N epochs of fine-tuning.');
    expect(markdown).toMatch(/tie.*the one listed first wins/);
    expect(markdown).toContain(
      'classification: t0.7-in-on-out-on-e2 (+12.0), outlined; generation: t0.7-in-on-out-on-e1',
    );
    expect(renderHtml(campaign)).toMatch(/<ul class="legend"><li>tN: the temperature N/);
  });
});
