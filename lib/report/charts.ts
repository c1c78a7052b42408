// Inline SVG charts for the run report: grouped bars, a histogram with a threshold line, a funnel and a heat map.
// Pure string building, no script and no dependency, so a report is one self-contained file. Every drawn mark has a
// class (`bar`, `cell`, `threshold`) and a <title>, which browsers show on hover and tests count. Every axis has a
// title and round ticks labelled by what the axis measures (its `Unit`), never by a value formatter of the marks.

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

/** What an axis measures, which alone decides how its ticks read: a count never gets a currency sign. */
export type Unit = 'count' | 'usd' | 'share' | 'number';

export interface Axis {
  title: string;
  unit: Unit;
}

/** Decimals that tell ticks `step` apart: 2 for 0.02, 0 for 5. */
const decimalsOf = (step: number) => Math.max(0, -Math.floor(Math.log10(step) + 1e-9));

const grouped = new Intl.NumberFormat('en-US');

/** A tick's label: the value in the axis' unit, with no more decimals than the step between ticks needs. */
export function tickLabel(unit: Unit, value: number, step: number): string {
  if (unit === 'count') return grouped.format(Math.round(value));
  if (unit === 'usd') return `$${value.toFixed(decimalsOf(step))}`;
  if (unit === 'share') return `${(100 * value).toFixed(decimalsOf(100 * step))}%`;
  return value.toFixed(decimalsOf(step));
}

/**
 * About `count` round ticks (steps of 1, 2 or 5 times a power of ten; whole steps for counts) that cover [lo, hi]:
 * `outward` extends the range to the ticks around it (a value axis from 0), else only ticks inside it are kept (a
 * histogram's bins span exactly their range).
 */
export function niceTicks(lo: number, hi: number, count: number, unit: Unit, outward: boolean): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(unit === 'count' ? 1 : 0, [1, 2, 5, 10].find((m) => m * magnitude >= raw)! * magnitude);
  const decimals = decimalsOf(step);
  const first = outward ? Math.floor(lo / step + 1e-9) : Math.ceil(lo / step - 1e-9);
  // An outward axis spans at least one step, so a chart of zeros still has a scale.
  const last = outward ? Math.max(first + 1, Math.ceil(hi / step - 1e-9)) : Math.floor(hi / step + 1e-9);
  return Array.from({ length: Math.max(1, last - first + 1) }, (_, i) =>
    Number(((first + i) * step).toFixed(decimals)),
  );
}

const stepOf = (ticks: number[]) => (ticks.length > 1 ? ticks[1] - ticks[0] : 1);

/** The widest tick label's width in pixels at font size 10. */
const labelWidth = (labels: string[]) => 6 * maxOf(labels.map((l) => l.length));

/** A vertical value axis at `left`: ticks, light grid lines across the plot, and the title turned upright. */
function verticalAxis(axis: Axis, ticks: number[], y: (v: number) => number, left: number, plotWidth: number) {
  const step = stepOf(ticks);
  const labels = ticks.map((t) => tickLabel(axis.unit, t, step));
  const middle = (y(ticks[0]) + y(ticks.at(-1)!)) / 2;
  return [
    ...ticks.flatMap((t, i) => [
      `<line class="grid" x1="${left}" y1="${fixed(y(t))}" x2="${left + plotWidth}" y2="${fixed(y(t))}"` +
        ` stroke="${i ? '#e6e6e6' : '#555'}"/>`,
      text(left - 6, y(t) + 3.5, labels[i], 'font-size="10" text-anchor="end"'),
    ]),
    text(12, middle, axis.title, `font-size="11" text-anchor="middle" transform="rotate(-90 12 ${fixed(middle)})"`),
  ];
}

/** A horizontal value axis under the plot at `bottom`: ticks, grid lines up to `top`, and the title below. */
function horizontalAxis(axis: Axis, ticks: number[], x: (v: number) => number, top: number, bottom: number) {
  const step = stepOf(ticks);
  return [
    ...ticks.flatMap((t) => [
      `<line class="grid" x1="${fixed(x(t))}" y1="${top}" x2="${fixed(x(t))}" y2="${bottom + 4}" stroke="#e6e6e6"/>`,
      text(x(t), bottom + 15, tickLabel(axis.unit, t, step), 'font-size="10" text-anchor="middle"'),
    ]),
    text((x(ticks[0]) + x(ticks.at(-1)!)) / 2, bottom + 31, axis.title, 'font-size="11" text-anchor="middle"'),
  ];
}

/** Room left of a vertical axis for its tick labels and its upright title. */
const axisRoom = (axis: Axis, ticks: number[]) =>
  26 + labelWidth(ticks.map((t) => tickLabel(axis.unit, t, stepOf(ticks))));

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
  /** What the groups are: the horizontal axis' title. */
  groupAxis: string;
  valueAxis: Axis;
  /** The value axis' top; the round tick at or above the largest value when omitted. */
  max?: number;
  /** Each bar's value label (finer than the axis' ticks: the number the table shows). */
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
  const largest = maxOf(spec.groups.flatMap((g) => g.bars.map((b) => b.value)));
  const ticks = niceTicks(0, spec.max ?? Math.max(0, largest), 5, spec.valueAxis.unit, true);
  const left = axisRoom(spec.valueAxis, ticks);
  const width = Math.max(360, left + plotWidth + 30 + legendWidth(series));
  const height = 250;
  const top = 16;
  const plotHeight = 170;
  const max = ticks.at(-1)!;
  const y = (v: number) => top + plotHeight - (Math.max(0, v) / max) * plotHeight;
  const body: string[] = verticalAxis(spec.valueAxis, ticks, y, left, plotWidth);
  let x = left + gap;
  spec.groups.forEach((group, g) => {
    const offset = (groupWidths[g] - group.bars.length * barWidth) / 2;
    group.bars.forEach((b, i) => {
      const color = palette[series.indexOf(b.label) % palette.length];
      const bx = x + offset + i * barWidth;
      body.push(
        `<rect class="bar" x="${fixed(bx)}" y="${fixed(y(b.value))}" width="${barWidth - 3}"` +
          ` height="${fixed(top + plotHeight - y(b.value))}" fill="${color}"><title>` +
          `${escapeXml(`${group.label}: ${b.label} ${spec.format(b.value)}`)}</title></rect>`,
        text(bx + (barWidth - 3) / 2, y(b.value) - 3, spec.format(b.value), 'font-size="9" text-anchor="middle"'),
      );
    });
    body.push(text(x + groupWidths[g] / 2, top + plotHeight + 16, group.label, 'font-size="11" text-anchor="middle"'));
    x += groupWidths[g] + gap;
  });
  body.push(
    text(left + plotWidth / 2, top + plotHeight + 36, spec.groupAxis, 'font-size="11" text-anchor="middle"'),
    ...legend(series, left + plotWidth + 16, top),
  );
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
  /** The binned values' title (horizontal) and what a bin counts (vertical). */
  axes: { x: string; y: string };
}): string {
  const { bins } = spec;
  const xAxis: Axis = { title: spec.axes.x, unit: 'number' };
  const yAxis: Axis = { title: spec.axes.y, unit: 'count' };
  const counts = niceTicks(0, Math.max(0, maxOf(bins.map((b) => b.selected + b.rest))), 5, 'count', true);
  const left = axisRoom(yAxis, counts);
  const top = 16;
  const plotWidth = 480;
  const plotHeight = 170;
  const width = left + plotWidth + 30 + legendWidth(spec.labels);
  const height = 256;
  const lo = bins[0]?.from ?? 0;
  const hi = bins.at(-1)?.to ?? 1;
  const x = (v: number) => left + ((v - lo) / (hi - lo || 1)) * plotWidth;
  const max = counts.at(-1)!;
  const h = (n: number) => (n / max) * plotHeight;
  const body: string[] = [
    ...verticalAxis(yAxis, counts, (n) => top + plotHeight - h(n), left, plotWidth),
    ...horizontalAxis(xAxis, niceTicks(lo, hi, 8, 'number', false), x, top, top + plotHeight),
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

/**
 * Horizontal bars from the first step's count down, e.g. generated inputs → filters → kept → labelled pairs; `axis`
 * names what the steps count.
 */
export function funnelChart(spec: { title: string; steps: FunnelStep[]; axis: string }): string {
  const left = 170;
  const rowHeight = 22;
  const plotWidth = 380;
  const width = left + plotWidth + 70;
  const plotHeight = spec.steps.length * rowHeight + 4;
  const height = plotHeight + 44;
  const ticks = niceTicks(0, Math.max(0, maxOf(spec.steps.map((s) => s.count))), 5, 'count', true);
  const max = ticks.at(-1)!;
  const x = (n: number) => left + (n / max) * plotWidth;
  const body = [
    ...horizontalAxis({ title: spec.axis, unit: 'count' }, ticks, x, 4, plotHeight),
    ...spec.steps.flatMap((step, i) => {
      const y = 8 + i * rowHeight;
      const w = Math.max(step.count ? 2 : 0, x(step.count) - left);
      const color = step.kind === 'stage' ? palette[0] : palette[3];
      return [
        text(left - 8, y + 14, step.label, 'font-size="11" text-anchor="end"'),
        `<rect class="bar ${step.kind}" x="${left}" y="${y}" width="${fixed(w)}" height="${rowHeight - 6}"` +
          ` fill="${color}"><title>${escapeXml(`${step.label}: ${step.count}`)}</title></rect>`,
        text(left + w + 6, y + 13, String(step.count), 'font-size="11"'),
      ];
    }),
  ];
  return svg('funnel', width, height, spec.title, body);
}

export interface HeatMapSpec {
  title: string;
  rows: string[];
  columns: string[];
  /** What the rows and the columns are: each label column's and the header row's title. */
  axes: { rows: string; columns: string };
  /** values[row][column]; null for a cell with no value. */
  values: (number | null)[][];
  /** A row to outline (the chosen setting). */
  highlight: string | null;
  format: (value: number) => string;
}

/** Cells colored from red (lowest) through white (zero) to blue (highest), with a key of the scale below them. */
export function heatMap(spec: HeatMapSpec): string {
  const left = 230;
  const top = 44;
  const cellWidth = 86;
  const cellHeight = 20;
  const gridBottom = top + spec.rows.length * cellHeight;
  const keyShares = [-1, -0.5, 0, 0.5, 1];
  const width = Math.max(left + spec.columns.length * cellWidth + 20, left + keyShares.length * 56 + 20);
  const height = gridBottom + 50;
  const all = spec.values.flat().filter((v): v is number => v !== null);
  const extent = Math.max(1e-9, maxOf(all.map(Math.abs)));
  const strength = (v: number) => Math.min(1, Math.abs(v) / extent);
  const color = (v: number) => {
    const fade = (c: number) => Math.round(255 - strength(v) * (255 - c));
    return v >= 0 ? `rgb(${fade(33)},${fade(102)},${fade(172)})` : `rgb(${fade(202)},${fade(0)},${fade(32)})`;
  };
  const body: string[] = [
    text(
      left + (spec.columns.length * cellWidth) / 2,
      top - 26,
      spec.axes.columns,
      'font-size="11" text-anchor="middle"',
    ),
    text(left - 8, top - 8, spec.axes.rows, 'font-size="11" text-anchor="end"'),
    ...spec.columns.map((c, j) =>
      text(left + j * cellWidth + cellWidth / 2, top - 8, c, 'font-size="11" text-anchor="middle"'),
    ),
  ];
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
  // The key: the colors of the largest loss, half of it, none, and half and all of the largest gain.
  const keyTop = gridBottom + 16;
  body.push(text(left - 8, keyTop + 13, 'color scale', 'font-size="11" text-anchor="end"'));
  keyShares.forEach((share, k) => {
    const x = left + k * 56;
    const v = share * extent;
    body.push(
      `<rect class="key" x="${x}" y="${keyTop}" width="54" height="18" fill="${color(v)}" stroke="#ccc"/>`,
      text(
        x + 27,
        keyTop + 13,
        spec.format(v),
        `font-size="10" text-anchor="middle"${strength(v) > 0.5 ? ' fill="#fff"' : ''}`,
      ),
    );
  });
  return svg('heatmap', width, height, spec.title, body);
}
