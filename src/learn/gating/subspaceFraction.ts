import type { OrthonormalBasis } from '../../features/bundles/index.js';

// How much of a gradient lies inside the bundle's subspace span(U):
//
//   fraction = ‖P_U G‖_F / ‖G‖_F,   P_U = U Uᵀ applied to each row g_p of G,
//            = sqrt(Σ_p ‖Uᵀ g_p‖²) / sqrt(Σ_p ‖g_p‖²)
//
// G is [n, d]: one row per token position, each the gradient of the objective
// with respect to the residual stream at the bundle's hook point (gradientProbe.ts).
// 1: the objective only asks the stream to move along the features; 0: only
// orthogonally to them. A random direction scores about sqrt(k/d) (`chance`).

export interface SubspaceFraction {
  /** ‖P_U G‖ / ‖G‖, or null when G = 0 (the objective asks for no change). */
  fraction: number | null;
  /** ‖G‖_F. */
  norm: number;
  /** ‖P_U G‖_F. */
  inside: number;
  /** sqrt(k/d): the expected fraction of a random direction. */
  chance: number;
}

export function subspaceFraction(rows: ArrayLike<number>, basis: Pick<OrthonormalBasis, 'u' | 'rank' | 'width'>): SubspaceFraction {
  const { u, rank: k, width: d } = basis;
  if (rows.length % d !== 0) throw new RangeError(`subspaceFraction: ${rows.length} values are not whole rows of width ${d}`);
  const n = rows.length / d;
  let total = 0;
  let inside = 0;
  const coefficients = new Float64Array(k);
  for (let p = 0; p < n; p++) {
    coefficients.fill(0);
    for (let i = 0; i < d; i++) {
      const g = rows[p * d + i];
      total += g * g;
      if (g === 0) continue;
      for (let j = 0; j < k; j++) coefficients[j] += u[i * k + j] * g;
    }
    for (let j = 0; j < k; j++) inside += coefficients[j] * coefficients[j];
  }
  const norm = Math.sqrt(total);
  const insideNorm = Math.sqrt(inside);
  return { fraction: norm > 0 ? Math.min(1, insideNorm / norm) : null, norm, inside: insideNorm, chance: Math.sqrt(k / d) };
}
