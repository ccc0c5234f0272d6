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

function linearNorm(adapter: LinearAdapter, features: FeatureGeometry | null): AdapterNorm {
  const { outFeatures: out, inFeatures: inn } = adapter.site;
  const delta = adapter.deltaWeight();
  const total = frobenius(delta);
  const base = { name: adapter.name, kind: adapter.role === 'residual' ? 'residual' : adapter.kind, total };
  const probe = features === null ? null : featureProbe(adapter.site, features);
  if (probe === null || features === null) return { ...base, perFeature: {}, inSubspace: null };
  const r = features.basis.rank;
  const ids = features.basis.keptIds;
  const perFeature: Record<string, number> = {};
  let inSubspace: number;
  if (probe.side === 'out') {
    // Uᵀ ΔW [r, in]: row j is what the layer writes along u_j.
    const along = matmul64(transpose64(probe.columns, out, r), delta, r, out, inn);
    ids.forEach((id, j) => { perFeature[id] = frobenius(along.subarray(j * inn, (j + 1) * inn)); });
    inSubspace = frobenius(along);
  } else {
    // ΔW P [out, r]: column j is the response to feature j.
    const response = transpose64(matmul64(delta, probe.columns, out, inn, r), out, r);
    ids.forEach((id, j) => { perFeature[id] = frobenius(response.subarray(j * out, (j + 1) * out)); });
    const q = orthonormalColumns(transpose64(probe.columns, inn, r), r, inn);
    inSubspace = frobenius(matmul64(delta, q, out, inn, q.length / inn));
  }
  return { ...base, perFeature, inSubspace: total > 0 ? inSubspace / total : null };
}
