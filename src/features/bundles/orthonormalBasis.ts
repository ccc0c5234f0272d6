import type { DirectionMatrix } from './directions.js';

// An orthonormal basis U (d x r, UᵀU = I) of the span of a bundle's directions:
// FC-LoRA confines updates to span(U). Features found by different methods
// often nearly coincide (a contrastive direction and the SAE latent it lights
// up); such a direction adds nothing to the span but would make U ill-conditioned,
// so it is dropped and reported rather than kept.
//
// Modified Gram-Schmidt, in float64, with a second orthogonalisation pass:
// one pass loses orthogonality when directions are close ("twice is enough",
// Giraud et al. 2005), and close directions are exactly the case here.

export interface DroppedDirection {
  id: string;
  /** Sine of the angle between the direction and the span of the directions kept before it. */
  residual: number;
  /** The kept direction it is most aligned with, and |cosine| to it. */
  closestId: string;
  cosine: number;
}

export interface OrthonormalBasis {
  width: number;
  rank: number;
  /** U, [width, rank] row-major: column j is basis vector j. */
  u: Float32Array;
  /** Column j came from the direction of keptIds[j] (after removing earlier columns). */
  keptIds: string[];
  dropped: DroppedDirection[];
}

export interface OrthonormalBasisOptions {
  /** A direction whose residual (sine of its angle to the kept span) is below this is dropped. Default 1e-3. */
  tolerance?: number;
}

export function orthonormalBasis(directions: DirectionMatrix, options: OrthonormalBasisOptions = {}): OrthonormalBasis {
  const tolerance = options.tolerance ?? 1e-3;
  if (!(tolerance > 0 && tolerance < 1)) throw new RangeError(`orthonormalBasis: tolerance must be in (0, 1), got ${tolerance}`);
  const { ids, width: d, data } = directions;
  if (data.length !== ids.length * d) throw new RangeError(`orthonormalBasis: ${ids.length} directions of width ${d} need ${ids.length * d} values, got ${data.length}`);

  const columns: Float64Array[] = [];
  const keptIds: string[] = [];
  const keptUnit: Float64Array[] = [];
  const dropped: DroppedDirection[] = [];
  ids.forEach((id, row) => {
    const original = Float64Array.from(data.subarray(row * d, (row + 1) * d));
    const norm = Math.sqrt(dot(original, original));
    if (!(norm > 0) || !Number.isFinite(norm)) throw new RangeError(`orthonormalBasis: direction "${id}" has norm ${norm}`);
    for (let i = 0; i < d; i++) original[i] /= norm;
    const v = Float64Array.from(original);
    for (let pass = 0; pass < 2; pass++) {
      for (const q of columns) {
        const c = dot(q, v);
        for (let i = 0; i < d; i++) v[i] -= c * q[i];
      }
    }
    const residual = Math.sqrt(dot(v, v));
    if (residual < tolerance) {
      let closestId = keptIds[0];
      let cosine = -1;
      keptUnit.forEach((k, j) => {
        const c = Math.abs(dot(k, original));
        if (c > cosine) { cosine = c; closestId = keptIds[j]; }
      });
      dropped.push({ id, residual, closestId, cosine });
      return;
    }
    for (let i = 0; i < d; i++) v[i] /= residual;
    columns.push(v);
    keptIds.push(id);
    keptUnit.push(original);
  });

  const rank = columns.length;
  const u = new Float32Array(d * rank);
  columns.forEach((q, j) => { for (let i = 0; i < d; i++) u[i * rank + j] = q[i]; });
  return { width: d, rank, u, keptIds, dropped };
}

/** Basis vector j (a copy), of length width. */
export function basisColumn(basis: OrthonormalBasis, j: number): Float32Array {
  if (!Number.isInteger(j) || j < 0 || j >= basis.rank) throw new RangeError(`basis column ${j} is outside 0..${basis.rank - 1}`);
  return Float32Array.from({ length: basis.width }, (_, i) => basis.u[i * basis.rank + j]);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
