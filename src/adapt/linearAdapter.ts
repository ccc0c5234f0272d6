import { Random, Tensor, linear, mul, scale, type Tape } from '../tensor/index.js';
import { frobenius, matmul64, projectColumnsInPlace, projectRowsInPlace } from './matrices.js';
import type { LinearSite } from './sites.js';

// Every linear-layer adapter kind is a chain of small matrices applied to the
// layer's input, scaled: ΔW x = s · F_last ⋯ F_1 F_0 x.
//   LoRA:                     F = [A (r×in), B (out×r)]
//   write-constrained FC-LoRA: F = [A (r×in), C (k×r), U (out×k, fixed)]
//   read-constrained FC-LoRA:  F = [E' (k×in, fixed), B (out×k)]
// One class then gives all of them a forward, ΔW, an ordinary (B, A) pair
// (A = F_0, B = the rest multiplied out) and gradient projection.

export type LinearAdapterKind = 'lora' | 'write' | 'read';

/** One matrix of the chain, stored [out, in] like a linear layer's weight. */
export interface Factor {
  /** Its name inside the adapter: lora_A, lora_B, fc_A, fc_C, fc_U, fc_E, fc_B. */
  name: string;
  tensor: Tensor;
  trainable: boolean;
}

/**
 * Gradient projection onto a fixed subspace with orthonormal basis q [dim, rank]:
 * 'out' projects the columns of the last factor (keeps ΔW's columns, i.e. what
 * the layer writes, in the subspace); 'in' projects the rows of the first factor
 * (keeps ΔW's rows, i.e. what the layer reads, in the subspace).
 */
export interface Projection {
  side: 'in' | 'out';
  q: Float64Array;
  rank: number;
}

export interface LinearAdapterInit {
  /** Unique within its set: "<module>.<kind>" or "<module>.residual". */
  name: string;
  kind: LinearAdapterKind;
  /** 'residual': the small unconstrained LoRA beside an FC kind. */
  role: 'main' | 'residual';
  site: LinearSite;
  factors: Factor[];
  scaling: number;
  dropout: number;
  seed: number;
  projection: Projection | null;
}

export class LinearAdapter {
  readonly name: string;
  readonly kind: LinearAdapterKind;
  readonly role: 'main' | 'residual';
  readonly site: LinearSite;
  readonly factors: readonly Factor[];
  readonly scaling: number;
  readonly dropout: number;
  readonly seed: number;
  readonly projection: Projection | null;
  /** Draws the dropout masks; public so that a learner can save and restore its state and resume training exactly. */
  readonly dropoutRng: Random;

  constructor(init: LinearAdapterInit) {
    ({ name: this.name, kind: this.kind, role: this.role, site: this.site, factors: this.factors, scaling: this.scaling, dropout: this.dropout, seed: this.seed, projection: this.projection } = init);
    this.dropoutRng = new Random(init.seed ^ 0x5bd1e995);
    const { factors, site } = init;
    if (factors.length < 2) throw new RangeError(`${init.name}: an adapter needs at least two factors`);
    let width = site.inFeatures;
    for (const f of factors) {
      if (f.tensor.ndim !== 2 || f.tensor.shape[1] !== width) {
        throw new RangeError(`${init.name}: factor ${f.name} is [${f.tensor.shape.join(', ')}], expected [*, ${width}] to follow the previous factor`);
      }
      width = f.tensor.shape[0];
    }
    if (width !== site.outFeatures) throw new RangeError(`${init.name}: the factors map ${site.inFeatures} to ${width} values, the layer ${site.name} writes ${site.outFeatures}`);
    if (!(init.dropout >= 0 && init.dropout < 1)) throw new RangeError(`${init.name}: dropout must be in [0, 1), got ${init.dropout}`);
    if (init.projection !== null) {
      const target = init.projection.side === 'in' ? factors[0] : factors[factors.length - 1];
      if (!target.trainable) throw new RangeError(`${init.name}: gradient projection on the ${init.projection.side} side needs a trainable ${target.name}`);
    }
    for (const f of factors) {
      f.tensor.requiresGrad = f.trainable;
      f.tensor.name = `${init.name}.${f.name}`;
    }
  }

  /** Rank of the (B, A) pair: the width after the first factor. */
  get rank(): number {
    return this.factors[0].tensor.shape[0];
  }

  parameters(): Tensor[] {
    return this.factors.filter((f) => f.trainable).map((f) => f.tensor);
  }

  /** ΔW · dropout(x) on the tape (dropout only when training); x is the layer's input [..., in]. */
  delta(tape: Tape, x: Tensor, training: boolean): Tensor {
    let h = training && this.dropout > 0 ? this.applyDropout(tape, x) : x;
    for (const f of this.factors) h = linear(tape, h, f.tensor);
    return this.scaling === 1 ? h : scale(tape, h, this.scaling);
  }

  /** ΔW [out, in] in float64. */
  deltaWeight(): Float64Array {
    const { b, a, rank } = this.lowRank();
    const out = matmul64(b, a, this.site.outFeatures, rank, this.site.inFeatures);
    for (let i = 0; i < out.length; i++) out[i] *= this.scaling;
    return out;
  }

  /** ΔW = scaling · b a, with a = F_0 [rank, in] and b = F_last ⋯ F_1 [out, rank], in float64. */
  lowRank(): { b: Float64Array; a: Float64Array; rank: number; scaling: number } {
    const rank = this.rank;
    const a = Float64Array.from(this.factors[0].tensor.toArray());
    let b: Float64Array | null = null;
    for (const f of this.factors.slice(1)) {
      const m = Float64Array.from(f.tensor.toArray());
      const [rows, inner] = f.tensor.shape;
      b = b === null ? m : matmul64(m, b, rows, inner, rank);
    }
    return { b: b!, a, rank, scaling: this.scaling };
  }

  /** ‖ΔW‖_F. */
  norm(): number {
    return frobenius(this.deltaWeight());
  }

  projectGradients(): void {
    this.project((f) => f.tensor.grad);
  }

  /**
   * Projects the factor itself. Adam rescales each coordinate of an update
   * separately, which takes a projected gradient back out of the subspace; this
   * after every optimiser step is what keeps ΔW inside it.
   */
  projectParameters(): void {
    this.project((f) => f.tensor);
  }

  private project(pick: (f: Factor) => Tensor | null): void {
    const p = this.projection;
    if (p === null) return;
    const factor = p.side === 'in' ? this.factors[0] : this.factors[this.factors.length - 1];
    const t = pick(factor);
    if (t === null) return;
    const [rows, cols] = factor.tensor.shape;
    if (p.side === 'out') projectColumnsInPlace(t.data, rows, cols, p.q, p.rank);
    else projectRowsInPlace(t.data, rows, cols, p.q, p.rank);
  }

  private applyDropout(tape: Tape, x: Tensor): Tensor {
    const mask = tape.allocate(x.shape);
    const keep = 1 / (1 - this.dropout);
    const m = mask.data;
    for (let i = 0; i < m.length; i++) m[i] = this.dropoutRng.uniform() < this.dropout ? 0 : keep;
    return mul(tape, x, mask);
  }
}

/** A fixed matrix as a tensor of the current backend (exact in float64, rounded in float32). */
export function fixedMatrix(values: ArrayLike<number>, rows: number, cols: number): Tensor {
  return Tensor.fromArray(values, [rows, cols]);
}
