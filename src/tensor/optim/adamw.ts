import { Tensor } from '../tensor.js';
import { getBackend } from '../backend.js';
import { buildGroups, zeroGradients, type ParamGroup, type ParamGroupSpec } from './paramGroups.js';

// AdamW (Loshchilov & Hutter) as one fused native update per parameter: moments,
// bias correction, decoupled weight decay and the step in a single pass.

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class AdamW {
  readonly groups: ParamGroup[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  stepCount = 0;
  private readonly moments = new Map<Tensor, { m: Tensor; v: Tensor }>();

  constructor(params: Tensor[] | ParamGroupSpec[], options: AdamWOptions) {
    this.groups = buildGroups(params, { lr: options.lr, weightDecay: options.weightDecay ?? 0.01 }, 'AdamW');
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    for (const b of [this.beta1, this.beta2]) {
      if (!(b >= 0 && b < 1)) throw new RangeError(`AdamW: betas must be in [0, 1), got [${this.beta1}, ${this.beta2}]`);
    }
  }

  step(): void {
    this.stepCount++;
    const k = getBackend().kernels;
    const biasCorrection1 = 1 - Math.pow(this.beta1, this.stepCount);
    const biasCorrection2 = 1 - Math.pow(this.beta2, this.stepCount);
    for (const group of this.groups) {
      for (const p of group.params) {
        if (p.grad === null || p.gradIsStale) continue;
        const state = this.state(p);
        k.adamW(p.data, p.grad.data, state.m.data, state.v.data, group.lr, this.beta1, this.beta2, this.eps,
          group.weightDecay, biasCorrection1, biasCorrection2);
      }
    }
  }

  zeroGrad(): void {
    zeroGradients(this.groups);
  }

  /** First and second moments, for checkpointing. */
  state(p: Tensor): { m: Tensor; v: Tensor } {
    let state = this.moments.get(p);
    if (state === undefined) {
      state = { m: Tensor.zeros(p.shape), v: Tensor.zeros(p.shape) };
      this.moments.set(p, state);
    }
    return state;
  }
}
