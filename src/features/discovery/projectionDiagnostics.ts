import { meanAndVariance, pooledStd, projectRows } from './rows.js';

// How well a direction separates two sets of rows, measured on their projections:
// the gap between the mean projections in pooled standard deviations (Cohen's d),
// and the accuracy of the simplest classifier the direction gives, thresholding
// the projection at the midpoint of the two means.

export interface ProjectionDiagnostics {
  meanPos: number;
  meanNeg: number;
  /** meanPos - meanNeg; positive once the sign is fixed. */
  gap: number;
  pooledStd: number;
  /** gap / pooledStd (Infinity when the projections do not vary within either set). */
  separation: number;
  /** (meanPos + meanNeg) / 2, the classifier's threshold. */
  midpoint: number;
  /** Fraction of all rows on their set's side of the midpoint (ties count as wrong). */
  accuracy: number;
}

export function projectionDiagnostics(direction: ArrayLike<number>, pos: Float32Array, neg: Float32Array, d: number): ProjectionDiagnostics {
  const p = projectRows(pos, direction, d);
  const q = projectRows(neg, direction, d);
  const a = meanAndVariance(p);
  const b = meanAndVariance(q);
  const gap = a.mean - b.mean;
  const spread = pooledStd({ n: p.length, variance: a.variance }, { n: q.length, variance: b.variance });
  const midpoint = (a.mean + b.mean) / 2;
  let correct = 0;
  for (const v of p) if (v > midpoint) correct++;
  for (const v of q) if (v < midpoint) correct++;
  return {
    meanPos: a.mean,
    meanNeg: b.mean,
    gap,
    pooledStd: spread,
    separation: spread > 0 ? gap / spread : gap === 0 ? 0 : Math.sign(gap) * Number.POSITIVE_INFINITY,
    midpoint,
    accuracy: correct / (p.length + q.length),
  };
}
