import type { FloatArray } from '../kernels.js';
import { checkBoolean, checkFinite, checkFloatArray, checkSameLength } from './validate.js';

/**
 * AdamW with decoupled weight decay, in place:
 *   m = b1 m + (1-b1) g,  v = b2 v + (1-b2) g^2,  mHat = m / bc1,  vHat = v / bc2,
 *   p -= lr * (wd * p + mHat / (sqrt(vHat) + eps)).
 * The updated moments are stored first and read back, so the step uses them at the
 * precision of their buffers.
 */
export function adamW(
  param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, lr: number, beta1: number, beta2: number,
  eps: number, weightDecay: number, biasCorrection1: number, biasCorrection2: number,
): void {
  const k = 'adamW';
  checkFloatArray(k, 'param', param);
  checkFloatArray(k, 'grad', grad);
  checkFloatArray(k, 'm', m);
  checkFloatArray(k, 'v', v);
  const n = param.length;
  checkSameLength(k, 'grad', grad, 'param', n);
  checkSameLength(k, 'm', m, 'param', n);
  checkSameLength(k, 'v', v, 'param', n);
  checkFinite(k, 'lr', lr);
  checkFinite(k, 'beta1', beta1);
  checkFinite(k, 'beta2', beta2);
  checkFinite(k, 'eps', eps);
  checkFinite(k, 'weightDecay', weightDecay);
  checkFinite(k, 'biasCorrection1', biasCorrection1);
  checkFinite(k, 'biasCorrection2', biasCorrection2);
  for (let i = 0; i < n; i++) {
    const g = grad[i]!;
    m[i] = beta1 * m[i]! + (1 - beta1) * g;
    v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
    const mHat = m[i]! / biasCorrection1;
    const vHat = v[i]! / biasCorrection2;
    const p = param[i]!;
    param[i] = p - lr * (weightDecay * p + mHat / (Math.sqrt(vHat) + eps));
  }
}

/**
 * SGD, PyTorch semantics, in place: g' = g + wd p; with momentum != 0,
 * buf = firstStep ? g' : momentum buf + (1 - dampening) g', step = nesterov ? g' + momentum buf : buf;
 * with momentum == 0, step = g' and momentumBuffer is neither read nor written (nor length-checked).
 * p -= lr step.
 */
export function sgd(
  param: FloatArray, grad: FloatArray, momentumBuffer: FloatArray, lr: number, momentum: number,
  dampening: number, weightDecay: number, nesterov: boolean, firstStep: boolean,
): void {
  const k = 'sgd';
  checkFloatArray(k, 'param', param);
  checkFloatArray(k, 'grad', grad);
  checkFloatArray(k, 'momentumBuffer', momentumBuffer);
  const n = param.length;
  checkSameLength(k, 'grad', grad, 'param', n);
  checkFinite(k, 'lr', lr);
  checkFinite(k, 'momentum', momentum);
  checkFinite(k, 'dampening', dampening);
  checkFinite(k, 'weightDecay', weightDecay);
  checkBoolean(k, 'nesterov', nesterov);
  checkBoolean(k, 'firstStep', firstStep);
  if (momentum === 0) {
    for (let i = 0; i < n; i++) {
      const p = param[i]!;
      param[i] = p - lr * (grad[i]! + weightDecay * p);
    }
    return;
  }
  checkSameLength(k, 'momentumBuffer', momentumBuffer, 'param', n);
  for (let i = 0; i < n; i++) {
    const p = param[i]!;
    const g = grad[i]! + weightDecay * p;
    momentumBuffer[i] = firstStep ? g : momentum * momentumBuffer[i]! + (1 - dampening) * g;
    const buf = momentumBuffer[i]!;
    const step = nesterov ? g + momentum * buf : buf;
    param[i] = p - lr * step;
  }
}
