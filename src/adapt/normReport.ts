import type { ResidualSiteAdapter } from './build.js';
import type { FeatureGeometry } from './featureSpace.js';
import type { LinearAdapter } from './linearAdapter.js';
import { frobenius, matmul64, orthonormalColumns, transpose64 } from './matrices.js';
import { featureProbe } from './spaces.js';

// How large an adapter is along each feature, for the learner's logs.
// - Linear kinds, on a layer that writes the stream: ‖u_jᵀ ΔW‖ (how much the
//   layer now writes along basis direction j); on a layer that reads it:
//   ‖ΔW p_j‖ with p_j = γ ⊙ u_j (how differently the layer responds to a unit of
//   feature j in the normalised stream). `inSubspace` is the fraction of ‖ΔW‖_F
//   on that side's subspace: 1 for the FC kinds, anything for a plain LoRA.
// - Representation edit: ‖(D_j, b_j)‖ per basis direction.
// - Feature gain: ‖(g_j, β_j)‖ per feature.
// Linear kinds and the edit are keyed by the basis ids (the features kept in U;
// U's columns are Gram-Schmidt combinations, so column j is feature j with the
// earlier ones removed), the gain by every feature id.

export interface AdapterNorm {
  name: string;
  kind: string;
  /** ‖ΔW‖_F for linear kinds; the norm of all trained numbers for the others. */
  total: number;
  perFeature: Record<string, number>;
  /** Linear kinds on a layer touching the stream: ‖ΔW on the subspace‖ / ‖ΔW‖ (null when ΔW = 0 or no bundle). */
  inSubspace: number | null;
}

export interface AdapterNormReport {
  /** Per feature id: the root sum of squares over all adapters. */
  byFeature: Record<string, number>;
  adapters: AdapterNorm[];
}

export function normReport(linear: readonly LinearAdapter[], residualSites: readonly ResidualSiteAdapter[], features: FeatureGeometry | null): AdapterNormReport {
  const adapters: AdapterNorm[] = [];
  for (const adapter of linear) adapters.push(linearNorm(adapter, features));
  for (const adapter of residualSites) {
    const perFeature = Object.fromEntries(adapter.perFeature());
    const total = Math.sqrt(adapter.parameters().reduce((s, t) => s + frobenius(t.toArray()) ** 2, 0));
    adapters.push({ name: adapter.name, kind: adapter.kind, total, perFeature, inSubspace: null });
  }
  const squares = new Map<string, number>();
  for (const a of adapters) for (const [id, v] of Object.entries(a.perFeature)) squares.set(id, (squares.get(id) ?? 0) + v * v);
  return { byFeature: Object.fromEntries([...squares].map(([id, s]) => [id, Math.sqrt(s)])), adapters };
}

// Everything below works on ΔW = s·B A through its factors (B [out, k], A [k, in],
// k the adapter's rank) instead of materialising ΔW: the learner reports these
// norms after every step, and forming ΔW (out × in, in float64) cost more than
// a fifth of a learner step on the shipped model. With the Gram matrices
// G_B = BᵀB and G_A = AAᵀ ([k, k]):
//   ‖ΔW‖²_F = s² tr(G_B G_A);  ‖x ΔW‖² = s² (xB) G_A (xB)ᵀ;  ‖ΔW y‖² = s² (Ay)ᵀ G_B (Ay).
// test/adapt-set.test.ts checks them against the materialised ΔW.

function linearNorm(adapter: LinearAdapter, features: FeatureGeometry | null): AdapterNorm {
  const { outFeatures: out, inFeatures: inn } = adapter.site;
  const { b, a, rank: k, scaling } = adapter.lowRank();
  const gramB = matmul64(transpose64(b, out, k), b, k, out, k);
  const gramA = matmul64(a, transpose64(a, k, inn), k, inn, k);
  let trace = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) trace += gramB[i * k + j] * gramA[j * k + i];
  const total = Math.abs(scaling) * Math.sqrt(Math.max(0, trace));
  const base = { name: adapter.name, kind: adapter.role === 'residual' ? 'residual' : adapter.kind, total };
  const probe = features === null ? null : featureProbe(adapter.site, features);
  if (probe === null || features === null) return { ...base, perFeature: {}, inSubspace: null };
  const r = features.basis.rank;
  const ids = features.basis.keptIds;
  const perFeature: Record<string, number> = {};
  let inSubspaceSquared = 0;
  if (probe.side === 'out') {
    // Row j of Uᵀ ΔW is what the layer writes along u_j: s · (u_jᵀ B) A.
    const c = matmul64(transpose64(probe.columns, out, r), b, r, out, k);
    ids.forEach((id, j) => {
      const squared = quadraticForm(c.subarray(j * k, (j + 1) * k), gramA, k);
      perFeature[id] = Math.abs(scaling) * Math.sqrt(squared);
      inSubspaceSquared += squared;
    });
  } else {
    // Column j of ΔW P is the response to feature j: s · B (A p_j).
    const d = transpose64(matmul64(a, probe.columns, k, inn, r), k, r);
    ids.forEach((id, j) => { perFeature[id] = Math.abs(scaling) * Math.sqrt(quadraticForm(d.subarray(j * k, (j + 1) * k), gramB, k)); });
    const q = orthonormalColumns(transpose64(probe.columns, inn, r), r, inn);
    const width = q.length / inn;
    const e = transpose64(matmul64(a, q, k, inn, width), k, width);
    for (let j = 0; j < width; j++) inSubspaceSquared += quadraticForm(e.subarray(j * k, (j + 1) * k), gramB, k);
  }
  const inSubspace = Math.abs(scaling) * Math.sqrt(inSubspaceSquared);
  return { ...base, perFeature, inSubspace: total > 0 ? inSubspace / total : null };
}

/** xᵀ G x for a symmetric positive semi-definite G [k, k]; never below 0 from rounding. */
function quadraticForm(x: Float64Array, gram: Float64Array, k: number): number {
  let s = 0;
  for (let i = 0; i < k; i++) {
    let row = 0;
    for (let j = 0; j < k; j++) row += gram[i * k + j] * x[j];
    s += x[i] * row;
  }
  return Math.max(0, s);
}
