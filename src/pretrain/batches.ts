import { Random } from '../tensor/random.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { type CorpusMix, type DocumentKind, corpusDocument } from '../world/corpus.js';

// Training batches: rows of seq+1 tokens packed from whole documents of the corpus
// stream. The documents of step s come from indices derived from (seed, s) only, so
// the batch of any step can be rebuilt after a crash without replaying the stream.

export interface TokenBatch {
  inputs: Int32Array;   // [batch * seq]
  targets: Int32Array;  // [batch * seq], inputs shifted by one
  tokensByKind: Record<DocumentKind, number>;
}

export function trainingBatch(tokenizer: TextTokenizer, seed: number, step: number, batch: number, seq: number, mix: CorpusMix): TokenBatch {
  const inputs = new Int32Array(batch * seq);
  const targets = new Int32Array(batch * seq);
  const tokensByKind: Record<DocumentKind, number> = { home: 0, coding: 0, general: 0 };
  const rng = new Random(seed * 1000003 + step);
  for (let row = 0; row < batch; row++) {
    const stream: number[] = [];
    // Each row starts at a random document index so rows of a step differ.
    let index = rng.int(2 ** 30);
    while (stream.length < seq + 1) {
      const doc = corpusDocument(seed, index++, mix);
      const ids = tokenizer.encode(doc.text, { addSpecialTokens: false });
      tokensByKind[doc.kind] += Math.min(ids.length, seq + 1 - stream.length);
      for (const id of ids) stream.push(id);
    }
    for (let t = 0; t < seq; t++) {
      inputs[row * seq + t] = stream[t];
      targets[row * seq + t] = stream[t + 1];
    }
  }
  return { inputs, targets, tokensByKind };
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
