// What the line, bar and scatter charts share: palette, escaping and the tick
// rule, so every chart of a report looks like one family.

export const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** The opening of every chart: same size attributes, font and white background as lineChart.ts. */
export function svgOpen(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
  ];
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round ticks, each k·step rather than a running sum, so the tick at 0 is 0 and not 3e-17. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / count)));
  const multiple = [1, 2, 5, 10].find((m) => (hi - lo) / (m * step) <= count) ?? 10;
  const s = multiple * step;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / s); k * s <= hi + s * 1e-9; k++) ticks.push(Number((k * s).toPrecision(12)));
  return ticks;
}

/** A tick or value label: three significant figures, no trailing zeros; e-notation when large or tiny (1230, 0.0123, 1.5e9). */
export function shortNumber(x: number): string {
  const size = Math.abs(x);
  if (size !== 0 && (size >= 1e5 || size < 1e-3)) {
    const [mantissa, exponent] = x.toExponential(2).split('e');
    return `${Number(mantissa)}e${Number(exponent)}`;
  }
  return String(Number(x.toPrecision(3)));
}

/** [lo, hi] widened a little so marks at the ends are not drawn on the frame; a single value gets a range around it. */
export function paddedRange(values: readonly number[]): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = hi > lo ? (hi - lo) * 0.08 : (Math.abs(lo) || 1) * 0.1;
  return [lo - pad, hi + pad];
}

/** The one-line note under a chart naming what it could not draw, or nothing. */
export function skippedNote(skipped: readonly string[], x: number, y: number): string[] {
  if (skipped.length === 0) return [];
  return [`<text class="note" x="${x}" y="${y}" fill="#555">${escapeXml(`not drawn: ${skipped.join('; ')}`)}</text>`];
}
