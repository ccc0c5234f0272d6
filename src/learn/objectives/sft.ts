import { type Tape, type Tensor, crossEntropy, scale } from '../../tensor/index.js';
import { type Policy, studentRows } from './policy.js';

// Supervised fine-tuning on a reply the user accepted (thumbs up) or asked for
// (a correction's correctedReply), given the prompt without context:
//
//   L_sft = −(1/T) Σ_t log π_θ(y_t | x, y_<t)
//
// over the reply's tokens and its end-of-turn token only: the prompt's tokens
// are never targets (their rows are not even scored, see policy.ts).

export interface ReplyNll {
  /** −Σ_t log π_θ(y_t | x, y_<t), on the tape. */
  sum: Tensor;
  tokens: number;
}

export function replyNll(tape: Tape, policy: Policy, prompt: readonly number[], reply: readonly number[]): ReplyNll {
  const rows = studentRows(tape, policy, prompt, reply);
  return { sum: crossEntropy(tape, rows, Int32Array.from(reply), { reduction: 'sum' }), tokens: reply.length };
}

export function sftLoss(tape: Tape, policy: Policy, prompt: readonly number[], reply: readonly number[]): Tensor {
  const { sum, tokens } = replyNll(tape, policy, prompt, reply);
  return scale(tape, sum, 1 / tokens);
}
