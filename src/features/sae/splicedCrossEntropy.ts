import { padBatch } from '../../model/batch.js';
import type { CausalLm } from '../../model/causalLm.js';
import { ResidualHooks, type ResidualHook } from '../../model/hooks.js';
import { Tape, reshape } from '../../tensor/index.js';
import { residualHookPoint } from './config.js';
import type { SparseAutoencoder } from './sparseAutoencoder.js';

// Spliced cross-entropy: how much of the model's next-token loss survives when
// the residual stream at the SAE's hook is replaced by the SAE's reconstruction.
//   recovered = (zeroAblation - spliced) / (zeroAblation - clean)
// is 1 for a perfect reconstruction and 0 for one no better than zeros.

export interface SplicedCrossEntropy {
  /** Mean next-token cross-entropy (nats per predicted token) without intervention. */
  clean: number;
  /** With the stream replaced by the SAE's reconstruction. */
  spliced: number;
  /** With the stream replaced by zeros. */
  zeroAblation: number;
  recovered: number;
  /** Predicted tokens the means are over. */
  tokens: number;
}

export interface SplicedCrossEntropyOptions {
  /** Sequences per forward pass (default 8). */
  batchSize?: number;
}

/** A residual hook that replaces the stream with the SAE's reconstruction (differentiable on a training tape). */
export function saeSpliceHook(sae: SparseAutoencoder): ResidualHook {
  return (hidden, context) => {
    const width = hidden.shape[hidden.shape.length - 1];
    if (width !== sae.dIn) throw new RangeError(`SAE splice at ${context.point}: the stream is ${width} wide but the SAE reads ${sae.dIn}`);
    const rows = reshape(context.tape, hidden, [hidden.size / width, width]);
    return reshape(context.tape, sae.forwardTape(context.tape, rows).reconstruction, hidden.shape);
  };
}

/** A residual hook that replaces the stream with zeros. */
export function zeroAblationHook(): ResidualHook {
  return (hidden, context) => {
    const zeros = context.tape.allocate(hidden.shape);
    zeros.data.fill(0);
    return zeros;
  };
}

export function splicedCrossEntropy(model: CausalLm, sae: SparseAutoencoder, sequences: readonly (readonly number[])[], options: SplicedCrossEntropyOptions = {}): SplicedCrossEntropy {
  const point = residualHookPoint(sae.config.hookName);
  if (model.spec.hiddenSize !== sae.dIn) throw new RangeError(`splicedCrossEntropy: the model's hidden size is ${model.spec.hiddenSize} but the SAE reads ${sae.dIn}`);
  const batchSize = options.batchSize ?? 8;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`splicedCrossEntropy: batchSize must be a positive integer, got ${batchSize}`);
  const usable = sequences.filter((s) => s.length >= 2);
  if (usable.length === 0) throw new RangeError('splicedCrossEntropy: needs at least one sequence of two or more tokens (one prediction)');
  const run = (hook: ResidualHook | null) => {
    const hooks = new ResidualHooks(model.spec.layers);
    if (hook !== null) hooks.on(point, hook);
    return meanNextTokenLoss(model, usable, hooks, batchSize);
  };
  const clean = run(null);
  const spliced = run(saeSpliceHook(sae));
  const zeroAblation = run(zeroAblationHook());
  const gap = zeroAblation.loss - clean.loss;
  return {
    clean: clean.loss,
    spliced: spliced.loss,
    zeroAblation: zeroAblation.loss,
    // + 0 turns a -0 (zero SAE, negative gap) into 0.
    recovered: gap !== 0 ? (zeroAblation.loss - spliced.loss) / gap + 0 : Number.NaN,
    tokens: clean.tokens,
  };
}

/** Token-weighted mean of -log p(next token) over every position that has a next token. */
function meanNextTokenLoss(model: CausalLm, sequences: readonly (readonly number[])[], hooks: ResidualHooks, batchSize: number): { loss: number; tokens: number } {
  const vocab = model.spec.vocabSize;
  let total = 0;
  let tokens = 0;
  for (let start = 0; start < sequences.length; start += batchSize) {
    const { ids, batch, seq, keyStart } = padBatch(sequences.slice(start, start + batchSize), 0);
    const tape = new Tape({ grad: false });
    try {
      const logits = model.forward(tape, ids, batch, seq, { hooks, keyStart, logits: 'all' }).logits!.data;
      for (let b = 0; b < batch; b++) {
        for (let t = keyStart[b]; t < seq - 1; t++) {
          const row = (b * seq + t) * vocab;
          let max = -Infinity;
          for (let v = 0; v < vocab; v++) max = Math.max(max, logits[row + v]);
          let sumExp = 0;
          for (let v = 0; v < vocab; v++) sumExp += Math.exp(logits[row + v] - max);
          total += max + Math.log(sumExp) - logits[row + ids[b * seq + t + 1]];
          tokens++;
        }
      }
    } finally {
      tape.release();
    }
  }
  return { loss: total / tokens, tokens };
}
