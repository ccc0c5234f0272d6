import { type GateConfig, checkGateConfig, defaultGateConfig } from './gating.js';
import { type ObjectiveConfig, defaultObjectiveConfig } from './objectives/experienceObjective.js';

// The learner's settings as plain data, with the defaults and why they are what
// they are.

/**
 * AdamW learning rate: 1e-2. LoRA's best learning rate is about 10x full
 * fine-tuning's, about 15x in very short runs ("LoRA Without Regret", Schulman
 * et al., Thinking Machines 2025), measured with their scaling s = 32/r. The
 * shipped model's fine-tuning phases ran at 3e-4, so the rule gives 3e-3 to
 * 4.5e-3 at s = 8 (r = 4). Our adapters default to PEFT's alpha = r, s = 1: under
 * Adam a step then moves ΔW 8x less for the same rate, and online learning is the
 * shortest of runs (tens of steps), so we take 1e-2, inside the range the rule
 * gives once corrected for s (4.5e-3 to 3.6e-2). Measured on the shipped model
 * (write FC-LoRA r = 4, directness, seed 1): 30 interactions moved the judge
 * +0.08 at 3e-3 and +0.50 at 1e-2. FC-LoRA's trained factors are LoRA's (A, and C
 * in place of B), so it shares the rule.
 */
export const DEFAULT_LEARNING_RATE = 1e-2;

export interface ForgettingConfig {
  /** Weight of KL(adapted ‖ base) on a background sequence, one per step (0: off). */
  backgroundWeight: number;
  /** Weight of the SFT term on replayed accepted replies (0: off). */
  replayWeight: number;
  replayCapacity: number;
  /** Replayed items per step. */
  replayPerStep: number;
}

export interface LearnerConfig {
  lr: number;
  weightDecay: number;
  betas: [number, number];
  /** Global gradient-norm clip of each step's update. */
  clipNorm: number;
  /** Most tokens the student samples for distillation. */
  sampleTokens: number;
  /** Sampling temperature of the student's distillation sample (1: its own distribution). */
  temperature: number;
  objective: ObjectiveConfig;
  gate: GateConfig;
  forgetting: ForgettingConfig;
  /** Seeds the student's samples, the background draws and the replay draws. */
  seed: number;
  /** Native backend threads while sampling (see sampleReply.ts); null keeps the backend's. */
  decodeThreads: number | null;
  /** Most experiences kept in `history` (oldest dropped first). */
  historyLimit: number;
}

export const defaultLearnerConfig: LearnerConfig = {
  lr: DEFAULT_LEARNING_RATE,
  weightDecay: 0,
  betas: [0.9, 0.999],
  clipNorm: 1,
  sampleTokens: 64,
  temperature: 1,
  objective: defaultObjectiveConfig,
  gate: defaultGateConfig,
  forgetting: { backgroundWeight: 0.5, replayWeight: 0.5, replayCapacity: 32, replayPerStep: 1 },
  seed: 0,
  decodeThreads: 1,
  historyLimit: 10_000,
};

export type LearnerOptions = Partial<Omit<LearnerConfig, 'objective' | 'gate' | 'forgetting'>> & {
  objective?: Partial<Omit<ObjectiveConfig, 'weights' | 'kto'>> & { weights?: Partial<ObjectiveConfig['weights']>; kto?: Partial<ObjectiveConfig['kto']> };
  gate?: Partial<Omit<GateConfig, 'trustByKind' | 'exponents'>> & { trustByKind?: Partial<GateConfig['trustByKind']>; exponents?: Partial<GateConfig['exponents']> };
  forgetting?: Partial<ForgettingConfig>;
};

export function resolveLearnerConfig(options: LearnerOptions = {}): LearnerConfig {
  const d = defaultLearnerConfig;
  const o = options;
  const config: LearnerConfig = {
    ...d, ...stripUndefined(o),
    objective: {
      ...d.objective, ...stripUndefined(o.objective ?? {}),
      weights: { ...d.objective.weights, ...stripUndefined(o.objective?.weights ?? {}) },
      kto: { ...d.objective.kto, ...stripUndefined(o.objective?.kto ?? {}) },
    },
    gate: {
      ...d.gate, ...stripUndefined(o.gate ?? {}),
      trustByKind: { ...d.gate.trustByKind, ...stripUndefined(o.gate?.trustByKind ?? {}) },
      exponents: { ...d.gate.exponents, ...stripUndefined(o.gate?.exponents ?? {}) },
    },
    forgetting: { ...d.forgetting, ...stripUndefined(o.forgetting ?? {}) },
  };
  const positive = (name: string, v: number) => { if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`learner ${name} must be a finite number > 0, got ${v}`); };
  const nonNegative = (name: string, v: number) => { if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`learner ${name} must be a finite number >= 0, got ${v}`); };
  positive('lr', config.lr);
  nonNegative('weightDecay', config.weightDecay);
  positive('clipNorm', config.clipNorm);
  if (!Number.isInteger(config.sampleTokens) || config.sampleTokens < 1) throw new RangeError(`learner sampleTokens must be a positive integer, got ${config.sampleTokens}`);
  nonNegative('temperature', config.temperature);
  for (const [name, w] of Object.entries(config.objective.weights)) nonNegative(`objective weight ${name}`, w);
  positive('objective dpoBeta', config.objective.dpoBeta);
  positive('objective kto.beta', config.objective.kto.beta);
  nonNegative('forgetting backgroundWeight', config.forgetting.backgroundWeight);
  nonNegative('forgetting replayWeight', config.forgetting.replayWeight);
  if (!Number.isInteger(config.forgetting.replayCapacity) || config.forgetting.replayCapacity < 0) throw new RangeError(`learner forgetting replayCapacity must be an integer >= 0, got ${config.forgetting.replayCapacity}`);
  if (!Number.isInteger(config.forgetting.replayPerStep) || config.forgetting.replayPerStep < 0) throw new RangeError(`learner forgetting replayPerStep must be an integer >= 0, got ${config.forgetting.replayPerStep}`);
  if (!Number.isSafeInteger(config.seed)) throw new RangeError(`learner seed must be an integer, got ${config.seed}`);
  checkGateConfig(config.gate);
  return config;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
