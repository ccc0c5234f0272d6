// Learning rate: linear warm-up to the peak, then a cosine decay to minLr at the
// last step. A function of the step alone, so a resumed run continues the curve.

export interface LrSchedule {
  peakLr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
}

export function learningRateAt(step: number, s: LrSchedule): number {
  if (step < s.warmupSteps) return s.peakLr * (step + 1) / s.warmupSteps;
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps));
  return s.minLr + 0.5 * (s.peakLr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}
