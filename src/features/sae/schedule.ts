// The SAE trainer's learning rate: linear warm-up from lr / warmupSteps to lr,
// then either constant or a cosine decay to minLr at the last step.

export interface SaeLrSchedule {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  decay: 'constant' | 'cosine';
  minLr: number;
}

export function saeLearningRate(step: number, s: SaeLrSchedule): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.decay === 'constant') return s.lr;
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - 1 - s.warmupSteps));
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}
