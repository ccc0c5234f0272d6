// Okapi BM25 over short texts (memory notes), written out rather than taken from
// a package (the environment has okapibm25 and wink-bm25-text-search): the
// benchmark compares adapters against this baseline, so its scores must be
// deterministic, dependency-free and easy to check by hand.
//
//   score(D, Q) = Σ_{q ∈ distinct terms of Q} idf(q) · f(q, D) · (k1 + 1) / (f(q, D) + k1 · (1 − b + b · |D| / avgdl))
//   idf(q)      = ln(1 + (N − n(q) + 0.5) / (n(q) + 0.5))
//
// f(q, D): how often q occurs in D; |D|: D's length in tokens; avgdl: the mean
// length over the corpus; N: documents; n(q): documents holding q. This idf (the
// Lucene one) is always positive, so a document scores 0 exactly when it shares
// no term with the query.
//
// A query term counts once however often the query repeats it: the query is a
// whole user request, and a word said twice in it ("the meeting ... the
// meeting") is not twice as much evidence about which note is relevant.

export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

export interface Bm25Params {
  /** Term-frequency saturation (default 1.2). */
  k1?: number;
  /** Length normalisation, 0 (none) to 1 (full) (default 0.75). */
  b?: number;
}

/**
 * Lucene's classic English stop set (33 words): short and well known, so a
 * reader can predict what is dropped. Words a note is about ("prefer",
 * "brief", names) are never in it.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it',
  'no', 'not', 'of', 'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they',
  'this', 'to', 'was', 'will', 'with',
]);

/**
 * Lowercases, splits on anything that is not a letter or a digit (in any
 * script), and drops stop words. No stemming: "meeting" and "meetings" are
 * different terms. A stemmer would help recall a little, but every stemmer
 * makes its own choices, and a baseline whose matches one can read off the
 * note text is worth more here than a few extra matches.
 */
export function tokenize(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t !== '' && !STOP_WORDS.has(t));
}

function checkParams(params: Bm25Params): { k1: number; b: number } {
  const k1 = params.k1 ?? BM25_K1;
  const b = params.b ?? BM25_B;
  if (!(Number.isFinite(k1) && k1 >= 0)) throw new RangeError(`bm25: k1 must be a finite number >= 0, got ${k1}`);
  if (!(b >= 0 && b <= 1)) throw new RangeError(`bm25: b must be in [0, 1], got ${b}`);
  return { k1, b };
}

/** A BM25 index over a fixed list of tokenised documents; scores come back in document order. */
export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  /** Mean document length in tokens (0 for an empty corpus or one of empty documents). */
  readonly averageLength: number;
  private readonly termCounts: Map<string, number>[];
  private readonly lengths: number[];
  private readonly documentFrequency = new Map<string, number>();

  constructor(documents: readonly (readonly string[])[], params: Bm25Params = {}) {
    ({ k1: this.k1, b: this.b } = checkParams(params));
    this.lengths = documents.map((d) => d.length);
    this.termCounts = documents.map((tokens) => {
      const counts = new Map<string, number>();
      for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
      for (const t of counts.keys()) this.documentFrequency.set(t, (this.documentFrequency.get(t) ?? 0) + 1);
      return counts;
    });
    const total = this.lengths.reduce((s, n) => s + n, 0);
    this.averageLength = documents.length === 0 ? 0 : total / documents.length;
  }

  /** An index over texts, tokenised with `tokenize`. */
  static fromTexts(texts: readonly string[], params: Bm25Params = {}): Bm25Index {
    return new Bm25Index(texts.map(tokenize), params);
  }

  get size(): number {
    return this.lengths.length;
  }

  /** Documents holding `term`. */
  documentsWith(term: string): number {
    return this.documentFrequency.get(term) ?? 0;
  }

  idf(term: string): number {
    const n = this.documentsWith(term);
    return Math.log(1 + (this.size - n + 0.5) / (n + 0.5));
  }

  /** One score per document, for a query given as tokens (repeats count once). */
  scoreTokens(queryTokens: readonly string[]): number[] {
    const scores = new Array<number>(this.size).fill(0);
    // Every document is empty: no term can match (and avgdl would divide by 0).
    if (this.averageLength === 0) return scores;
    for (const term of new Set(queryTokens)) {
      if (this.documentsWith(term) === 0) continue;
      const idf = this.idf(term);
      for (let d = 0; d < this.size; d++) {
        const f = this.termCounts[d].get(term) ?? 0;
        if (f === 0) continue;
        const norm = this.k1 * (1 - this.b + (this.b * this.lengths[d]) / this.averageLength);
        scores[d] += (idf * f * (this.k1 + 1)) / (f + norm);
      }
    }
    return scores;
  }

  /** One score per document, for a query given as text. */
  scores(query: string): number[] {
    return this.scoreTokens(tokenize(query));
  }
}
