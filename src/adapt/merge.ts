import { createHash } from 'node:crypto';
import type { FloatArray } from '../tensor/backends/kernels.js';
import type { Tensor } from '../tensor/index.js';

// Merging ΔW into a base weight, and taking it out again exactly. Subtracting
// ΔW back in floating point would not give the original bits (w + d - d ≠ w
// after rounding), so merge keeps a copy of every weight it touches and unmerge
// writes that copy back: bit-identical by construction. The merged values are
// fingerprinted so that unmerge refuses, rather than silently undoes, a weight
// that something else changed in between.

export interface MergeRecord {
  module: string;
  weight: Tensor;
  original: FloatArray;
  mergedSha256: string;
}

export function mergeDeltas(deltas: ReadonlyArray<{ module: string; weight: Tensor; delta: Float64Array }>): MergeRecord[] {
  for (const { module, weight, delta } of deltas) {
    if (delta.length !== weight.size) throw new RangeError(`merge: ΔW of ${module} has ${delta.length} values, its weight [${weight.shape.join(', ')}] has ${weight.size}`);
  }
  return deltas.map(({ module, weight, delta }) => {
    const data = weight.data;
    const original = data.slice();
    // w + ΔW in float64, rounded once into the weight's precision.
    for (let i = 0; i < data.length; i++) data[i] = original[i] + delta[i];
    return { module, weight, original, mergedSha256: fingerprint(data) };
  });
}

export function unmergeDeltas(records: readonly MergeRecord[]): void {
  for (const r of records) {
    if (fingerprint(r.weight.data) !== r.mergedSha256) {
      throw new Error(`unmerge: the weight of ${r.module} changed after the merge (something else wrote to it), so restoring the pre-merge copy would discard that change; nothing was unmerged`);
    }
  }
  for (const r of records) r.weight.data.set(r.original);
}

function fingerprint(data: FloatArray): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}
