import { Random } from '../tensor/random.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { specialTokens } from '../world/chatFormat.js';
import { type CorpusMix, type DocumentKind, corpusDocument } from '../world/corpus.js';

// Training batches: rows of seq+1 tokens packed from whole documents of the corpus
// stream. The documents of step s come from indices derived from (seed, s) only, so
// the batch of any step can be rebuilt after a crash without replaying the stream.

export interface TokenBatch {
  inputs: Int32Array;   // [batch * seq]
  targets: Int32Array;  // [batch * seq], inputs shifted by one
  /** Per-target loss weights; absent when every target counts (lossOn 'all'). */
  weights?: Float32Array;
  tokensByKind: Record<DocumentKind, number>;
}

/**
 * Which targets a step trains on: 'all' tokens (pretraining), or 'replies': in
 * dialogues only the assistant's turns (each reply's tokens and the <|end|> that
 * closes it), as in chat fine-tuning, while general text keeps every token. The
 * request code of a coding dialogue is most of its tokens and cannot be predicted
 * from anything; masking it puts the step's signal on how the replies follow
 * their context.
 */
export type LossTargets = 'all' | 'replies';

/** 1 for each token of `ids` that is part of an assistant reply (after <|assistant|>, up to and including <|end|>), else 0. */
export function replyMask(ids: readonly number[], assistantId: number, endId: number): Uint8Array {
  const mask = new Uint8Array(ids.length);
  let inside = false;
  for (let i = 0; i < ids.length; i++) {
    if (inside) mask[i] = 1;
    if (ids[i] === assistantId) inside = true;
    else if (ids[i] === endId) inside = false;
  }
  return mask;
}

export function trainingBatch(tokenizer: TextTokenizer, seed: number, step: number, batch: number, seq: number, mix: CorpusMix, lossOn: LossTargets = 'all'): TokenBatch {
  const inputs = new Int32Array(batch * seq);
  const targets = new Int32Array(batch * seq);
  const weights = lossOn === 'replies' ? new Float32Array(batch * seq) : undefined;
  const assistantId = tokenizer.tokenToId(specialTokens.assistant);
  const endId = tokenizer.tokenToId(specialTokens.end);
  if (weights !== undefined && (assistantId === undefined || endId === undefined)) {
    throw new RangeError(`trainingBatch: lossOn 'replies' needs the tokenizer to know ${specialTokens.assistant} and ${specialTokens.end}`);
  }
  const tokensByKind: Record<DocumentKind, number> = { home: 0, coding: 0, general: 0 };
  const rng = new Random(seed * 1000003 + step);
  for (let row = 0; row < batch; row++) {
    const stream: number[] = [];
    const counted: number[] = [];
    // Each row starts at a random document index so rows of a step differ.
    let index = rng.int(2 ** 30);
    while (stream.length < seq + 1) {
      const doc = corpusDocument(seed, index++, mix);
      const ids = tokenizer.encode(doc.text, { addSpecialTokens: false });
      tokensByKind[doc.kind] += Math.min(ids.length, seq + 1 - stream.length);
      const mask = weights === undefined || doc.kind === 'general' ? null : replyMask(ids, assistantId!, endId!);
      for (let i = 0; i < ids.length; i++) {
        stream.push(ids[i]);
        counted.push(mask === null ? 1 : mask[i]);
      }
    }
    for (let t = 0; t < seq; t++) {
      inputs[row * seq + t] = stream[t];
      targets[row * seq + t] = stream[t + 1];
      if (weights !== undefined) weights[row * seq + t] = counted[t + 1];
    }
  }
  return weights === undefined ? { inputs, targets, tokensByKind } : { inputs, targets, weights, tokensByKind };
}

/** Fixed held-out token sequences (one per document, cut to seq+1) for evaluation. */
export function heldOutSequences(tokenizer: TextTokenizer, seed: number, count: number, seq: number, kind: DocumentKind, mix: CorpusMix): number[][] {
  const out: number[][] = [];
  const only: CorpusMix = { ...mix, home: kind === 'home' ? 1 : 0, coding: kind === 'coding' ? 1 : 0, general: kind === 'general' ? 1 : 0 };
  for (let i = 0; out.length < count; i++) {
    const doc = corpusDocument(seed + 7919, i, only, 'heldOut');
    const ids = tokenizer.encode(doc.text, { addSpecialTokens: false }).slice(0, seq + 1);
    if (ids.length >= 8) out.push(ids);
  }
  return out;
}
