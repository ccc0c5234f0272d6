import { Tensor } from '../tensor.js';
import { getBackend } from '../backend.js';
import { buildGroups, zeroGradients, type ParamGroup, type ParamGroupSpec } from './paramGroups.js';

// SGD with momentum, dampening and Nesterov, following PyTorch's semantics.

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD {
  readonly groups: ParamGroup[];
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  private readonly buffers = new Map<Tensor, Tensor>();

  constructor(params: Tensor[] | ParamGroupSpec[], options: SgdOptions) {
    this.groups = buildGroups(params, { lr: options.lr, weightDecay: options.weightDecay ?? 0 }, 'SGD');
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError('SGD: Nesterov momentum needs momentum > 0 and dampening = 0');
    }
  }

  step(): void {
    const k = getBackend().kernels;
    for (const group of this.groups) {
      for (const p of group.params) {
        if (p.grad === null || p.gradIsStale) continue;
        let buffer = this.buffers.get(p);
        const firstStep = buffer === undefined;
        if (buffer === undefined) {
          buffer = Tensor.zeros(p.shape);
          this.buffers.set(p, buffer);
        }
        k.sgd(p.data, p.grad.data, buffer.data, group.lr, this.momentum, this.dampening, group.weightDecay, this.nesterov, firstStep);
      }
    }
  }

  zeroGrad(): void {
    zeroGradients(this.groups);
  }
}
