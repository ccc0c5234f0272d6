import { type Tape, type Tensor, crossEntropy, scale, sub } from '../../tensor/index.js';
import { type Policy, referenceRows } from './policy.js';
import { addConstant, negativeLogSigmoid, sigmoidOf } from './scalarOps.js';
import { replyNll } from './sft.js';

// Preference terms, with the base model (adapter off) as the reference policy.
// Log-probabilities are sums over the reply's tokens (and its end token).
//
// The implicit reward of a reply y to prompt x is r(y) = log π_θ(y|x) − log π_ref(y|x).
//
// Paired (a correction with correctedReply: chosen y_w, rejected y_l) — DPO
// (Rafailov et al. 2023, "Direct Preference Optimization", arXiv:2305.18290):
//   L_dpo = −log σ( β (r(y_w) − r(y_l)) )
// At initialisation (adapter = 0) π_θ = π_ref, so L_dpo = −log σ(0) = log 2.
//
// Unpaired (a lone thumbs up or down, a correction without a corrected reply) —
// KTO (Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic
// Optimization", arXiv:2402.01306), which needs no second reply:
//   desirable:    L = λ_D (1 − σ(β (r(y) − z₀)))
//   undesirable:  L = λ_U (1 − σ(β (z₀ − r(y))))
// KTO's reference point z₀ is a detached estimate of KL(π_θ ‖ π_ref) over the
// batch, clamped at 0; with one experience per step there is no batch to
// estimate it from, so z₀ is a setting (default 0, its value at initialisation).

export interface ScoredReply {
  /** r(y) = log π_θ(y|x) − log π_ref(y|x), on the tape. */
  reward: Tensor;
  policyLogprob: number;
  referenceLogprob: number;
  tokens: number;
}

/** The implicit reward of `reply` (student forward recorded, reference without gradient). */
export function implicitReward(tape: Tape, policy: Policy, prompt: readonly number[], reply: readonly number[]): ScoredReply {
  const { sum, tokens } = replyNll(tape, policy, prompt, reply);
  // Same kernel and precision as the policy's side, so r(y) is exactly 0 while the adapter is.
  const referenceLogprob = -crossEntropy(tape, referenceRows(tape, policy.model, prompt, reply), Int32Array.from(reply), { reduction: 'sum' }).item();
  const policyLogprob = -sum.item();
  return { reward: addConstant(tape, scale(tape, sum, -1), -referenceLogprob), policyLogprob, referenceLogprob, tokens };
}

export function dpoLoss(tape: Tape, chosen: Tensor, rejected: Tensor, beta: number): Tensor {
  if (!(beta > 0)) throw new RangeError(`dpoLoss: beta must be > 0, got ${beta}`);
  return negativeLogSigmoid(tape, scale(tape, sub(tape, chosen, rejected), beta));
}

export interface KtoOptions {
  beta: number;
  /** z₀ (default 0). */
  referencePoint?: number;
  /** λ_D (default 1). */
  desirableWeight?: number;
  /** λ_U (default 1). */
  undesirableWeight?: number;
}

export function ktoLoss(tape: Tape, reward: Tensor, desirable: boolean, options: KtoOptions): Tensor {
  const { beta } = options;
  if (!(beta > 0)) throw new RangeError(`ktoLoss: beta must be > 0, got ${beta}`);
  const z0 = options.referencePoint ?? 0;
  // 1 − σ(u) = σ(−u): desirable u = β(r − z₀), undesirable u = β(z₀ − r).
  const centred = addConstant(tape, reward, -z0);
  const value = sigmoidOf(tape, scale(tape, centred, desirable ? -beta : beta));
  const weight = desirable ? options.desirableWeight ?? 1 : options.undesirableWeight ?? 1;
  return weight === 1 ? value : scale(tape, value, weight);
}
