import { type Tape, type Tensor, klDivergence } from '../../tensor/index.js';
import { type Policy, referenceRows, studentRows } from './policy.js';

// Forgetting control: how far the adapted model has moved from the base model on
// text that has nothing to do with the user, as the reverse KL at every position
// of a background sequence b:
//
//   L_background = (1/(n−1)) Σ_{t=1}^{n−1} KL( π_θ(· | b_<t) ‖ π_base(· | b_<t) )
//
// It is zero, with zero gradient, while the adapter is zero, and pulls any change
// that is not needed for the user back toward the base.

export function backgroundKlLoss(tape: Tape, policy: Policy, sequence: readonly number[]): Tensor {
  if (sequence.length < 2) throw new RangeError(`backgroundKlLoss: a background sequence needs at least 2 tokens, got ${sequence.length}`);
  const prefix = sequence.slice(0, 1);
  const rest = sequence.slice(1);
  const base = referenceRows(tape, policy.model, prefix, rest);
  const adapted = studentRows(tape, policy, prefix, rest);
  return klDivergence(tape, adapted, base, { direction: 'reverse' });
}
