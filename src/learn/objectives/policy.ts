import type { CausalLm, ForwardOptions } from '../../model/causalLm.js';
import { withInferenceTape } from '../../model/inference.js';
import { type Tape, type Tensor, contiguous, reshape, slice } from '../../tensor/index.js';

// The two policies every objective compares: the student (the base model with
// the adapter's hooks, recorded on the tape) and the reference (the base model
// alone, without gradient). Objectives read only the logits that predict the
// tokens they score: for a continuation y of length T after a prompt x, the
// input is x ++ y[0..T-2] and the last T rows of logits predict y[0..T-1].

export type StudentForward = Pick<ForwardOptions, 'hooks' | 'linearHook'>;

export interface Policy {
  model: CausalLm;
  /** Forward options that add the adapter (and any probe) to the base model. */
  student: StudentForward;
}

/** The input ids whose last `continuation.length` logits rows predict `continuation`. */
export function scoringInput(prompt: readonly number[], continuation: readonly number[]): Int32Array {
  if (prompt.length === 0) throw new RangeError('scoringInput: the prompt is empty; it needs at least one token (BOS)');
  if (continuation.length === 0) throw new RangeError('scoringInput: the continuation is empty');
  const ids = new Int32Array(prompt.length + continuation.length - 1);
  ids.set(prompt);
  ids.set(continuation.slice(0, -1), prompt.length);
  return ids;
}

/** Student logits [T, vocab] predicting each token of `continuation`, recorded on `tape`. */
export function studentRows(tape: Tape, policy: Policy, prompt: readonly number[], continuation: readonly number[]): Tensor {
  const ids = scoringInput(prompt, continuation);
  const { logits } = policy.model.forward(tape, ids, 1, ids.length, { ...policy.student, logits: 'all' });
  const T = continuation.length;
  const rows = contiguous(tape, slice(tape, logits!, 1, ids.length - T, ids.length));
  return reshape(tape, rows, [T, policy.model.spec.vocabSize]);
}

/**
 * Reference (base model, no adapter) logits [T, vocab] predicting each token of
 * `continuation`, computed without gradient and owned by `tape` (released with it).
 */
export function referenceRows(tape: Tape, model: CausalLm, prompt: readonly number[], continuation: readonly number[]): Tensor {
  const ids = scoringInput(prompt, continuation);
  const T = continuation.length;
  const vocab = model.spec.vocabSize;
  const out = tape.allocate([T, vocab]);
  withInferenceTape((inference) => {
    const { logits } = model.forward(inference, ids, 1, ids.length, { logits: 'all' });
    out.data.set(logits!.data.subarray((ids.length - T) * vocab, ids.length * vocab));
  });
  return out;
}

/** Σ_t log p(y_t | x, y_<t) from logits rows [T, vocab], in float64. */
export function sequenceLogprob(rows: Tensor, continuation: readonly number[]): number {
  const vocab = rows.shape[rows.shape.length - 1];
  const data = rows.data;
  let total = 0;
  continuation.forEach((token, t) => {
    const row = data.subarray(t * vocab, (t + 1) * vocab);
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) if (row[i] > max) max = row[i];
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += Math.exp(row[i] - max);
    total += row[token] - max - Math.log(sum);
  });
  return total;
}
