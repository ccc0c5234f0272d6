import type { Tensor } from '../tensor.js';

// Parameter groups: each group has its own learning rate and weight decay (for
// example, no decay on norms and biases, a larger rate on adapter matrices).

export interface ParamGroupOptions {
  lr: number;
  weightDecay: number;
}

export interface ParamGroup<Extra = object> extends ParamGroupOptions {
  params: Tensor[];
  extra: Extra;
}

export type ParamGroupSpec = { params: Tensor[] } & Partial<ParamGroupOptions>;

export function buildGroups(spec: Tensor[] | ParamGroupSpec[], defaults: ParamGroupOptions, optimiser: string): ParamGroup[] {
  const specs: ParamGroupSpec[] = spec.length > 0 && 'params' in spec[0] ? (spec as ParamGroupSpec[]) : [{ params: spec as Tensor[] }];
  const seen = new Set<Tensor>();
  return specs.map((group, index) => {
    const lr = group.lr ?? defaults.lr;
    const weightDecay = group.weightDecay ?? defaults.weightDecay;
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new RangeError(`${optimiser}: group ${index} learning rate must be a finite number >= 0, got ${lr}`);
    if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) throw new RangeError(`${optimiser}: group ${index} weight decay must be a finite number >= 0, got ${weightDecay}`);
    for (const p of group.params) {
      if (seen.has(p)) throw new Error(`${optimiser}: parameter ${p.name ?? '(unnamed)'} appears in more than one group`);
      if (!p.requiresGrad) throw new Error(`${optimiser}: parameter ${p.name ?? '(unnamed)'} does not require a gradient`);
      seen.add(p);
    }
    return { params: [...group.params], lr, weightDecay, extra: {} };
  });
}

/** Marks every gradient stale: the next backward overwrites instead of adding, with no memset. */
export function zeroGradients(groups: readonly ParamGroup[]): void {
  for (const group of groups) for (const p of group.params) p.gradIsStale = true;
}
