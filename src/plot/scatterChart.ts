import { escapeXml, niceTicks, paddedRange, palette, shortNumber, skippedNote, svgOpen } from './chartParts.js';

// A scatter of labelled points as standalone SVG, in lineChart.ts's style, made
// for trade-offs where lower x and higher y are both better (forgetting against
// adaptation). Points no other point beats on both at once — the Pareto front —
// are filled; dominated ones are hollow; the legend says which is which, and the
// colours (one per group) say what kind of thing each point is.
// Each point is a <circle class="point pareto|dominated" data-label="..."> so a
// test can find it. Points with a non-finite coordinate are skipped and named in a note.

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

  const [x0, x1] = paddedRange(drawn.flatMap((p) => [p.x - spread(p.xError), p.x + spread(p.xError)]));
  const [y0, y1] = paddedRange(drawn.flatMap((p) => [p.y - spread(p.yError), p.y + spread(p.yError)]));
  const px = (x: number) => margin.left + ((x - x0) / (x1 - x0)) * plotW;
  const py = (y: number) => margin.top + plotH - ((y - y0) / (y1 - y0)) * plotH;
  for (const t of niceTicks(x0, x1, 8)) {
    parts.push(`<line x1="${px(t).toFixed(1)}" x2="${px(t).toFixed(1)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${px(t).toFixed(1)}" y="${margin.top + plotH + 16}" text-anchor="middle">${shortNumber(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1, 6)) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${shortNumber(t)}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);

  drawn.forEach((p, i) => {
    const [cx, cy] = [px(p.x), py(p.y)];
    const colour = colourOf(p);
    const [ex, ey] = [spread(p.xError), spread(p.yError)];
    if (ex > 0) parts.push(`<line class="error-bar" x1="${px(p.x - ex).toFixed(1)}" x2="${px(p.x + ex).toFixed(1)}" y1="${cy.toFixed(1)}" y2="${cy.toFixed(1)}" stroke="${colour}" stroke-opacity="0.5"/>`);
    if (ey > 0) parts.push(`<line class="error-bar" x1="${cx.toFixed(1)}" x2="${cx.toFixed(1)}" y1="${py(p.y - ey).toFixed(1)}" y2="${py(p.y + ey).toFixed(1)}" stroke="${colour}" stroke-opacity="0.5"/>`);
    const fill = optimal[i] ? colour : 'white';
    parts.push(`<circle class="point ${optimal[i] ? 'pareto' : 'dominated'}" data-label="${escapeXml(p.label)}" cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4.5" fill="${fill}" stroke="${colour}" stroke-width="1.6"/>`);
    parts.push(`<text x="${(cx + 7).toFixed(1)}" y="${(cy - 6).toFixed(1)}">${escapeXml(p.label)}</text>`);
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
