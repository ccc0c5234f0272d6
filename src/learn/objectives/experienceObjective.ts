import type { Tape, Tensor } from '../../tensor/index.js';
import type { EncodedExperience } from '../encodeExperience.js';
import { type LossTerm, weightedSum } from './combine.js';
import { contextDistillationLoss } from './contextDistillation.js';
import type { Policy } from './policy.js';
import { type KtoOptions, dpoLoss, implicitReward, ktoLoss } from './preference.js';
import { sftLoss } from './sft.js';

// One experience's objective: the weighted sum of the terms it supports,
//   L_e = w_distill L_distill + w_sft L_sft + w_pref L_pref
// (L_pref is DPO for a pair, KTO for a lone reply; see preference.ts).

export interface ObjectiveWeights {
  distill: number;
  sft: number;
  preference: number;
}

export interface ObjectiveConfig {
  weights: ObjectiveWeights;
  /** β of DPO. */
  dpoBeta: number;
  kto: KtoOptions;
}

export const defaultObjectiveConfig: ObjectiveConfig = {
  weights: { distill: 1, sft: 0.5, preference: 0.5 },
  dpoBeta: 0.1,
  kto: { beta: 0.1, referencePoint: 0, desirableWeight: 1, undesirableWeight: 1 },
};

export interface ExperienceObjective {
  /** Null when the experience supports no term with a non-zero weight. */
  total: Tensor | null;
  /** Each term's value before weighting: distill, sft, dpo or kto. */
  terms: Record<string, number>;
  /** For the gate: the distillation's positions and argmax agreement. */
  distillation: { positions: number; tokenAgreement: number; meanKl: number } | null;
  /** r(y) of the preference replies, for logs. */
  rewards: Record<string, number>;
}

export function experienceObjective(
  tape: Tape, policy: Policy, encoded: EncodedExperience, sample: readonly number[] | null, config: ObjectiveConfig,
): ExperienceObjective {
  const { weights } = config;
  const terms: LossTerm[] = [];
  const rewards: Record<string, number> = {};
  let distillation: ExperienceObjective['distillation'] = null;
  if (weights.distill > 0 && encoded.teacher !== null && sample !== null && sample.length > 0) {
    const d = contextDistillationLoss(tape, policy, encoded.student, encoded.teacher, sample);
    const meanKl = d.loss.item();
    distillation = { positions: d.positions, tokenAgreement: d.tokenAgreement, meanKl };
    terms.push({ name: 'distill', loss: d.loss, weight: weights.distill });
  }
  if (weights.sft > 0 && encoded.accepted !== null) {
    terms.push({ name: 'sft', loss: sftLoss(tape, policy, encoded.student, encoded.accepted), weight: weights.sft });
  }
  const p = encoded.preference;
  if (weights.preference > 0 && p !== null) {
    if (p.kind === 'pair') {
      const chosen = implicitReward(tape, policy, encoded.student, p.chosen);
      const rejected = implicitReward(tape, policy, encoded.student, p.rejected);
      rewards.chosen = chosen.reward.item();
      rewards.rejected = rejected.reward.item();
      terms.push({ name: 'dpo', loss: dpoLoss(tape, chosen.reward, rejected.reward, config.dpoBeta), weight: weights.preference });
    } else {
      const scored = implicitReward(tape, policy, encoded.student, p.reply);
      rewards[p.desirable ? 'desirable' : 'undesirable'] = scored.reward.item();
      terms.push({ name: 'kto', loss: ktoLoss(tape, scored.reward, p.desirable, config.kto), weight: weights.preference });
    }
  }
  const values: Record<string, number> = {};
  for (const t of terms) values[t.name] = t.loss.item();
  return { total: weightedSum(tape, terms), terms: values, distillation, rewards };
}
