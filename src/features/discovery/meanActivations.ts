import type { TextTokenizer } from '../../io/tokenizer.js';
import type { CausalLm } from '../../model/causalLm.js';
import { captureResidualRows, checkPoints } from '../activations/captureRows.js';

// One row per text: the residual stream at a hook point, averaged over the text's
// tokens ('all') or taken at its last token ('last', where a causal model has read
// the whole text). These rows are what the contrastive estimators consume.

export interface MeanActivationOptions {
  positions: 'all' | 'last';
  /** Texts per forward pass (default 8). */
  batchSize?: number;
  /** Longer texts keep their first maxTokensPerText tokens (default: no limit). */
  maxTokensPerText?: number;
  /**
   * Passed to tokenizer.encode (default true). With true, a BOS the tokenizer adds
   * takes part in the 'all' average; pass false to average the text's own tokens.
   */
  addSpecialTokens?: boolean;
}

/** [texts.length, d] row-major. */
export function meanActivations(model: CausalLm, tokenizer: TextTokenizer, texts: readonly string[], point: string, options: MeanActivationOptions): Float32Array {
  checkPoints([point], model.spec.layers);
  if (options.positions !== 'all' && options.positions !== 'last') {
    throw new RangeError(`meanActivations: positions must be 'all' or 'last', got ${JSON.stringify(options.positions)}`);
  }
  const batchSize = options.batchSize ?? 8;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`meanActivations: batchSize must be a positive integer, got ${batchSize}`);
  const limit = options.maxTokensPerText ?? Number.POSITIVE_INFINITY;
  const d = model.spec.hiddenSize;
  const out = new Float32Array(texts.length * d);
  for (let start = 0; start < texts.length; start += batchSize) {
    const sequences = texts.slice(start, start + batchSize).map((text, i) => {
      const tokens = tokenizer.encode(text, { addSpecialTokens: options.addSpecialTokens ?? true }).slice(0, limit);
      if (tokens.length === 0) throw new RangeError(`meanActivations: text ${start + i} (${JSON.stringify(text.slice(0, 40))}) encodes to no tokens`);
      return tokens;
    });
    const rows = captureResidualRows(model, sequences, [point]).get(point)!;
    let row = 0;
    sequences.forEach((tokens, i) => {
      const target = out.subarray((start + i) * d, (start + i + 1) * d);
      if (options.positions === 'last') {
        target.set(rows.subarray((row + tokens.length - 1) * d, (row + tokens.length) * d));
      } else {
        const sum = new Float64Array(d);
        for (let t = 0; t < tokens.length; t++) for (let k = 0; k < d; k++) sum[k] += rows[(row + t) * d + k];
        for (let k = 0; k < d; k++) target[k] = sum[k] / tokens.length;
      }
      row += tokens.length;
    });
  }
  return out;
}
