import { escapeXml, niceTicks, paddedRange, palette, shortNumber, skippedNote, svgOpen } from './chartParts.js';

// A scatter of labelled points as standalone SVG, in lineChart.ts's style, made
// for trade-offs where lower x and higher y are both better (forgetting against
// adaptation). Points no other point beats on both at once — the Pareto front —
// are filled; dominated ones are hollow; the legend says which is which, and the
// colours (one per group) say what kind of thing each point is.
// Each point is a <circle class="point pareto|dominated" data-label="..."> so a
// test can find it. Points with a non-finite coordinate are skipped and named in a note.
//
// Made to stay readable with twenty methods and three seeds:
//   - the axes span the points, not their error bars: with three seeds a 95%
//     interval is over four standard deviations wide and would shrink every point
//     into the middle; bars are clipped at the frame, so one that reaches it runs on;
//   - a point far off in x from all the others (steering, at its fixed scale, shifts
//     general text ten times more than any learner) is drawn as an arrow at the
//     frame's edge with its value in the label, instead of squeezing the rest into
//     one corner (class "point off-scale");
//   - labels that would overlap are moved apart vertically, with a leader line
//     back to their point.

export interface ScatterPoint {
  label: string;
  x: number;
  y: number;
  /** Half-widths of the error bars (omit or non-finite: none). */
  xError?: number;
  yError?: number;
  /** Points of one group share a colour and a legend entry. */
  group?: string;
}

export interface ScatterOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

const finite = (p: { x: number; y: number }) => Number.isFinite(p.x) && Number.isFinite(p.y);

/** Per point, whether no other point has x ≤ and y ≥ with one of them strict (lower x and higher y are better); non-finite points are never optimal. */
export function paretoOptimal(points: readonly { x: number; y: number }[]): boolean[] {
  return points.map((p) => finite(p) && !points.some((q) => finite(q) && q.x <= p.x && q.y >= p.y && (q.x < p.x || q.y > p.y)));
}

function spread(error: number | undefined): number {
  return error !== undefined && Number.isFinite(error) && error > 0 ? error : 0;
}

export function scatterChartSvg(points: readonly ScatterPoint[], options: ScatterOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 460;
  const margin = { left: 70, right: 190, top: 40, bottom: 70 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const drawn = points.filter(finite);
  const skipped = points.filter((p) => !finite(p)).map((p) => `${p.label} (no value)`);
  const optimal = paretoOptimal(drawn);
  const groups = [...new Set(drawn.map((p) => p.group ?? ''))];
  const colourOf = (p: ScatterPoint) => palette[groups.indexOf(p.group ?? '') % palette.length];
  const parts = svgOpen(width, height, options.title);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 36}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);
  const noteY = margin.top + plotH + 58;
  if (drawn.length === 0) {
    parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
    parts.push(`<text x="${margin.left + plotW / 2}" y="${margin.top + plotH / 2}" text-anchor="middle" fill="#555">nothing to draw</text>`);
    parts.push(...skippedNote(skipped, margin.left, noteY), '</svg>');
    return `${parts.join('\n')}\n`;
  }

  const [xLo, xHi] = onScaleRange(drawn.map((p) => p.x));
  const onScale = (p: ScatterPoint) => p.x >= xLo && p.x <= xHi;
  const [x0, x1] = paddedRange(drawn.filter(onScale).map((p) => p.x));
  const [y0, y1] = paddedRange(drawn.map((p) => p.y));
  const [left, right, top, bottom] = [margin.left, margin.left + plotW, margin.top, margin.top + plotH];
  const clampX = (x: number) => Math.min(right, Math.max(left, x));
  const clampY = (y: number) => Math.min(bottom, Math.max(top, y));
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * plotW;
  const py = (y: number) => bottom - ((y - y0) / (y1 - y0)) * plotH;
  for (const t of niceTicks(x0, x1, 8)) {
    parts.push(`<line x1="${px(t).toFixed(1)}" x2="${px(t).toFixed(1)}" y1="${top}" y2="${bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${px(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${shortNumber(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1, 6)) {
    parts.push(`<line x1="${left}" x2="${right}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${shortNumber(t)}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);

  const anchors: LabelAnchor[] = [];
  drawn.forEach((p, i) => {
    const colour = colourOf(p);
    const status = optimal[i] ? 'pareto' : 'dominated';
    const fill = optimal[i] ? colour : 'white';
    const [ex, ey] = [spread(p.xError), spread(p.yError)];
    const cy = py(p.y);
    if (!onScale(p)) {
      // An arrow at the edge the point lies beyond, pointing out; its label says where it really is.
      const beyondRight = p.x > xHi;
      const cx = beyondRight ? right - 7 : left + 7;
      const tip = beyondRight ? cx + 6 : cx - 6;
      if (ey > 0) parts.push(errorBar(cx, clampY(py(p.y - ey)), cx, clampY(py(p.y + ey)), colour));
      parts.push(`<polygon class="point off-scale ${status}" data-label="${escapeXml(p.label)}" points="${tip.toFixed(1)},${cy.toFixed(1)} ${(2 * cx - tip).toFixed(1)},${(cy - 5).toFixed(1)} ${(2 * cx - tip).toFixed(1)},${(cy + 5).toFixed(1)}" fill="${fill}" stroke="${colour}" stroke-width="1.6"/>`);
      const text = `${p.label} (x = ${shortNumber(p.x)} ${beyondRight ? '→' : '←'})`;
      anchors.push({ x: beyondRight ? cx - 9 : cx + 9, y: cy, text, end: beyondRight, pointX: cx });
      return;
    }
    const cx = px(p.x);
    if (ex > 0) parts.push(errorBar(clampX(px(p.x - ex)), cy, clampX(px(p.x + ex)), cy, colour));
    if (ey > 0) parts.push(errorBar(cx, clampY(py(p.y - ey)), cx, clampY(py(p.y + ey)), colour));
    parts.push(`<circle class="point ${status}" data-label="${escapeXml(p.label)}" cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4.5" fill="${fill}" stroke="${colour}" stroke-width="1.6"/>`);
    anchors.push({ x: cx + 7, y: cy, text: p.label, end: false, pointX: cx });
  });
  const baselines = placeLabels(anchors, top, bottom + 12);
  anchors.forEach((a, i) => {
    const baseline = baselines[i];
    if (Math.abs(baseline - (a.y - LABEL_RISE)) > 0.5) {
      parts.push(`<line class="leader" x1="${a.pointX.toFixed(1)}" y1="${a.y.toFixed(1)}" x2="${a.x.toFixed(1)}" y2="${(baseline - 4).toFixed(1)}" stroke="#999" stroke-width="0.8"/>`);
    }
    parts.push(`<text class="point-label" x="${a.x.toFixed(1)}" y="${baseline.toFixed(1)}"${a.end ? ' text-anchor="end"' : ''}>${escapeXml(a.text)}</text>`);
  });

  parts.push(...legend(groups, margin.left + plotW + 16, margin.top + 8));
  parts.push(...skippedNote(skipped, margin.left, noteY), '</svg>');
  return `${parts.join('\n')}\n`;
}

/** Filled versus hollow first (what the chart is for), then one colour swatch per named group. */
function legend(groups: readonly string[], x: number, y: number): string[] {
  const out = [
    `<circle cx="${x + 5}" cy="${y}" r="4.5" fill="#333" stroke="#333"/>`,
    `<text class="legend" x="${x + 16}" y="${y + 4}">Pareto-optimal</text>`,
    `<circle cx="${x + 5}" cy="${y + 20}" r="4.5" fill="white" stroke="#333" stroke-width="1.6"/>`,
    `<text class="legend" x="${x + 16}" y="${y + 24}">dominated: another point</text>`,
    `<text class="legend" x="${x + 16}" y="${y + 40}">has lower x and higher y</text>`,
  ];
  groups.forEach((group, i) => {
    if (group === '') return;
    const gy = y + 66 + i * 18;
    out.push(`<rect x="${x}" y="${gy - 9}" width="10" height="10" fill="${palette[i % palette.length]}"/>`);
    out.push(`<text class="legend" x="${x + 16}" y="${gy}">${escapeXml(group)}</text>`);
  });
  return out;
}

function errorBar(x1: number, y1: number, x2: number, y2: number, colour: string): string {
  return `<line class="error-bar" x1="${x1.toFixed(1)}" x2="${x2.toFixed(1)}" y1="${y1.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${colour}" stroke-opacity="0.5"/>`;
}

/** How many times the other points' x span a point must lie beyond them to be drawn at the edge instead. */
const OFF_SCALE_GAP = 3;

/**
 * The x range the frame shows: every value, less those far out at either end
 * (more than OFF_SCALE_GAP times the rest's span beyond the rest), at most a quarter
 * of them per end, since an outlier is the exception. Values all equal but one, or
 * fewer than four values, are shown whole: there is no spread to judge distance by.
 */
export function onScaleRange(values: readonly number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  let [lo, hi] = [0, sorted.length - 1];
  const mostPerEnd = Math.floor(sorted.length / 4);
  for (let peeled = 0; peeled < mostPerEnd; peeled++) {
    const span = sorted[hi - 1] - sorted[lo];
    if (!(span > 0) || sorted[hi] - sorted[hi - 1] <= OFF_SCALE_GAP * span) break;
    hi--;
  }
  for (let peeled = 0; peeled < mostPerEnd; peeled++) {
    const span = sorted[hi] - sorted[lo + 1];
    if (!(span > 0) || sorted[lo + 1] - sorted[lo] <= OFF_SCALE_GAP * span) break;
    lo++;
  }
  return [sorted[lo], sorted[hi]];
}

export interface LabelAnchor {
  /** Where the text starts (or ends, when `end`), and the y of its point. */
  x: number;
  y: number;
  text: string;
  end: boolean;
  /** The point's own x, for the leader line. */
  pointX: number;
}

/** A label's baseline sits this far above its point when nothing is in the way. */
const LABEL_RISE = 6;
const LINE_HEIGHT = 13;
/** An estimate of the 12px sans-serif advance per character; labels are short names, so an estimate suffices. */
const CHAR_WIDTH = 6.6;

/**
 * A baseline per label such that no two labels' boxes overlap where that can be
 * had within a few lines of the label's point: top to bottom, each label takes
 * the nearest free line (alternating below and above its preferred one) inside [top, bottom].
 */
export function placeLabels(anchors: readonly LabelAnchor[], top: number, bottom: number): number[] {
  const baselines = anchors.map((a) => a.y - LABEL_RISE);
  const placed: { x0: number; x1: number; y0: number; y1: number }[] = [];
  const order = anchors.map((_, i) => i).sort((a, b) => anchors[a].y - anchors[b].y || a - b);
  for (const i of order) {
    const a = anchors[i];
    const width = a.text.length * CHAR_WIDTH;
    const [x0, x1] = a.end ? [a.x - width, a.x] : [a.x, a.x + width];
    const boxAt = (baseline: number) => ({ x0, x1, y0: baseline - 10, y1: baseline + 3 });
    const free = (baseline: number) => {
      const box = boxAt(baseline);
      return box.y0 >= top && box.y1 <= bottom && !placed.some((q) => q.x0 < box.x1 && box.x0 < q.x1 && q.y0 < box.y1 && box.y0 < q.y1);
    };
    const preferred = baselines[i];
    for (let step = 0; step <= 24; step++) {
      const offset = (step % 2 === 1 ? 1 : -1) * Math.ceil(step / 2) * LINE_HEIGHT;
      if (free(preferred + offset)) {
        baselines[i] = preferred + offset;
        break;
      }
    }
    placed.push(boxAt(baselines[i]));
  }
  return baselines;
}
