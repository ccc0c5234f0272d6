// A small seeded generator (xoshiro128**) so that initialisation, sampling and
// test data are reproducible for a given seed on every platform. Math.random is
// never used in the compute path.

/**
 * Everything a generator will draw next depends on: the four xoshiro words and
 * the cached second Box–Muller value. Plain JSON (a float64 survives
 * JSON.stringify exactly), so a saved run can resume drawing where it stopped.
 */
export interface RandomState {
  words: [number, number, number, number];
  spareNormal: number | null;
}

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`Random: seed must be a finite number, got ${seed}`);
    // splitmix32 expands the seed into four non-zero state words.
    let state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    const next = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A copy of the state; setState(it) later makes this generator draw exactly what it would have drawn from here. */
  getState(): RandomState {
    return { words: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spareNormal };
  }

  setState(state: RandomState): void {
    const words = state?.words;
    if (!Array.isArray(words) || words.length !== 4 || !words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)) {
      throw new RangeError(`Random: state.words must be four unsigned 32-bit integers, got ${JSON.stringify(words)}`);
    }
    if (words.every((w) => w === 0)) throw new RangeError('Random: state.words are all zero, which xoshiro128** never reaches (it would draw only zeros)');
    const spare = state.spareNormal;
    if (spare !== null && !(typeof spare === 'number' && Number.isFinite(spare))) {
      throw new RangeError(`Random: state.spareNormal must be null or a finite number, got ${JSON.stringify(spare)}`);
    }
    [this.s0, this.s1, this.s2, this.s3] = words;
    this.spareNormal = spare;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller, with the second value cached). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  fillNormal(out: { length: number; [i: number]: number }, std = 1, mean = 0): void {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
  }

  fillUniform(out: { length: number; [i: number]: number }, low = 0, high = 1): void {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.uniform();
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
