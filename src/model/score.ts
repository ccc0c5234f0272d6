import { crossEntropy } from '../tensor/index.js';
import { padBatch } from './batch.js';
import type { CausalLm, ForwardOptions } from './causalLm.js';
import { withInferenceTape } from './inference.js';

// Log-probabilities under the model: of a whole next-token distribution
// (for `imprint logits` and comparisons with other runtimes), and of given
// continuations after given contexts (for scoring and evaluation).

function logSoftmaxRow(row: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  const logZ = max + Math.log(sum);
  const out = new Float32Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i] - logZ;
  return out;
}

/** For each position i of `ids`, log p(next token | ids[0..i]) over the vocabulary. */
export function nextTokenLogprobs(model: CausalLm, ids: readonly number[], options: Pick<ForwardOptions, 'hooks' | 'linearHook'> = {}): Float32Array[] {
  if (ids.length === 0) throw new RangeError('nextTokenLogprobs: needs at least one token');
  const vocab = model.spec.vocabSize;
  return withInferenceTape((tape) => {
    const { logits } = model.forward(tape, Int32Array.from(ids), 1, ids.length, { ...options, logits: 'all' });
    return Array.from({ length: ids.length }, (_, t) => logSoftmaxRow(logits!.data.subarray(t * vocab, (t + 1) * vocab) as Float32Array));
  });
}

export interface ContinuationScore {
  /** log p of each continuation token given everything before it. */
  tokenLogprobs: number[];
  total: number;
}

/** Scores a batch of (context, continuation) pairs in one forward pass. */
export function scoreContinuations(
  model: CausalLm, items: readonly { context: readonly number[]; continuation: readonly number[] }[],
  options: Pick<ForwardOptions, 'hooks' | 'linearHook'> = {},
): ContinuationScore[] {
  items.forEach((item, i) => {
    if (item.context.length === 0) throw new RangeError(`scoreContinuations: item ${i} has an empty context; start it with BOS or at least one token`);
    if (item.continuation.length === 0) throw new RangeError(`scoreContinuations: item ${i} has an empty continuation`);
  });
  if (items.length === 0) return [];
  const padId = model.spec.padTokenId ?? model.spec.eosTokenIds[0] ?? 0;
  const padded = padBatch(items.map((it) => [...it.context, ...it.continuation]), padId);
  const vocab = model.spec.vocabSize;
  return withInferenceTape((tape) => {
    const { logits } = model.forward(tape, padded.ids, padded.batch, padded.seq, { ...options, keyStart: padded.keyStart, logits: 'all' });
    const data = logits!.data as Float32Array;
    return items.map((item, b) => {
      const start = padded.keyStart[b] + item.context.length;
      const tokenLogprobs = item.continuation.map((token, j) => {
        const predictingRow = b * padded.seq + start + j - 1;
        return logSoftmaxRow(data.subarray(predictingRow * vocab, (predictingRow + 1) * vocab))[token];
      });
      return { tokenLogprobs, total: tokenLogprobs.reduce((a, x) => a + x, 0) };
    });
  });
}

/** Mean next-token cross-entropy (nats/token) over whole sequences, each cut to the model's context. Options add adapters or hooks. */
export function meanNextTokenLoss(model: CausalLm, sequences: readonly (readonly number[])[], options: Pick<ForwardOptions, 'hooks' | 'linearHook'> = {}): number {
  let total = 0;
  let count = 0;
  for (const sequence of sequences) {
    const ids = sequence.slice(0, model.spec.maxPositions + 1);
    if (ids.length < 2) continue;
    const inputs = Int32Array.from(ids.slice(0, -1));
    const targets = Int32Array.from(ids.slice(1));
    total += withInferenceTape((tape) => crossEntropy(tape, model.forward(tape, inputs, 1, inputs.length, options).logits!, targets, { reduction: 'sum' }).item());
    count += targets.length;
  }
  if (count === 0) throw new RangeError('meanNextTokenLoss: no sequence has two or more tokens');
  return total / count;
}
