import type { TextTokenizer } from '../../io/tokenizer.js';
import type { CausalLm } from '../../model/causalLm.js';

// What a direction says, read through the unembedding: adding the direction to
// the final residual stream raises the logit of token v by about
//   head[v] · (g ⊙ direction)
// where g is the final norm's effective weight (weight + the spec's weightOffset,
// 1 + w for Gemma). We go through the norm's weight by default because it rescales
// every coordinate, often by large factors, before the head sees it; the norm's
// 1/rms factor is left out (a positive scalar, it changes no ranking), and for a
// LayerNorm the direction is centred first, since LayerNorm removes the mean.
// Biases and the final logit soft-cap do not depend on the direction, or keep
// its order, so they are ignored. throughFinalNorm: false scores head[v] · direction.

export interface TokenScore {
  id: number;
  /** The token decoded to text. */
  token: string;
  /** The token as the vocabulary spells it (e.g. "Ġthe"). */
  piece: string | null;
  score: number;
}

export interface PromotedTokens {
  /** Highest scores first. */
  promoted: TokenScore[];
  /** Lowest (most negative) scores first. */
  suppressed: TokenScore[];
}

export interface LogitLensOptions {
  throughFinalNorm?: boolean;
}

/** The direction as the head sees it after the final norm (see above). */
export function directionAfterFinalNorm(model: CausalLm, direction: Float32Array): Float32Array {
  const { kind, weightOffset } = model.spec.norm;
  let v = Float32Array.from(direction);
  if (kind === 'layer') {
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    v = v.map((x) => x - mean);
  }
  const weight = model.finalNorm.weight.isContiguous ? model.finalNorm.weight.data : Float32Array.from(model.finalNorm.weight.toArray());
  return v.map((x, i) => x * (weight[i] + weightOffset));
}

export function promotedTokens(model: CausalLm, tokenizer: TextTokenizer, direction: Float32Array, topN: number, options: LogitLensOptions = {}): PromotedTokens {
  const d = model.spec.hiddenSize;
  if (direction.length !== d) throw new RangeError(`promotedTokens: direction has ${direction.length} entries, the model's hidden size is ${d}`);
  if (!Number.isSafeInteger(topN) || topN < 1) throw new RangeError(`promotedTokens: topN must be a positive integer, got ${topN}`);
  const effective = options.throughFinalNorm === false ? direction : directionAfterFinalNorm(model, direction);
  const head = model.head.isContiguous ? model.head.data : Float32Array.from(model.head.toArray());
  const vocab = model.head.shape[0];
  const scored: Array<{ id: number; score: number }> = [];
  for (let id = 0; id < vocab; id++) {
    // Rows past the tokenizer's vocabulary (padding to a round size) name no token.
    if (tokenizer.idToToken(id) === null) continue;
    let score = 0;
    for (let i = 0; i < d; i++) score += head[id * d + i] * effective[i];
    scored.push({ id, score });
  }
  scored.sort((a, b) => b.score - a.score || a.id - b.id);
  const describe = ({ id, score }: { id: number; score: number }): TokenScore => ({ id, token: tokenizer.decode([id]), piece: tokenizer.idToToken(id), score });
  return {
    promoted: scored.slice(0, topN).map(describe),
    suppressed: scored.slice(-topN).reverse().map(describe),
  };
}
