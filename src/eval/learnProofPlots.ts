import { type ProofKind, type ProofRunResult, formatLr, gapReduction, kindLabel } from '../learn/index.js';
import { type Series, lineChartSvg } from '../plot/lineChart.js';

// The two charts of a learn-proof run, one line per (kind, lr), each point the
// mean over seeds at one measurement (every seed is measured after the same
// interaction counts, so points line up by index):
//   - learning curves: the judge's score against interactions;
//   - learning versus forgetting: the general-text loss shift against the
//     teacher-gap reduction. A line that stays low while going right adapts
//     without forgetting; reading two lines at the same x is the comparison the
//     level table makes in numbers.

export interface MeanTrajectory {
  kind: ProofKind;
  lr: number;
  seeds: number;
  interactions: number[];
  judge: number[];
  gapReduction: number[];
  lossShift: number[];
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function meanTrajectories(result: ProofRunResult): MeanTrajectory[] {
  const out: MeanTrajectory[] = [];
  for (const s of result.summary) {
    const runs = result.runs.filter((r) => r.kind === s.kind && r.lr === s.lr);
    const length = Math.min(...runs.map((r) => r.points.length));
    const at = (f: (run: (typeof runs)[number], i: number) => number) => Array.from({ length }, (_, i) => mean(runs.map((r) => f(r, i))));
    const gaps = runs.map((r) => gapReduction(r.points));
    out.push({
      kind: s.kind, lr: s.lr, seeds: runs.length,
      interactions: runs[0].points.slice(0, length).map((p) => p.interactions),
      judge: at((r, i) => r.points[i].judge.meanScore),
      gapReduction: at((_, i) => mean(gaps.map((g) => g[i]))),
      lossShift: at((r, i) => r.points[i].generalLoss - r.points[0].generalLoss),
    });
  }
  return out;
}

export function seriesName(t: { kind: ProofKind; lr: number }): string {
  return `${kindLabel(t.kind)} lr ${formatLr(t.lr)}`;
}

export function learningCurvesSvg(result: ProofRunResult): string {
  const c = result.config;
  const series: Series[] = meanTrajectories(result).map((t) => ({ name: seriesName(t), points: t.interactions.map((n, i) => [n, t.judge[i]] as [number, number]) }));
  return lineChartSvg(series, {
    title: `Learning ${c.target.axis}=${c.target.wanted} without context (mean of ${c.seeds.length} seed${c.seeds.length === 1 ? '' : 's'})`,
    xLabel: 'interactions', yLabel: `judge score (${c.target.wanted})`,
  });
}

export function forgettingSvg(result: ProofRunResult): string {
  const c = result.config;
  const series: Series[] = meanTrajectories(result).map((t) => ({ name: seriesName(t), points: t.gapReduction.map((x, i) => [x, t.lossShift[i]] as [number, number]) }));
  return lineChartSvg(series, {
    title: `Learning versus forgetting (mean of ${c.seeds.length} seed${c.seeds.length === 1 ? '' : 's'})`,
    xLabel: 'teacher-gap reduction (nats/token)', yLabel: 'general-text loss shift (nats/token)',
  });
}
