import { escapeXml, niceTicks, palette, shortNumber, skippedNote, svgOpen } from './chartParts.js';

// Bar charts as standalone SVG, in lineChart.ts's style: one horizontal bar per
// label (method names are long, and read better down a column than slanted
// under a bar), an optional error bar on each, ticks along the value axis.
// A value that cannot be drawn (not finite, or not positive on a log scale) gets
// no bar; a note under the chart names it, so a missing bar never reads as zero.
// Each bar is a <rect class="bar" data-label="..."> so a test can count and find them.

export interface Bar {
  label: string;
  value: number;
  /** Half-width of the error bar, drawn value ± error (omit or non-finite: none). */
  error?: number;
  colour?: string;
}

export interface BarChartOptions {
  title: string;
  /** The value axis's label (horizontal bars: it runs along the bottom). */
  yLabel: string;
  logScale?: boolean;
  /** On a log scale, the axis ends and ticks are powers of this (default 10; 32 puts bytes on KiB, 32 KiB, MiB, ...). */
  logBase?: number;
  width?: number;
  /** Tick and value labels (default: three significant figures). */
  formatValue?: (value: number) => string;
}

const ROW = 24;
const BAR = 16;
/** Rough width of one 12px sans-serif character, to size the label column. */
const CHAR = 7;

interface Axis {
  lo: number;
  hi: number;
  /** Where bars start: 0 on a linear scale, the axis's low end on a log one. */
  base: number;
  ticks: number[];
}

function linearAxis(ends: number[]): Axis {
  let lo = Math.min(0, ...ends);
  let hi = Math.max(0, ...ends);
  if (hi === lo) hi = lo + 1;
  // Room past the longest bar for its value label's start, on whichever side bars grow.
  const pad = (hi - lo) * 0.05;
  if (hi > 0) hi += pad;
  if (lo < 0) lo -= pad;
  return { lo, hi, base: 0, ticks: niceTicks(lo, hi, 6) };
}

function logAxis(ends: number[], base: number): Axis {
  const positive = ends.filter((v) => v > 0);
  const power = (v: number) => Math.log(v) / Math.log(base);
  // The 1e-9s keep an exact power (1024 on base 32 is 2.0000000000000004) from rounding out to the next one
  // at the top, and give a smallest value sitting on a power a bar of some length at the bottom.
  const low = Math.floor(power(Math.min(...positive)) - 1e-9);
  let high = Math.ceil(power(Math.max(...positive)) - 1e-9);
  if (high <= low) high = low + 1;
  const every = Math.ceil((high - low) / 8);
  const ticks: number[] = [];
  for (let k = low; k <= high; k += every) ticks.push(Math.pow(base, k));
  return { lo: Math.pow(base, low), hi: Math.pow(base, high), base: Math.pow(base, low), ticks };
}

function errorOf(bar: Bar): number {
  return bar.error !== undefined && Number.isFinite(bar.error) && bar.error > 0 ? bar.error : 0;
}

export function barChartSvg(bars: readonly Bar[], options: BarChartOptions): string {
  const log = options.logScale === true;
  const format = options.formatValue ?? shortNumber;
  const drawn = bars.filter((b) => Number.isFinite(b.value) && (!log || b.value > 0));
  const skipped = bars.filter((b) => !drawn.includes(b)).map((b) => `${b.label} (${Number.isFinite(b.value) ? `${format(b.value)}, not drawable on a log scale` : 'no value'})`);
  const width = options.width ?? 720;
  const labelWidth = Math.min(280, Math.max(60, CHAR * Math.max(0, ...drawn.map((b) => b.label.length)) + 12));
  const margin = { left: labelWidth + 10, right: 70, top: 40, bottom: 46 + (skipped.length > 0 ? 20 : 0) };
  const plotW = width - margin.left - margin.right;
  const plotH = Math.max(1, drawn.length) * ROW;
  const height = margin.top + plotH + margin.bottom;
  const parts = svgOpen(width, height, options.title);
  const axisLabel = `<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 36}" text-anchor="middle">${escapeXml(options.yLabel)}${log ? ' (log)' : ''}</text>`;
  if (drawn.length === 0) {
    parts.push(`<text x="${width / 2}" y="${margin.top + ROW / 2 + 4}" text-anchor="middle" fill="#555">nothing to draw</text>`, axisLabel);
    parts.push(...skippedNote(skipped, margin.left, margin.top + plotH + 58), '</svg>');
    return `${parts.join('\n')}\n`;
  }

  const ends = drawn.flatMap((b) => [b.value, b.value + errorOf(b), b.value - errorOf(b)]);
  const axis = log ? logAxis(ends, options.logBase ?? 10) : linearAxis(ends);
  const t = (v: number) => (log ? Math.log10(v) : v);
  // Error bars may reach below a log axis's low end; they stop at the frame.
  const px = (v: number) => margin.left + ((t(Math.max(v, log ? axis.lo : -Infinity)) - t(axis.lo)) / (t(axis.hi) - t(axis.lo))) * plotW;

  for (const tick of axis.ticks) {
    parts.push(`<line x1="${px(tick).toFixed(1)}" x2="${px(tick).toFixed(1)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${px(tick).toFixed(1)}" y="${margin.top + plotH + 16}" text-anchor="middle">${escapeXml(format(tick))}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  if (!log && axis.lo < 0) parts.push(`<line x1="${px(0).toFixed(1)}" x2="${px(0).toFixed(1)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#333"/>`);
  parts.push(axisLabel);

  drawn.forEach((bar, i) => {
    const top = margin.top + i * ROW + (ROW - BAR) / 2;
    const middle = top + BAR / 2;
    const [from, to] = [px(axis.base), px(bar.value)];
    const colour = bar.colour ?? palette[0];
    parts.push(`<text x="${margin.left - 6}" y="${(middle + 4).toFixed(1)}" text-anchor="end">${escapeXml(bar.label)}</text>`);
    parts.push(`<rect class="bar" data-label="${escapeXml(bar.label)}" x="${Math.min(from, to).toFixed(1)}" y="${top.toFixed(1)}" width="${Math.abs(to - from).toFixed(1)}" height="${BAR}" fill="${colour}"/>`);
    const error = errorOf(bar);
    if (error > 0) {
      const [a, b] = [px(bar.value - error).toFixed(1), px(bar.value + error).toFixed(1)];
      const [y0, y1] = [(middle - 5).toFixed(1), (middle + 5).toFixed(1)];
      parts.push(`<path class="error-bar" d="M${a},${y0} V${y1} M${a},${middle.toFixed(1)} H${b} M${b},${y0} V${y1}" fill="none" stroke="#333"/>`);
    }
    const outward = bar.value >= axis.base;
    const end = outward ? Math.max(to, px(bar.value + error)) + 4 : Math.min(to, px(bar.value - error)) - 4;
    parts.push(`<text x="${end.toFixed(1)}" y="${(middle + 4).toFixed(1)}" text-anchor="${outward ? 'start' : 'end'}" fill="#555">${escapeXml(format(bar.value))}</text>`);
  });
  parts.push(...skippedNote(skipped, margin.left, margin.top + plotH + 58), '</svg>');
  return `${parts.join('\n')}\n`;
}
