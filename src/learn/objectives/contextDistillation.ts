import { type Tape, type Tensor, klDivergence } from '../../tensor/index.js';
import { type Policy, referenceRows, studentRows } from './policy.js';

// On-policy context distillation (the learner's main signal).
//
// The student (base + adapter) sees the prompt x without the user's context and
// has sampled its own reply y = (y_0 .. y_{T-1}) from π_θ(· | x). The teacher is
// the base model with the context c in its prompt, x_c = (system turn c) ++ x.
// The loss is the reverse KL at every sampled position, over the full vocabulary,
// averaged over positions:
//
//   L_distill = (1/T) Σ_t KL( π_θ(· | x, y_<t) ‖ π_base(· | x_c, y_<t) )
//             = (1/T) Σ_t Σ_v π_θ(v | x, y_<t) [log π_θ(v | x, y_<t) − log π_base(v | x_c, y_<t)]
//
// Positions align on the reply, not on the prompt: the teacher's prompt is longer,
// so student row P_s − 1 + t and teacher row P_c − 1 + t both predict y_t (each
// side reads the last T rows of its own logits, see policy.ts). The teacher runs
// without gradient; only the student's forward is recorded, so the gradient flows
// into the adapter alone. Reverse KL is mode-seeking and, on the student's own
// samples, needs no teacher sample: the on-policy distillation recipe
// (Agarwal et al. 2024, "On-Policy Distillation of Language Models"; Thinking
// Machines 2025, "On-Policy Distillation").

export interface DistillationResult {
  loss: Tensor;
  /** T, the number of sampled positions scored. */
  positions: number;
  /** Share of positions where the student's and the teacher's most likely token agree. */
  tokenAgreement: number;
}

export function contextDistillationLoss(
  tape: Tape, policy: Policy, studentPrompt: readonly number[], teacherPrompt: readonly number[], sample: readonly number[],
): DistillationResult {
  if (sample.length === 0) throw new RangeError('contextDistillationLoss: the student sampled no token');
  const teacher = referenceRows(tape, policy.model, teacherPrompt, sample);
  const student = studentRows(tape, policy, studentPrompt, sample);
  const loss = klDivergence(tape, student, teacher, { direction: 'reverse' });
  return { loss, positions: sample.length, tokenAgreement: argmaxAgreement(student, teacher) };
}

/** Share of rows of two [T, vocab] logits tensors whose argmax is the same token. */
export function argmaxAgreement(a: Tensor, b: Tensor): number {
  const vocab = a.shape[a.shape.length - 1];
  const rows = a.size / vocab;
  const x = a.data;
  const y = b.data;
  let same = 0;
  for (let r = 0; r < rows; r++) {
    let ia = 0;
    let ib = 0;
    for (let i = 1; i < vocab; i++) {
      if (x[r * vocab + i] > x[r * vocab + ia]) ia = i;
      if (y[r * vocab + i] > y[r * vocab + ib]) ib = i;
    }
    if (ia === ib) same++;
  }
  return rows === 0 ? 1 : same / rows;
}
