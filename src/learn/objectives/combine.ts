import { type Tape, type Tensor, add, scale } from '../../tensor/index.js';

// The weighted combination of an experience's objective terms:
//   L = Σ_i w_i L_i   over the terms the experience provides (a term with weight 0 is left out).

export interface LossTerm {
  name: string;
  loss: Tensor;
  weight: number;
}

export function weightedSum(tape: Tape, terms: readonly LossTerm[]): Tensor | null {
  let total: Tensor | null = null;
  for (const term of terms) {
    if (!Number.isFinite(term.weight) || term.weight < 0) throw new RangeError(`objective weight of "${term.name}" must be a finite number >= 0, got ${term.weight}`);
    if (term.weight === 0) continue;
    const weighted = term.weight === 1 ? term.loss : scale(tape, term.loss, term.weight);
    total = total === null ? weighted : add(tape, total, weighted);
  }
  return total;
}
