import type { FloatArray } from '../backends/kernels.js';
import { NonFiniteError, ShapeError, formatShape } from '../errors.js';
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { checkIds, kernels, lastDim, leadingRows, requireContiguous, requireSameShape } from './common.js';

// Fused losses over logits: cross-entropy (with ignore-index and per-token weights)
// and KL divergence between two distributions given as logits (for distillation).
// Losses are always checked for NaN/Inf: a non-finite loss is the most common way a
// training run goes wrong, and it must stop with the row that caused it.

export interface CrossEntropyOptions {
  /** Rows whose target equals this are skipped (default -100, as in PyTorch). */
  ignoreIndex?: number;
  /** Per-row weights, length = rows. */
  weights?: Float32Array | Float64Array;
  /** 'mean' divides by the sum of weights of non-ignored rows (default); 'sum' does not. */
  reduction?: 'mean' | 'sum';
}

function assertFiniteLoss(op: string, losses: FloatArray, logitsShape: readonly number[], total: number): void {
  if (Number.isFinite(total)) return;
  const index = kernels().findNonFinite(losses);
  throw new NonFiniteError(op, `loss over logits ${formatShape(logitsShape)}; the row`, [losses.length], Math.max(index, 0), index >= 0 ? losses[index] : total);
}

/** The kernels take arrays of the backend's precision: convert the caller's weights if needed. */
function inPrecisionOf(like: FloatArray, values: FloatArray): FloatArray {
  if (values.constructor === like.constructor) return values;
  return like instanceof Float32Array ? Float32Array.from(values) : Float64Array.from(values);
}

/** Mean (or sum) cross-entropy of logits [..., vocab] against integer targets [rows]. */
export function crossEntropy(tape: Tape, logits: Tensor, targets: Int32Array, options: CrossEntropyOptions = {}): Tensor {
  const input = requireContiguous('crossEntropy', 'logits', logits);
  const vocab = lastDim(logits);
  const rows = leadingRows(logits);
  checkIds('crossEntropy', 'targets', targets, rows);
  const ignoreIndex = options.ignoreIndex ?? -100;
  const weights = options.weights ?? null;
  if (weights !== null && weights.length !== rows) {
    throw new ShapeError('crossEntropy', `weights has ${weights.length} entries, expected one per row (${rows}) of logits ${formatShape(logits.shape)}`);
  }
  const losses = tape.allocate([rows]);
  const logSumExp = tape.allocate([rows]);
  const k = kernels();
  const weightData = weights === null ? null : inPrecisionOf(input, weights);
  k.crossEntropy(input, targets, weightData, rows, vocab, ignoreIndex, losses.data, logSumExp.data);
  let normaliser = 1;
  if ((options.reduction ?? 'mean') === 'mean') {
    normaliser = 0;
    for (let r = 0; r < rows; r++) if (targets[r] !== ignoreIndex) normaliser += weightData === null ? 1 : weightData[r];
  }
  const total = k.sumAll(losses.data);
  assertFiniteLoss('crossEntropy', losses.data, logits.shape, total);
  const out = tape.allocate([]);
  out.data[0] = normaliser === 0 ? 0 : total / normaliser;
  return tape.record('crossEntropy', out, [logits], (gradOut) => {
    const sink = tape.gradientSink(logits);
    if (sink === null) return;
    const rowScale = tape.allocate([rows]);
    rowScale.data.fill(normaliser === 0 ? 0 : gradOut.data[0] / normaliser);
    k.crossEntropyBackward(input, targets, weightData, logSumExp.data, rowScale.data, sink.array, rows, vocab, ignoreIndex, sink.accumulate);
  });
}

export interface KlOptions {
  /**
   * 'reverse' = KL(student || teacher), the on-policy distillation loss;
   * 'forward' = KL(teacher || student).
   */
  direction: 'reverse' | 'forward';
  /** Per-row weights (e.g. a mask over sampled positions); the loss is sum(w * KL) / sum(w). */
  weights?: Float32Array | Float64Array;
}

/** Mean per-row KL divergence between softmax(student) and softmax(teacher), logits [..., vocab]. */
export function klDivergence(tape: Tape, student: Tensor, teacher: Tensor, options: KlOptions): Tensor {
  const s = requireContiguous('klDivergence', 'student', student);
  const t = requireContiguous('klDivergence', 'teacher', teacher);
  requireSameShape('klDivergence', ['student', 'teacher'], student, teacher);
  const vocab = lastDim(student);
  const rows = leadingRows(student);
  const weights = options.weights ?? null;
  if (weights !== null && weights.length !== rows) {
    throw new ShapeError('klDivergence', `weights has ${weights.length} entries, expected ${rows}`);
  }
  const [p, q, pTensor, qTensor] = options.direction === 'reverse' ? [s, t, student, teacher] : [t, s, teacher, student];
  const perRow = tape.allocate([rows]);
  const k = kernels();
  k.klDivergence(p, q, rows, vocab, perRow.data);
  let total = 0;
  let normaliser = 0;
  for (let r = 0; r < rows; r++) {
    const w = weights === null ? 1 : weights[r];
    total += w * perRow.data[r];
    normaliser += w;
  }
  assertFiniteLoss(`klDivergence(${options.direction})`, perRow.data, student.shape, total);
  const out = tape.allocate([]);
  out.data[0] = normaliser === 0 ? 0 : total / normaliser;
  return tape.record(`klDivergence(${options.direction})`, out, [student, teacher], (gradOut) => {
    const gradP = tape.gradientSink(pTensor);
    const gradQ = tape.gradientSink(qTensor);
    if (gradP === null && gradQ === null) return;
    const rowScale = tape.allocate([rows]);
    const base = normaliser === 0 ? 0 : gradOut.data[0] / normaliser;
    for (let r = 0; r < rows; r++) rowScale.data[r] = base * (weights === null ? 1 : weights[r]);
    const accumulate = (gradP?.accumulate ?? false) || (gradQ?.accumulate ?? false);
    for (const g of [gradP, gradQ]) if (g !== null && accumulate && !g.accumulate) g.array.fill(0);
    k.klDivergenceBackward(p, q, rowScale.data, gradP?.array ?? null, gradQ?.array ?? null, rows, vocab, accumulate);
  });
}
