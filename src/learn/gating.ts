import type { Experience, ReactionKind } from './experience.js';

// The gate: how much one experience counts ("garbage in, garbage out"). Each
// signal is logged on its own; the weight is their product
//
//   weight = trust · quality^γ_q · agreement^γ_a · min(1, fraction / saturation)^γ_s
//
// - trust (in [0, 1]): the experience's explicit `trust`, else the default of its
//   reaction kind;
// - quality (in (0, 1)): the feature-based quality detector's score of the texts
//   the experience teaches from (gating/qualityDetector.ts); the lowest one counts;
// - agreement (in [0, 1]): on the student's sampled positions, the share where the
//   teacher's most likely token is the student's (a context the base model cannot
//   make sense of leaves the teacher disagreeing everywhere);
// - fraction: ‖P_U g‖ / ‖g‖ with g = ∂L_e/∂h, the gradient of the experience's
//   objective with respect to the residual stream at the bundle's hook point, over
//   every position of every forward pass of the objective (gating/subspaceFraction.ts).
//   A random g scores sqrt(k/d) ("chance"); the factor saturates at `saturation`.
// A signal that could not be measured (no bundle, no distillation term) counts 1.
// An experience whose weight is below `threshold` is stored, not trained on.
// Because every factor is at most 1, trust · quality^γ_q bounds the weight: when
// that is already below the threshold the costly signals are not computed.

export interface GateConfig {
  threshold: number;
  trustByKind: Record<ReactionKind, number>;
  /** Exponents γ of the signals; 0 logs a signal without letting it gate. */
  exponents: { quality: number; agreement: number; subspace: number };
  /** The fraction at which the subspace factor reaches 1, as a multiple of chance (sqrt(k/d)). */
  subspaceSaturation: number;
}

export const defaultGateConfig: GateConfig = {
  threshold: 0.25,
  // A thumb says less about what was wrong than words do; an experience with no
  // reaction at all only carries its context.
  trustByKind: { thumbs: 0.9, correction: 1, preference: 1, none: 0.8 },
  exponents: { quality: 1, agreement: 0.5, subspace: 0.5 },
  subspaceSaturation: 2,
};

export interface QualityReading {
  /** Which text: prompt, reply, correctedReply, context. */
  what: string;
  score: number;
  projection: number;
}

export interface GateSignals {
  trust: number;
  trustSource: 'explicit' | 'reaction kind';
  /** The lowest of `qualityTexts`, or null without a detector. */
  quality: number | null;
  qualityTexts: QualityReading[];
  agreement: number | null;
  /** Mean reverse KL(student ‖ teacher) on the sampled positions. */
  teacherKl: number | null;
  subspaceFraction: number | null;
  subspaceChance: number | null;
}

export interface GateDecision {
  weight: number;
  trained: boolean;
  factors: { trust: number; quality: number; agreement: number; subspace: number };
  /** Why it was not trained, when it was not. */
  reason?: string;
}

export function checkGateConfig(config: GateConfig): GateConfig {
  if (!(config.threshold >= 0 && config.threshold <= 1)) throw new RangeError(`gate threshold must be in [0, 1], got ${config.threshold}`);
  for (const [kind, t] of Object.entries(config.trustByKind)) {
    if (!(t >= 0 && t <= 1)) throw new RangeError(`gate trust of reaction kind "${kind}" must be in [0, 1], got ${t}`);
  }
  for (const [signal, g] of Object.entries(config.exponents)) {
    if (!(g >= 0) || !Number.isFinite(g)) throw new RangeError(`gate exponent of ${signal} must be a finite number >= 0, got ${g}`);
  }
  if (!(config.subspaceSaturation > 0)) throw new RangeError(`gate subspaceSaturation must be > 0, got ${config.subspaceSaturation}`);
  return config;
}

export function trustOf(experience: Experience, config: GateConfig): { trust: number; source: GateSignals['trustSource'] } {
  if (experience.trust !== undefined) return { trust: experience.trust, source: 'explicit' };
  return { trust: config.trustByKind[experience.reaction.kind], source: 'reaction kind' };
}

export function gateDecision(signals: GateSignals, config: GateConfig): GateDecision {
  const { exponents } = config;
  const power = (value: number | null, gamma: number) => (value === null || gamma === 0 ? 1 : Math.max(0, value) ** gamma);
  const saturation = signals.subspaceChance === null ? 1 : config.subspaceSaturation * signals.subspaceChance;
  const factors = {
    trust: signals.trust,
    quality: power(signals.quality, exponents.quality),
    agreement: power(signals.agreement, exponents.agreement),
    subspace: power(signals.subspaceFraction === null ? null : Math.min(1, signals.subspaceFraction / saturation), exponents.subspace),
  };
  const weight = factors.trust * factors.quality * factors.agreement * factors.subspace;
  const trained = weight >= config.threshold && weight > 0;
  if (trained) return { weight, trained, factors };
  const lowest = (Object.entries(factors) as [string, number][]).reduce((a, b) => (b[1] < a[1] ? b : a));
  return { weight, trained, factors, reason: `gate weight ${weight.toFixed(3)} < threshold ${config.threshold} (lowest factor: ${lowest[0]} ${lowest[1].toFixed(3)})` };
}

/** The weight's upper bound from the cheap signals: the gate cannot pass when this is below the threshold. */
export function weightBound(trust: number, quality: number | null, config: GateConfig): number {
  return trust * (quality === null || config.exponents.quality === 0 ? 1 : Math.max(0, quality) ** config.exponents.quality);
}
