// The report's charts: every axis has a title and round ticks labelled in its own unit, and the charts stay correct
// at a scale where spreading values into Math.min/Math.max overflows the stack.
import {
  funnelChart,
  groupedBarChart,
  heatMap,
  histogramBins,
  histogramChart,
  niceTicks,
  tickLabel,
} from '../../lib/report/charts';

/** Every text a chart writes, in order, unescaped enough to compare. */
const texts = (svg: string) =>
  [...svg.matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&amp;/g, '&'));

describe('ticks', () => {
  it('are round numbers covering the range, whole ones for counts', () => {
    expect(niceTicks(0, 3, 5, 'count', true)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0, 0.08, 5, 'usd', true)).toEqual([0, 0.02, 0.04, 0.06, 0.08]);
    expect(niceTicks(0, 0.0825, 5, 'usd', true)).toEqual([0, 0.02, 0.04, 0.06, 0.08, 0.1]);
    expect(niceTicks(0, 1, 5, 'share', true)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 0, 5, 'count', true)).toEqual([0, 1]); // a scale even for nothing
    // Inside a histogram's range only: its bins span exactly 0.05 to 1.23.
    expect(niceTicks(0.05, 1.23, 8, 'number', false)).toEqual([0.2, 0.4, 0.6, 0.8, 1, 1.2]);
  });

  it("read in the axis' unit with the decimals the step needs: a count is never money", () => {
    expect(tickLabel('count', 4, 1)).toBe('4');
    expect(tickLabel('count', 50_000, 10_000)).toBe('50,000');
    expect(tickLabel('usd', 0.04, 0.02)).toBe('$0.04');
    expect(tickLabel('usd', 4, 2)).toBe('$4');
    expect(tickLabel('share', 0.6, 0.2)).toBe('60%');
    expect(tickLabel('share', 0.05, 0.05)).toBe('5%');
    expect(tickLabel('number', 0.4, 0.2)).toBe('0.4');
  });
});

describe('axis titles and tick labels', () => {
  it('the entropy histogram: counts of questions up, H across, and no currency on either axis', () => {
    const entropies = Array.from({ length: 60 }, (_, i) => ({ value: 0.05 + i * 0.02, selected: i < 30 }));
    const chart = texts(
      histogramChart({
        title: 'entropy histogram',
        bins: histogramBins(entropies, 20),
        threshold: 0.64,
        labels: ['selected', 'not selected'],
        axes: { x: 'H (mean negative log-probability per token)', y: 'questions' },
      }),
    );
    expect(chart).toEqual(
      expect.arrayContaining([
        '0',
        '1',
        '2',
        '3',
        '0.2',
        '0.4',
        '1.2',
        'questions',
        'H (mean negative log-probability per token)',
      ]),
    );
    expect(chart.filter((t) => t.includes('$'))).toEqual([]);
  });

  it('grouped bars: the groups across, the value up in its unit', () => {
    const chart = texts(
      groupedBarChart({
        title: 'cost per stage',
        groups: [
          { label: 'warm-up', bars: [{ label: 'spent', value: 0.02 }] },
          { label: 'collaborate', bars: [{ label: 'spent', value: 0.08 }] },
        ],
        groupAxis: 'stage',
        valueAxis: { title: 'US dollars', unit: 'usd' },
        format: (v) => `$${v.toFixed(4)}`,
      }),
    );
    expect(chart).toEqual(expect.arrayContaining(['$0.00', '$0.02', '$0.08', 'US dollars', 'stage', '$0.0800']));
    const pairs = texts(
      groupedBarChart({
        title: 'pairs per class',
        groups: [{ label: 'E', bars: [{ label: 'pairs', value: 8 }] }],
        groupAxis: 'label',
        valueAxis: { title: 'synthetic pairs', unit: 'count' },
        format: (v) => String(v),
      }),
    );
    expect(pairs).toEqual(expect.arrayContaining(['0', '2', '4', '6', '8', 'synthetic pairs', 'label']));
    expect(pairs.filter((t) => t.includes('$'))).toEqual([]);
  });

  it('the funnel: a count axis under its bars', () => {
    const chart = texts(
      funnelChart({
        title: 'pseudo-labels',
        steps: [
          { label: 'unlabeled questions', count: 64, kind: 'stage' },
          { label: 'dropped: no answer', count: 3, kind: 'removed' },
        ],
        axis: 'questions',
      }),
    );
    expect(chart).toEqual(expect.arrayContaining(['0', '20', '40', '60', '80', 'questions']));
  });

  it('the heat map: what its rows and columns are, and a key of its colors', () => {
    const chart = texts(
      heatMap({
        title: 'gains',
        rows: ['t0.7-in-on-out-on-e1'],
        columns: ['task190', 'worst task'],
        axes: { rows: 'setting', columns: 'validation task' },
        values: [[0.2, -0.1]],
        highlight: null,
        format: (v) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`,
      }),
    );
    expect(chart).toEqual(expect.arrayContaining(['setting', 'validation task', '-20.0', '+0.0', '+20.0']));
  });
});

describe('histogram of 1,000,000 values', () => {
  const million = 1_000_000;
  // Entropies spread over [0, 2): value i is 2i/1e6, and every fourth one is selected.
  const values = Array.from({ length: million }, (_, i) => ({ value: (2 * i) / million, selected: i % 4 === 0 }));

  it('bins every value over the whole range', () => {
    const bins = histogramBins(values, 20);
    expect(bins).toHaveLength(20);
    expect(bins[0].from).toBe(0);
    expect(bins[19].to).toBeCloseTo(2 - 2 / million, 12);
    expect(bins.reduce((sum, b) => sum + b.selected + b.rest, 0)).toBe(million);
    expect(bins.reduce((sum, b) => sum + b.selected, 0)).toBe(million / 4);
  });

  it('draws the chart with the tallest bin as its scale', () => {
    const chart = histogramChart({
      title: 'entropy histogram',
      bins: histogramBins(values, 20),
      threshold: 0.5,
      labels: ['selected', 'not selected'],
      axes: { x: 'H', y: 'questions' },
    });
    expect(chart.match(/class="bar /g)).toHaveLength(40);
    expect(chart).toContain('>50,000</text>');
  });
});
