import { ropeFrequencies } from '../tensor/index.js';
import type { ModelSpec } from './spec.js';

// RoPE frequencies including the scalings checkpoints ask for. Linear scaling
// divides every frequency by the factor. Llama-3's scheme leaves high frequencies
// (short wavelengths) alone, divides low frequencies by the factor, and blends
// linearly in between, by wavelength relative to the original context length.

export function scaledRopeFrequencies(spec: ModelSpec): Float64Array {
  if (spec.rope === null) throw new RangeError(`scaledRopeFrequencies: ${spec.modelType} uses learned positions, not RoPE`);
  const { theta, rotaryDim, scaling } = spec.rope;
  const base = ropeFrequencies(rotaryDim, theta);
  switch (scaling.type) {
    case 'none':
      return base;
    case 'linear':
      return base.map((f) => f / scaling.factor);
    case 'llama3': {
      const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
      const lowFreqWavelength = originalMaxPositions / lowFreqFactor;
      const highFreqWavelength = originalMaxPositions / highFreqFactor;
      return base.map((frequency) => {
        const wavelength = (2 * Math.PI) / frequency;
        if (wavelength < highFreqWavelength) return frequency;
        if (wavelength > lowFreqWavelength) return frequency / factor;
        const smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - smooth) * (frequency / factor) + smooth * frequency;
      });
    }
  }
}
