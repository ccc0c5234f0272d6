import type { FeatureGeometry } from './featureSpace.js';
import { parseHookPoint } from '../model/hooks.js';
import { orthonormalColumns } from './matrices.js';
import { type LinearSite, describePosition, streamPosition } from './sites.js';

// The space rules: where a bundle's directions may constrain a linear layer.
// A bundle's directions live in the residual stream at its hook point. Nothing
// here applies them to any other space; a layer that does not touch the residual
// stream on the side an adapter constrains is refused, naming both its spaces.
//
// Write side (write-constrained FC-LoRA; gradient projection of a LoRA's B):
//   only layers whose output is added to the residual stream as it is: the
//   attention output (o_proj, GPT-2 attn.c_proj) and the MLP down projection
//   (down_proj, GPT-2 mlp.c_proj) of a pre-norm block. In post-norm (OLMo-2) and
//   sandwich (Gemma-2) blocks that output passes through an RMSNorm first, which
//   rescales and reweights it, so span(U) would not survive: refused.
//   Order: a write reaches every later point of the stream, so it must land at or
//   before the hook point, where the directions were measured. A write that lands
//   after it would put vectors where the bundle was never measured: refused.
//   With the hook at blocks.H.post that is layers 0..H; at blocks.H.pre, 0..H-1.
//
// Read side (read-constrained FC-LoRA; gradient projection of a LoRA's A):
//   only layers that read the residual stream: q, k, v (GPT-2 c_attn), gate and
//   up (GPT-2 c_fc). Mirror order rule: they must read at or after the hook
//   point, where the features exist (blocks.H.post: layers H+1..; blocks.H.pre:
//   attention from layer H, MLP from layer H).
//   Most of these read the *normalised* stream z = γ ⊙ x / rms(x) (RMSNorm) or
//   z = γ ⊙ (x - mean x) / std(x) + β (LayerNorm). A read direction e of the
//   stream becomes e' = e / γ on z, so e'·z = e·x / rms(x): the layer reads the
//   feature's value in the normalised stream, which is what it can see at all
//   (the norm removes the scale). With LayerNorm it reads e·(x - mean x)/std(x)
//   (the centred direction) plus the constant e'·β, which the adapter turns into
//   an input-independent offset B E' β. A norm weight that is zero in some
//   coordinate erases that coordinate, so no e' exists: refused. Where the block
//   has no input norm (OLMo-2) e' = e.

export class AdapterSpaceError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'AdapterSpaceError';
  }
}

/** The layers whose writes land at or before `hookPoint` (blocks.H.post: 0..H; blocks.H.pre: 0..H-1): where a write-side adapter may go. */
export function layersWritingBefore(hookPoint: string, layerCount: number): number[] {
  const { layer, where } = parseHookPoint(hookPoint, layerCount);
  return Array.from({ length: layer + (where === 'post' ? 1 : 0) }, (_, i) => i);
}

const WRITE_LAYERS = 'a layer that writes the residual stream as it is (the attention output o_proj / attn.c_proj or the MLP down_proj / mlp.c_proj of a pre-norm block)';
const READ_LAYERS = 'a layer that reads the residual stream (q_proj, k_proj, v_proj, gate_proj, up_proj; GPT-2 attn.c_attn, mlp.c_fc)';

function spaces(site: LinearSite): string {
  return `${site.name} reads ${site.inputSpace} and writes ${site.outputSpace}`;
}

function checkWidth(site: LinearSite, space: FeatureGeometry, side: 'in' | 'out', what: string): void {
  const size = side === 'out' ? site.outFeatures : site.inFeatures;
  if (size !== space.width) {
    throw new AdapterSpaceError(`${what} on ${site.name}: the layer's weight is [${site.outFeatures}, ${site.inFeatures}], its ${side === 'out' ? 'output' : 'input'} has ${size} values, but bundle "${space.name}"'s directions are [${space.ids.length}, ${space.width}]`);
  }
}

/** The orthonormal basis U [out, r] that a write-side constraint on `site` uses, after checking the rules. */
export function writeBasis(site: LinearSite, space: FeatureGeometry, layers: number, what: string): Float64Array {
  if (site.writesResidual === null) {
    throw new AdapterSpaceError(`${what} cannot go on ${spaces(site)}; it needs ${WRITE_LAYERS}, where bundle "${space.name}"'s directions live`);
  }
  checkWidth(site, space, 'out', what);
  const hook = streamPosition(space.hookPoint, layers);
  const lands = site.writesResidual.position;
  if (lands > hook) {
    const last = site.role === 'down' ? hook / 2 - 1 : Math.floor((hook - 1) / 2);
    const allowed = last < 0 ? 'no layer' : `layers 0..${last}`;
    throw new AdapterSpaceError(`${what} cannot go on ${site.name}: its write lands at ${describePosition(lands)}, after bundle "${space.name}"'s hook point ${space.hookPoint}, where the directions were measured; a write must land at or before it (for this module: ${allowed})`);
  }
  return Float64Array.from(space.basis.u);
}

/** How a read-side constraint on `site` sees the stream: the map from stream directions to input directions. */
export interface ReadMap {
  /** Effective norm weights γ (+ offset), or null when the layer reads the raw stream. */
  gamma: Float64Array | null;
  /** LayerNorm centres its input. */
  centred: boolean;
}

export function readMap(site: LinearSite, space: FeatureGeometry, layers: number, what: string): ReadMap {
  if (site.readsResidual === null) {
    throw new AdapterSpaceError(`${what} cannot go on ${spaces(site)}; it needs ${READ_LAYERS}, where bundle "${space.name}"'s directions live`);
  }
  checkWidth(site, space, 'in', what);
  const hook = streamPosition(space.hookPoint, layers);
  const reads = site.readsResidual.position;
  if (reads < hook) {
    const first = reads % 2 === 0 ? Math.ceil(hook / 2) : Math.ceil((hook - 1) / 2);
    const allowed = first > layers - 1 ? 'no layer' : `layers ${first}..${layers - 1}`;
    throw new AdapterSpaceError(`${what} cannot go on ${site.name}: it reads ${describePosition(reads)}, before bundle "${space.name}"'s hook point ${space.hookPoint}, where the features exist; a read must be at or after it (for this module: ${allowed})`);
  }
  return geometryOfRead(site, what);
}

function geometryOfRead(site: LinearSite, what: string): ReadMap {
  const norm = site.readsResidual!.norm;
  if (norm === null) return { gamma: null, centred: false };
  const gamma = Float64Array.from(norm.weight.toArray(), (w) => w + norm.weightOffset);
  let largest = 0;
  for (const g of gamma) largest = Math.max(largest, Math.abs(g));
  const erased = [...gamma.keys()].filter((i) => !(Math.abs(gamma[i]) > 1e-6 * largest));
  if (erased.length > 0) {
    throw new AdapterSpaceError(`${what} cannot go on ${site.name}: its input norm ${norm.name} has weight ${largest === 0 ? 'zero everywhere' : `≈ 0 in coordinates ${erased.slice(0, 8).join(', ')}${erased.length > 8 ? ', ...' : ''}`}, which erases those coordinates of the stream, so the bundle's directions cannot be read through it`);
  }
  return { gamma, centred: norm.kind === 'layer' };
}

/** E' [k, width] = E diag(1/γ): directions of the stream as read through the norm. */
export function mapReadDirections(map: ReadMap, rows: ArrayLike<number>, k: number, width: number): Float64Array {
  const out = Float64Array.from(rows as ArrayLike<number>);
  if (map.gamma === null) return out;
  for (let j = 0; j < k; j++) for (let i = 0; i < width; i++) out[j * width + i] /= map.gamma[i];
  return out;
}

/** Orthonormal columns [width, q] spanning the rows of E' (for projecting a LoRA's A onto them). */
export function readProjector(map: ReadMap, space: FeatureGeometry): { q: Float64Array; rank: number } {
  const r = space.basis.rank;
  const basisRows = new Float64Array(r * space.width);
  for (let j = 0; j < r; j++) for (let i = 0; i < space.width; i++) basisRows[j * space.width + i] = space.basis.u[i * r + j];
  const mapped = mapReadDirections(map, basisRows, r, space.width);
  const q = orthonormalColumns(mapped, r, space.width);
  return { q, rank: q.length / space.width };
}

/**
 * For reports: per basis direction j a column p_j such that |ΔW's response to
 * feature j| is ‖u_jᵀ ΔW‖ (side 'out', p_j = u_j) or ‖ΔW p_j‖ (side 'in', p_j =
 * γ ⊙ u_j, centred under LayerNorm: how a unit of the feature in the normalised
 * stream shows up in the layer's input). Null for a layer that does not touch the
 * stream. The order rules are not applied: this only measures.
 */
export function featureProbe(site: LinearSite, space: FeatureGeometry): { side: 'in' | 'out'; columns: Float64Array } | null {
  const r = space.basis.rank;
  const d = space.width;
  if (site.writesResidual !== null && site.outFeatures === d) return { side: 'out', columns: Float64Array.from(space.basis.u) };
  if (site.readsResidual === null || site.inFeatures !== d) return null;
  let map: ReadMap;
  try {
    map = geometryOfRead(site, 'a report');
  } catch {
    return null;
  }
  const columns = Float64Array.from(space.basis.u);
  for (let j = 0; j < r; j++) {
    if (map.centred) {
      let mean = 0;
      for (let i = 0; i < d; i++) mean += columns[i * r + j];
      mean /= d;
      for (let i = 0; i < d; i++) columns[i * r + j] -= mean;
    }
    if (map.gamma !== null) for (let i = 0; i < d; i++) columns[i * r + j] *= map.gamma[i];
  }
  return { side: 'in', columns };
}
