import type { LinearAdapter } from './linearAdapter.js';

// Every linear-layer adapter as an ordinary LoRA pair per module, which is what
// PEFT and llama.cpp's GGUF LoRA load: ΔW = scaling · B A, B [out, rank],
// A [rank, in]. Adapters on the same module (an FC kind and its residual
// adapter) are stacked along the rank, with their own scalings folded into B
// and scaling 1, so the sum of their updates is one pair.

export interface MaterialisedLayer {
  module: string;
  outFeatures: number;
  inFeatures: number;
  rank: number;
  scaling: number;
  /** B [out, rank], row-major. */
  b: Float32Array;
  /** A [rank, in], row-major. */
  a: Float32Array;
  /** The adapters whose updates it sums. */
  adapters: string[];
}

export function materialiseLinear(adapters: readonly LinearAdapter[]): MaterialisedLayer[] {
  const byModule = new Map<string, LinearAdapter[]>();
  for (const a of adapters) byModule.set(a.site.name, [...(byModule.get(a.site.name) ?? []), a]);
  return [...byModule.entries()].map(([module, parts]) => {
    const { outFeatures, inFeatures } = parts[0].site;
    const pairs = parts.map((p) => p.lowRank());
    if (pairs.length === 1) {
      const { b, a, rank, scaling } = pairs[0];
      return { module, outFeatures, inFeatures, rank, scaling, b: Float32Array.from(b), a: Float32Array.from(a), adapters: [parts[0].name] };
    }
    const rank = pairs.reduce((n, p) => n + p.rank, 0);
    const b = new Float32Array(outFeatures * rank);
    const a = new Float32Array(rank * inFeatures);
    let at = 0;
    for (const p of pairs) {
      for (let o = 0; o < outFeatures; o++) for (let j = 0; j < p.rank; j++) b[o * rank + at + j] = p.scaling * p.b[o * p.rank + j];
      a.set(p.a, at * inFeatures);
      at += p.rank;
    }
    return { module, outFeatures, inFeatures, rank, scaling: 1, b, a, adapters: parts.map((p) => p.name) };
  });
}
