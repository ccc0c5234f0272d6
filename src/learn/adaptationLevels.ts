import type { SimulationPoint } from './simulate.js';

// Comparing forgetting at equal adaptation. Two adapters that learn at
// different speeds cannot be compared by their loss shift after the same number
// of interactions: the faster one has simply gone further. So the general-text
// loss shift is read where a run's adaptation first reaches a given level.
//
// The level used is the reduction of the teacher gap (KL of the in-context
// teacher against the adapted model without context), which has no ceiling; the
// judge's score saturates (every reply without a hedge scores σ(2) = 0.881).

/** A run's trajectory: what the level table needs of a proof run. */
export interface Trajectory {
  kind: string;
  lr: number;
  seed: number;
  points: readonly SimulationPoint[];
}

/** Per point: how much the teacher gap has shrunk since the first point. */
export const gapReduction = (points: readonly SimulationPoint[]): number[] => points.map((p) => points[0].teacherGap - p.teacherGap);

/** Per point: how much the judge's mean score has risen since the first point. */
export const judgeGain = (points: readonly SimulationPoint[]): number[] => points.map((p) => p.judge.meanScore - points[0].judge.meanScore);

/** The general-text loss shift where `progress` (per point, 0 at the start) first reaches `level`, interpolated. */
export function lossShiftAtLevel(points: readonly SimulationPoint[], progress: readonly number[], level: number): number {
  const l = points.map((p) => p.generalLoss - points[0].generalLoss);
  for (let i = 1; i < points.length; i++) {
    if (progress[i] >= level) {
      const span = progress[i] - progress[i - 1];
      const t = span > 0 ? Math.min(1, Math.max(0, (level - progress[i - 1]) / span)) : 1;
      return l[i - 1] + t * (l[i] - l[i - 1]);
    }
  }
  return l[l.length - 1];
}

export interface LevelEntry {
  /** Mean over seeds of the loss shift where each seed first reaches the level (nats/token). */
  lossShift: number;
  /** Sample standard deviation of the per-seed shifts (NaN with one seed): a difference between kinds smaller than this is a tie. */
  lossShiftSd: number;
  /** The learning rate that gave the smallest shift at this level. */
  lr: number;
}

export interface ForgettingAtLevel {
  /** The level as a share of the largest level every kind reaches in its best learning rate. */
  fraction: number;
  /** The teacher-gap reduction (nats/token). */
  level: number;
  /** Per kind: its least forgetting at this level, or null when no learning rate of it has every seed reach the level. */
  byKind: Record<string, LevelEntry | null>;
}

export const DEFAULT_LEVEL_FRACTIONS: readonly number[] = [0.25, 0.5, 0.75, 1];

// The forgetting comparison that survives a learning-rate sweep.
//
// Why: plain LoRA may adapt much faster than FC-LoRA at a given learning rate
// (on the shipped model it reaches the judge's ceiling in 6–8 interactions), and
// a single learning rate with "loss shift where the run first reaches the level"
// favours whichever kind is faster there: it may overshoot between two
// measurements, or simply be at a rate that is too high or too low for it. With
// a sweep each kind gets its best learning rate at each level, so the question
// becomes "how little can this kind forget while adapting this far", which is
// the one that matters.
//
// How:
//   - a (kind, lr) reaches a level when every one of its seeds does, somewhere
//     along its trajectory (its furthest point); one lagging seed would
//     otherwise be read at its last point, below the level, and look better;
//   - the top level is the smallest, over kinds, of the furthest level each kind
//     reaches with its best lr (so at 100% every kind has an entry);
//   - at each fraction of the top, each kind's forgetting is the smallest, over
//     its lrs that reach the level, of the mean over seeds of the per-seed
//     interpolated loss shift (lossShiftAtLevel).
export function forgettingAtLevels(runs: readonly Trajectory[], fractions: readonly number[] = DEFAULT_LEVEL_FRACTIONS): ForgettingAtLevel[] {
  const groups = new Map<string, { kind: string; lr: number; seeds: { points: readonly SimulationPoint[]; progress: number[]; furthest: number }[] }>();
  for (const run of runs) {
    if (run.points.length === 0) continue;
    const key = `${run.kind}@${run.lr}`;
    const group = groups.get(key) ?? { kind: run.kind, lr: run.lr, seeds: [] };
    const progress = gapReduction(run.points);
    group.seeds.push({ points: run.points, progress, furthest: Math.max(...progress) });
    groups.set(key, group);
  }
  const kinds = [...new Set([...groups.values()].map((g) => g.kind))];
  if (kinds.length === 0) return [];
  // What every seed of a (kind, lr) reaches.
  const reachedByAll = (g: { seeds: { furthest: number }[] }) => Math.min(...g.seeds.map((s) => s.furthest));
  const best = kinds.map((kind) => Math.max(...[...groups.values()].filter((g) => g.kind === kind).map(reachedByAll)));
  const top = Math.min(...best);
  if (!(top > 0)) return [];
  return fractions.map((fraction) => {
    const level = fraction * top;
    const byKind: Record<string, LevelEntry | null> = {};
    for (const kind of kinds) {
      let entry: LevelEntry | null = null;
      for (const g of groups.values()) {
        if (g.kind !== kind || reachedByAll(g) < level) continue;
        const shifts = g.seeds.map((s) => lossShiftAtLevel(s.points, s.progress, level));
        const lossShift = shifts.reduce((a, b) => a + b, 0) / shifts.length;
        const lossShiftSd = shifts.length < 2 ? Number.NaN : Math.sqrt(shifts.reduce((a, b) => a + (b - lossShift) ** 2, 0) / (shifts.length - 1));
        if (entry === null || lossShift < entry.lossShift) entry = { lossShift, lossShiftSd, lr: g.lr };
      }
      byKind[kind] = entry;
    }
    return { fraction, level, byKind };
  });
}
