// Inline SVG charts for the run report: grouped bars, a histogram with a threshold line, a funnel and a heat map.
// Pure string building, no script and no dependency, so a report is one self-contained file. Every drawn mark has a
// class (`bar`, `cell`, `threshold`) and a <title>, which browsers show on hover and tests count.

const palette = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fixed = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/**
 * The largest of `values` (-Infinity for none). A loop, not Math.max(...values): spreading an array into a call's
 * arguments overflows the stack somewhere past 100,000 values, and a report may chart a million.
 */
function maxOf(values: Iterable<number>): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}

function minOf(values: Iterable<number>): number {
  let min = Infinity;
  for (const v of values) if (v < min) min = v;
  return min;
}

function svg(kind: string, width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg class="chart" data-chart="${kind}" xmlns="http://www.w3.org/2000/svg" width="${width}"` +
      ` height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    ...body,
    '</svg>',
  ].join('\n');
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${fixed(x)}" y="${fixed(y)}" ${attrs}>${escapeXml(content)}</text>`;
}

const legendWidth = (labels: readonly string[]) => 20 + 6.5 * Math.max(0, maxOf(labels.map((l) => l.length)));

function legend(labels: readonly string[], x: number, y: number): string[] {
  return labels.flatMap((label, i) => [
    `<rect class="legend" x="${x}" y="${y + i * 16}" width="10" height="10" fill="${palette[i % palette.length]}"/>`,
    text(x + 14, y + i * 16 + 9, label, 'font-size="11"'),
  ]);
}

export interface BarGroup {
  label: string;
  bars: { label: string; value: number }[];
}

export interface BarChartSpec {
  title: string;
  groups: BarGroup[];
  /** The value axis' top; the largest value when omitted. */
  max?: number;
  format: (value: number) => string;
}

/** Vertical bars in groups (e.g. models per task); a series keeps its color across groups. */
export function groupedBarChart(spec: BarChartSpec): string {
  const series = [...new Set(spec.groups.flatMap((g) => g.bars.map((b) => b.label)))];
  // Wide enough for each bar's value label, and each group for its name.
  const barWidth = Math.max(
    22,
    6 * maxOf(spec.groups.flatMap((g) => g.bars.map((b) => spec.format(b.value).length))) + 2,
  );
  const gap = 18;
  const groupWidths = spec.groups.map((g) => Math.max(g.bars.length * barWidth, 6.5 * g.label.length));
  const plotWidth = groupWidths.reduce((a, b) => a + b + gap, gap);
  const left = 56;
  const width = Math.max(360, left + plotWidth + 30 + legendWidth(series));
  const height = 240;
  const top = 16;
  const plotHeight = 170;
  const max = spec.max ?? Math.max(1e-9, maxOf(spec.groups.flatMap((g) => g.bars.map((b) => b.value))));
  const y = (v: number) => top + plotHeight - (Math.max(0, v) / max) * plotHeight;
  const body: string[] = [
    `<line x1="${left}" y1="${top + plotHeight}" x2="${left + plotWidth}" y2="${top + plotHeight}" stroke="#555"/>`,
    // Axis labels at 0, half and the top, each once (a count axis of 1 would label its middle "1" too).
    ...[...new Map([0, 0.5, 1].map((f) => [spec.format(f * max), f] as const))].map(([label, f]) =>
      text(left - 6, y(f * max) + 4, label, 'font-size="10" text-anchor="end"'),
    ),
  ];
  let x = left + gap;
  spec.groups.forEach((group, g) => {
    const offset = (groupWidths[g] - group.bars.length * barWidth) / 2;
    group.bars.forEach((b, i) => {
      const color = palette[series.indexOf(b.label) % palette.length];
      const bx = x + offset + i * barWidth;
      body.push(
        `<rect class="bar" x="${bx}" y="${fixed(y(b.value))}" width="${barWidth - 3}"` +
          ` height="${fixed(top + plotHeight - y(b.value))}" fill="${color}"><title>` +
          `${escapeXml(`${group.label}: ${b.label} ${spec.format(b.value)}`)}</title></rect>`,
        text(bx + (barWidth - 3) / 2, y(b.value) - 3, spec.format(b.value), 'font-size="9" text-anchor="middle"'),
      );
    });
    body.push(text(x + groupWidths[g] / 2, top + plotHeight + 16, group.label, 'font-size="11" text-anchor="middle"'));
    x += groupWidths[g] + gap;
  });
  body.push(...legend(series, left + plotWidth + 16, top));
  return svg('bars', width, height, spec.title, body);
}

export interface HistogramBin {
  from: number;
  to: number;
  /** Stacked: the selected share of the bin first. */
  selected: number;
  rest: number;
}

/** Equal-width bins over the values' range, each split into selected and not. */
export function histogramBins(values: readonly { value: number; selected: boolean }[], count: number): HistogramBin[] {
  if (!values.length) return [];
  const lo = minOf(values.map((v) => v.value));
  const hi = maxOf(values.map((v) => v.value));
  const span = hi - lo || 1;
  const bins: HistogramBin[] = Array.from({ length: count }, (_, i) => ({
    from: lo + (i * span) / count,
    to: lo + ((i + 1) * span) / count,
    selected: 0,
    rest: 0,
  }));
  for (const v of values) {
    const bin = bins[Math.min(count - 1, Math.floor(((v.value - lo) / span) * count))];
    if (v.selected) bin.selected++;
    else bin.rest++;
  }
  return bins;
}

/** A histogram of stacked bins with a vertical threshold line (SemiEvol's tau). */
export function histogramChart(spec: {
  title: string;
  bins: HistogramBin[];
  threshold: number | null;
  labels: [string, string];
  axis: string;
}): string {
  const left = 40;
  const top = 16;
  const plotWidth = 480;
  const plotHeight = 170;
  const width = left + plotWidth + 30 + legendWidth(spec.labels);
  const height = 240;
  const { bins } = spec;
  const lo = bins[0]?.from ?? 0;
  const hi = bins.at(-1)?.to ?? 1;
  const x = (v: number) => left + ((v - lo) / (hi - lo || 1)) * plotWidth;
  const max = Math.max(1, maxOf(bins.map((b) => b.selected + b.rest)));
  const h = (n: number) => (n / max) * plotHeight;
  const body: string[] = [
    `<line x1="${left}" y1="${top + plotHeight}" x2="${left + plotWidth}" y2="${top + plotHeight}" stroke="#555"/>`,
    text(left - 6, top + 8, String(max), 'font-size="10" text-anchor="end"'),
    text(left, top + plotHeight + 14, fixed(lo), 'font-size="10"'),
    text(left + plotWidth, top + plotHeight + 14, fixed(hi), 'font-size="10" text-anchor="end"'),
    text(left + plotWidth / 2, top + plotHeight + 28, spec.axis, 'font-size="11" text-anchor="middle"'),
  ];
  for (const b of bins) {
    const bx = x(b.from) + 1;
    const bw = Math.max(1, x(b.to) - x(b.from) - 2);
    const range = `${fixed(b.from)}–${fixed(b.to)}`;
    if (b.selected)
      body.push(
        `<rect class="bar selected" x="${fixed(bx)}" y="${fixed(top + plotHeight - h(b.selected))}"` +
          ` width="${fixed(bw)}" height="${fixed(h(b.selected))}" fill="${palette[0]}"><title>` +
          `${escapeXml(`${range}: ${b.selected} ${spec.labels[0]}`)}</title></rect>`,
      );
    if (b.rest)
      body.push(
        `<rect class="bar rest" x="${fixed(bx)}" y="${fixed(top + plotHeight - h(b.selected + b.rest))}"` +
          ` width="${fixed(bw)}" height="${fixed(h(b.rest))}" fill="${palette[1]}"><title>` +
          `${escapeXml(`${range}: ${b.rest} ${spec.labels[1]}`)}</title></rect>`,
      );
  }
  if (spec.threshold !== null) {
    const tx = x(spec.threshold);
    body.push(
      `<line class="threshold" x1="${fixed(tx)}" y1="${top - 4}" x2="${fixed(tx)}" y2="${top + plotHeight}"` +
        ` stroke="#000" stroke-dasharray="4 3"><title>threshold ${fixed(spec.threshold)}</title></line>`,
    );
    body.push(text(tx + 3, top + 6, `τ = ${spec.threshold.toFixed(3)}`, 'font-size="11"'));
  }
  body.push(...legend(spec.labels, left + plotWidth + 16, top));
  return svg('histogram', width, height, spec.title, body);
}

export interface FunnelStep {
  label: string;
  count: number;
  /** `stage` bars show what is left; `removed` bars what a filter took out. */
  kind: 'stage' | 'removed';
}

/** Horizontal bars from the first step's count down, e.g. generated inputs → filters → kept → labelled pairs. */
export function funnelChart(spec: { title: string; steps: FunnelStep[] }): string {
  const left = 170;
  const rowHeight = 22;
  const plotWidth = 380;
  const width = left + plotWidth + 70;
  const height = spec.steps.length * rowHeight + 16;
  const max = Math.max(1, maxOf(spec.steps.map((s) => s.count)));
  const body = spec.steps.flatMap((step, i) => {
    const y = 8 + i * rowHeight;
    const w = Math.max(step.count ? 2 : 0, (step.count / max) * plotWidth);
    const color = step.kind === 'stage' ? palette[0] : palette[3];
    return [
      text(left - 8, y + 14, step.label, 'font-size="11" text-anchor="end"'),
      `<rect class="bar ${step.kind}" x="${left}" y="${y}" width="${fixed(w)}" height="${rowHeight - 6}"` +
        ` fill="${color}"><title>${escapeXml(`${step.label}: ${step.count}`)}</title></rect>`,
      text(left + w + 6, y + 13, String(step.count), 'font-size="11"'),
    ];
  });
  return svg('funnel', width, height, spec.title, body);
}

export interface HeatMapSpec {
  title: string;
  rows: string[];
  columns: string[];
  /** values[row][column]; null for a cell with no value. */
  values: (number | null)[][];
  /** A row to outline (the chosen setting). */
  highlight: string | null;
  format: (value: number) => string;
}

/** Cells colored from red (lowest) through white (zero) to blue (highest). */
export function heatMap(spec: HeatMapSpec): string {
  const left = 230;
  const top = 40;
  const cellWidth = 86;
  const cellHeight = 20;
  const width = left + spec.columns.length * cellWidth + 20;
  const height = top + spec.rows.length * cellHeight + 10;
  const all = spec.values.flat().filter((v): v is number => v !== null);
  const extent = Math.max(1e-9, maxOf(all.map(Math.abs)));
  const strength = (v: number) => Math.min(1, Math.abs(v) / extent);
  const color = (v: number) => {
    const fade = (c: number) => Math.round(255 - strength(v) * (255 - c));
    return v >= 0 ? `rgb(${fade(33)},${fade(102)},${fade(172)})` : `rgb(${fade(202)},${fade(0)},${fade(32)})`;
  };
  const body: string[] = spec.columns.map((c, j) =>
    text(left + j * cellWidth + cellWidth / 2, top - 8, c, 'font-size="11" text-anchor="middle"'),
  );
  spec.rows.forEach((row, i) => {
    const y = top + i * cellHeight;
    body.push(
      text(
        left - 8,
        y + 14,
        row,
        `font-size="11" text-anchor="end"${row === spec.highlight ? ' font-weight="bold"' : ''}`,
      ),
    );
    spec.columns.forEach((column, j) => {
      const v = spec.values[i][j];
      const x = left + j * cellWidth;
      body.push(
        `<rect class="cell" x="${x}" y="${y}" width="${cellWidth - 2}" height="${cellHeight - 2}"` +
          ` fill="${v === null ? '#eee' : color(v)}"><title>` +
          `${escapeXml(`${row} on ${column}: ${v === null ? 'n/a' : spec.format(v)}`)}</title></rect>`,
        text(
          x + cellWidth / 2,
          y + 13,
          v === null ? '–' : spec.format(v),
          `font-size="10" text-anchor="middle"${v !== null && strength(v) > 0.5 ? ' fill="#fff"' : ''}`,
        ),
      );
    });
    if (row === spec.highlight)
      body.push(
        `<rect class="highlight" x="${left - 2}" y="${y - 1}" width="${spec.columns.length * cellWidth + 2}"` +
          ` height="${cellHeight}" fill="none" stroke="#000" stroke-width="2"/>`,
      );
  });
  return svg('heatmap', width, height, spec.title, body);
}
