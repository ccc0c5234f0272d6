import type { CellResult, CurvePoint } from './runCell.js';

// From cells to the figures the report shows, per method and scenario, each a
// mean over seeds with a 95% interval (Student's t on the seeds; a single seed
// has no interval). A difference smaller than the intervals allow is a tie
// (`isTie`), and the report says so instead of ranking.

export interface Estimate {
  mean: number;
  /** Half-width of the 95% interval (NaN with fewer than 2 values). */
  ci95: number;
  n: number;
}

export interface MethodScenarioSummary {
  method: string;
  scenario: string;
  status: 'ok' | 'unavailable' | 'failed';
  reason?: string;
  seeds: number;
  /** The learning rate the method ran at (absent for methods that learn nothing). */
  learningRate?: number;
  /** Seeds whose cell failed (an error while running); the figures are over the others. */
  failedSeeds: number;
  /** Mean over agents of the judges' score before any interaction, and after the last. */
  scoreBefore: Estimate | null;
  scoreAfter: Estimate | null;
  scoreAfterWithMemory: Estimate | null;
  /** Interactions until the mean-over-agents score first reaches 90% of the best final score any method reached here (null: never). */
  interactionsTo90: Estimate | null;
  /** Mean over agents, per checkpoint: the learning curve (mean over seeds). */
  curve: { interactions: number; score: number; scoreWithMemory?: number }[];
  generalLossShift: Estimate | null;
  factQaShift: Estimate | null;
  /** Sequential: backward transfer (GEM): mean over earlier agents of (score at the end − score right after its block). */
  backwardTransfer: Estimate | null;
  cost: { updateMs: number | null; flopsPerUpdate: number | null; bytesPerUser: number; extraPromptTokens: number; slowdown: number | null } | null;
}

/** Two-sided 95% t quantiles for 1..10 degrees of freedom (beyond: 1.96 suffices for a report). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

export function estimate(values: readonly number[]): Estimate | null {
  const xs = values.filter((v) => Number.isFinite(v));
  if (xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, ci95: Number.NaN, n: 1 };
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  const t = T95[xs.length - 2] ?? 1.96;
  return { mean, ci95: (t * sd) / Math.sqrt(xs.length), n: xs.length };
}

/** Whether two estimates are within each other's spread: their intervals overlap (or either has none). */
export function isTie(a: Estimate, b: Estimate): boolean {
  if (!Number.isFinite(a.ci95) || !Number.isFinite(b.ci95)) return Math.abs(a.mean - b.mean) < 1e-12;
  return Math.abs(a.mean - b.mean) <= a.ci95 + b.ci95;
}

function meanOf(xs: readonly (number | null | undefined)[]): number | null {
  const known = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0) / known.length;
}

/** A cell's mean-over-agents curve, aligned by checkpoint (agents of a scenario share them). */
export function cellCurve(cell: CellResult): { interactions: number; score: number | null; scoreWithMemory: number | null }[] {
  const first = cell.agents[0]?.curve ?? [];
  return first.map((p: CurvePoint, i) => ({
    interactions: p.interactions,
    score: meanOf(cell.agents.map((a) => a.curve[i]?.score)),
    scoreWithMemory: meanOf(cell.agents.map((a) => a.curve[i]?.scoreWithMemory)),
  }));
}

function backwardTransfer(transfer: (number | null)[][]): number | null {
  const last = transfer.length - 1;
  if (last < 1) return null;
  return meanOf(Array.from({ length: last }, (_, j) => {
    const end = transfer[last][j];
    const then = transfer[j][j];
    return end === null || then === null ? null : end - then;
  }));
}

export function summarise(cells: readonly CellResult[]): MethodScenarioSummary[] {
  const scenarios = [...new Set(cells.map((c) => c.scenario))];
  const methods = [...new Set(cells.map((c) => c.method))];
  const out: MethodScenarioSummary[] = [];
  for (const scenario of scenarios) {
    const here = cells.filter((c) => c.scenario === scenario && c.status === 'ok');
    // The best final score any method reached here, per seed: what "90% of the best" is measured against.
    const bestBySeed = new Map<number, number>();
    for (const c of here) {
      const curve = cellCurve(c);
      const final = curve[curve.length - 1]?.score;
      if (final !== null && final !== undefined) bestBySeed.set(c.seed, Math.max(bestBySeed.get(c.seed) ?? -Infinity, final));
    }
    for (const method of methods) {
      const mine = cells.filter((c) => c.scenario === scenario && c.method === method);
      if (mine.length === 0) continue;
      const rate = mine.find((c) => c.learningRate !== undefined)?.learningRate;
      const learningRate = rate === undefined ? {} : { learningRate: rate };
      const ok = mine.filter((c) => c.status === 'ok');
      if (ok.length === 0) {
        out.push({
          method, scenario, ...learningRate, status: mine.some((c) => c.status === 'failed') ? 'failed' : 'unavailable', reason: mine[0].reason, seeds: 0, failedSeeds: mine.filter((c) => c.status === 'failed').length, scoreBefore: null, scoreAfter: null, scoreAfterWithMemory: null,
          interactionsTo90: null, curve: [], generalLossShift: null, factQaShift: null, backwardTransfer: null, cost: null,
        });
        continue;
      }
      const curves = ok.map(cellCurve);
      const reach = ok.map((c, i) => {
        const target = 0.9 * (bestBySeed.get(c.seed) ?? Number.NaN);
        return curves[i].find((p) => p.score !== null && p.score >= target)?.interactions ?? Number.NaN;
      });
      const length = Math.min(...curves.map((c) => c.length));
      const curve = Array.from({ length }, (_, i) => {
        const score = meanOf(curves.map((c) => c[i].score));
        const withMemory = meanOf(curves.map((c) => c[i].scoreWithMemory));
        return { interactions: curves[0][i].interactions, score: score ?? Number.NaN, ...(withMemory === null ? {} : { scoreWithMemory: withMemory }) };
      });
      const costs = ok.map((c) => c.cost!);
      out.push({
        method, scenario, ...learningRate, status: 'ok', seeds: ok.length, failedSeeds: mine.filter((c) => c.status === 'failed').length,
        scoreBefore: estimate(curves.map((c) => c[0]?.score ?? Number.NaN)),
        scoreAfter: estimate(curves.map((c) => c[c.length - 1]?.score ?? Number.NaN)),
        scoreAfterWithMemory: ok[0].agents[0]?.curve[0]?.scoreWithMemory === undefined ? null : estimate(curves.map((c) => c[c.length - 1]?.scoreWithMemory ?? Number.NaN)),
        interactionsTo90: reach.every((r) => Number.isNaN(r)) ? null : estimate(reach),
        curve,
        generalLossShift: estimate(ok.map((c) => (c.generalLoss === null ? Number.NaN : c.generalLoss.after - c.generalLoss.base))),
        factQaShift: estimate(ok.map((c) => (c.factQa === null ? Number.NaN : c.factQa.after - c.factQa.base))),
        backwardTransfer: ok[0].transfer === undefined ? null : estimate(ok.map((c) => backwardTransfer(c.transfer!) ?? Number.NaN)),
        cost: {
          updateMs: meanOf(costs.map((c) => c.updateMsMedian)), flopsPerUpdate: meanOf(costs.map((c) => c.flopsPerUpdate)),
          bytesPerUser: meanOf(costs.map((c) => c.bytesPerUser)) ?? 0, extraPromptTokens: meanOf(costs.map((c) => c.extraPromptTokens)) ?? 0,
          slowdown: meanOf(costs.map((c) => c.slowdown)),
        },
      });
    }
  }
  return out;
}

/** Garbage drift: per method and garbage rate, the final score and general-text loss shift minus the clean (adversarial-0) run's. */
export function garbageDrift(summaries: readonly MethodScenarioSummary[]): { method: string; rate: number; scoreDrift: number | null; lossDrift: number | null }[] {
  const out: { method: string; rate: number; scoreDrift: number | null; lossDrift: number | null }[] = [];
  for (const s of summaries) {
    const m = /^adversarial-(\d+)$/.exec(s.scenario);
    if (m === null || m[1] === '0' || s.status !== 'ok') continue;
    const clean = summaries.find((c) => c.method === s.method && c.scenario === 'adversarial-0' && c.status === 'ok');
    if (clean === undefined) continue;
    out.push({
      method: s.method, rate: Number(m[1]) / 100,
      scoreDrift: s.scoreAfter !== null && clean.scoreAfter !== null ? s.scoreAfter.mean - clean.scoreAfter.mean : null,
      lossDrift: s.generalLossShift !== null && clean.generalLossShift !== null ? s.generalLossShift.mean - clean.generalLossShift.mean : null,
    });
  }
  return out;
}
