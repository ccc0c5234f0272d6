import { Random } from '../../tensor/index.js';
import { type ProjectionDiagnostics, projectionDiagnostics } from './projectionDiagnostics.js';
import { meanRow, rowCount, unitVector } from './rows.js';

// Contrastive directions from examples that differ in one property (the CAA /
// repeng / persona-vector recipe): activations of "positive" texts (formal,
// warm, ...) against "negative" ones. Two estimators:
//   - difference of means: mean(pos) - mean(neg), normalised. Needs no pairing.
//   - first principal component of the paired differences pos_i - neg_i, which
//     picks the direction along which the pairs differ most consistently and
//     is less swayed by a few extreme pairs' offsets in unrelated directions.
// A principal component has no sign, so it is oriented by projection: positives
// must project higher than negatives on average.

export interface ContrastiveDirection {
  /** Unit vector, length d, oriented so that positives project higher. */
  direction: Float32Array;
  diagnostics: ProjectionDiagnostics;
}

export interface PrincipalComponentDirection extends ContrastiveDirection {
  /** Fraction of pairs whose positive projects higher than its negative. */
  pairAccuracy: number;
  /** Eigenvalue of the direction in the differences' (second-moment or covariance) matrix. */
  eigenvalue: number;
  /** eigenvalue / trace: how much of the differences' energy the direction holds. */
  explainedVariance: number;
  iterations: number;
  converged: boolean;
}

export interface PrincipalComponentOptions {
  /** Seeds the power iteration's random start vector. */
  seed?: number;
  maxIterations?: number;
  /** Stop when 1 - |cos(v_k, v_k+1)| falls below this. */
  tolerance?: number;
  /**
   * Subtract the mean difference before the iteration (ordinary PCA). Off by
   * default: when every pair differs by about the same vector, that vector IS the
   * mean difference, and centring would remove the very signal we look for. The
   * uncentred form equals PCA on the differences with random pair order (±δ),
   * which is how repeng's pca_diff sees them.
   */
  center?: boolean;
}

export function differenceOfMeans(pos: Float32Array, neg: Float32Array, d: number): ContrastiveDirection {
  const nPos = rowCount(pos, d, 'differenceOfMeans: pos');
  const nNeg = rowCount(neg, d, 'differenceOfMeans: neg');
  if (nPos === 0 || nNeg === 0) throw new RangeError(`differenceOfMeans: needs at least one row in each set, got ${nPos} positive and ${nNeg} negative`);
  const a = meanRow(pos, d);
  const b = meanRow(neg, d);
  const direction = unitVector(a.map((v, i) => v - b[i]), 'differenceOfMeans (the two sets have the same mean)');
  return { direction, diagnostics: projectionDiagnostics(direction, pos, neg, d) };
}

export function firstPrincipalComponent(pos: Float32Array, neg: Float32Array, d: number, options: PrincipalComponentOptions = {}): PrincipalComponentDirection {
  const n = rowCount(pos, d, 'firstPrincipalComponent: pos');
  const nNeg = rowCount(neg, d, 'firstPrincipalComponent: neg');
  if (n !== nNeg) throw new RangeError(`firstPrincipalComponent: pos has ${n} rows and neg ${nNeg}; the rows must be pairs (row i of pos with row i of neg)`);
  if (n === 0) throw new RangeError('firstPrincipalComponent: needs at least one pair');
  const differences = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) differences[i] = pos[i] - neg[i];
  if (options.center === true) {
    const mean = new Float64Array(d);
    for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) mean[i] += differences[r * d + i] / n;
    for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) differences[r * d + i] -= mean[i];
  }
  let trace = 0;
  for (const v of differences) trace += (v * v) / n;
  if (!(trace > 0)) throw new RangeError('firstPrincipalComponent: every paired difference is zero (after centring, if asked); there is no direction to find');

  // Power iteration on M = (1/n) Σ δ_i δ_iᵀ without forming M: M v = (1/n) Σ δ_i (δ_i · v).
  const multiply = (v: Float64Array): Float64Array => {
    const out = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      let projection = 0;
      for (let i = 0; i < d; i++) projection += differences[r * d + i] * v[i];
      for (let i = 0; i < d; i++) out[i] += (differences[r * d + i] * projection) / n;
    }
    return out;
  };
  const normalise = (v: Float64Array): number => {
    let length = 0;
    for (const x of v) length += x * x;
    length = Math.sqrt(length);
    if (length > 0) for (let i = 0; i < v.length; i++) v[i] /= length;
    return length;
  };
  const rng = new Random(options.seed ?? 0);
  let v: Float64Array = Float64Array.from({ length: d }, () => rng.normal());
  normalise(v);
  const maxIterations = options.maxIterations ?? 1000;
  const tolerance = options.tolerance ?? 1e-12;
  let eigenvalue = 0;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    const next = multiply(v);
    eigenvalue = normalise(next);
    iterations++;
    // The start vector can be orthogonal to every difference only by bad luck; start over along the first difference.
    if (eigenvalue === 0) {
      v = differences.slice(0, d);
      normalise(v);
      continue;
    }
    let cosine = 0;
    for (let i = 0; i < d; i++) cosine += next[i] * v[i];
    v = next;
    if (1 - Math.abs(cosine) < tolerance) {
      converged = true;
      break;
    }
  }

  // Orient by projection: on average over pairs, pos · v must exceed neg · v.
  let meanGap = 0;
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) meanGap += ((pos[r * d + i] - neg[r * d + i]) * v[i]) / n;
  if (meanGap < 0) for (let i = 0; i < d; i++) v[i] = -v[i];
  const direction = unitVector(v, 'firstPrincipalComponent');

  let pairsRight = 0;
  for (let r = 0; r < n; r++) {
    let gap = 0;
    for (let i = 0; i < d; i++) gap += (pos[r * d + i] - neg[r * d + i]) * direction[i];
    if (gap > 0) pairsRight++;
  }
  return {
    direction,
    diagnostics: projectionDiagnostics(direction, pos, neg, d),
    pairAccuracy: pairsRight / n,
    eigenvalue,
    explainedVariance: eigenvalue / trace,
    iterations,
    converged,
  };
}
