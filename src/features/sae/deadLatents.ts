// Which latents are dead: those that have not fired (activation > 0) on any of
// the last `deadAfterTokens` training tokens (Gao et al. use 10M tokens). A fresh
// tracker counts from zero, so no latent is dead before that many tokens have
// been seen.

export class DeadLatentTracker {
  private readonly tokensSinceFired: Float64Array;

  constructor(readonly dSae: number, readonly deadAfterTokens: number) {
    if (!Number.isSafeInteger(dSae) || dSae < 1) throw new RangeError(`DeadLatentTracker: dSae must be a positive integer, got ${dSae}`);
    if (!(deadAfterTokens > 0)) throw new RangeError(`DeadLatentTracker: deadAfterTokens must be positive, got ${deadAfterTokens}`);
    this.tokensSinceFired = new Float64Array(dSae);
  }

  /** Records a batch of latents [rows * dSae]. */
  observe(latents: ArrayLike<number>, rows: number): void {
    if (latents.length !== rows * this.dSae) throw new RangeError(`DeadLatentTracker.observe: expected ${rows} rows of ${this.dSae} latents, got ${latents.length} values`);
    const fired = new Uint8Array(this.dSae);
    for (let r = 0, i = 0; r < rows; r++) for (let j = 0; j < this.dSae; j++, i++) if (latents[i] > 0) fired[j] = 1;
    for (let j = 0; j < this.dSae; j++) this.tokensSinceFired[j] = fired[j] === 1 ? 0 : this.tokensSinceFired[j] + rows;
  }

  /** 1 for each dead latent. */
  deadMask(): Uint8Array {
    const mask = new Uint8Array(this.dSae);
    for (let j = 0; j < this.dSae; j++) mask[j] = this.tokensSinceFired[j] >= this.deadAfterTokens ? 1 : 0;
    return mask;
  }

  deadCount(): number {
    let count = 0;
    for (const t of this.tokensSinceFired) if (t >= this.deadAfterTokens) count++;
    return count;
  }
}
