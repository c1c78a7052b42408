// The report's charts stay correct at a scale where spreading values into Math.min/Math.max overflows the stack.
import { histogramBins, histogramChart } from '../../lib/report/charts';

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
      axis: 'H',
    });
    expect(chart.match(/class="bar /g)).toHaveLength(40);
    expect(chart).toContain('>50000</text>');
  });
});
