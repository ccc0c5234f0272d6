// Counts how often each SAE feature fires, the raw material of TF-IDF selection.
// The unit counted is up to the caller: addRows counts every row (token) as one
// unit, addDocument counts a whole document once for each feature that fires
// anywhere in it. A feature fires on a row when its activation exceeds the
// threshold (0 by default, the natural cut for TopK and JumpReLU latents).

export class FiringCounts {
  /** Per feature: units (rows or documents) on which it fired. */
  readonly counts: Float64Array;
  /** Units added so far. */
  units = 0;

  constructor(readonly dSae: number, readonly threshold = 0) {
    if (!Number.isSafeInteger(dSae) || dSae < 1) throw new RangeError(`FiringCounts: dSae must be a positive integer, got ${dSae}`);
    this.counts = new Float64Array(dSae);
  }

  /** latents: [n, dSae]. Each row is one unit. */
  addRows(latents: Float32Array, n: number): this {
    this.check(latents, n, 'addRows');
    for (let i = 0; i < n * this.dSae; i++) if (latents[i] > this.threshold) this.counts[i % this.dSae]++;
    this.units += n;
    return this;
  }

  /** latents: [n, dSae], the rows of one document, which counts as one unit. */
  addDocument(latents: Float32Array, n: number): this {
    this.check(latents, n, 'addDocument');
    for (let f = 0; f < this.dSae; f++) {
      for (let r = 0; r < n; r++) {
        if (latents[r * this.dSae + f] > this.threshold) {
          this.counts[f]++;
          break;
        }
      }
    }
    this.units++;
    return this;
  }

  private check(latents: Float32Array, n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || latents.length !== n * this.dSae) {
      throw new RangeError(`FiringCounts.${what}: ${latents.length} latents do not form ${n} rows of dSae ${this.dSae}`);
    }
  }
}
