// Trains a GPT-2 style byte-level BPE tokenizer and returns it as the tokenizer.json
// and tokenizer_config.json pair that Hugging Face tools load.
//
// Vocabulary layout (ids in this order):
//   1. the special tokens, in the order given, so their ids do not depend on the
//      vocabulary size (with the default, <|endoftext|> is id 0);
//   2. the 256 byte symbols, in byte order, so every string can be encoded;
//   3. one token per merge, in the order the merges were learned.
// Training stops at vocabSize, or earlier when no pair of adjacent symbols occurs
// at least minFrequency times (then the vocabulary is smaller than asked).
//
// Each step merges the most frequent adjacent pair, counted over the unique
// pre-tokens weighted by how often they occur. Ties go to the pair whose left
// symbol, then right symbol, sorts first (UTF-16 code unit order), so the same input
// always gives byte-identical JSON. Pair counts are updated incrementally: a merge
// only revisits the words that contain the merged pair.

export interface TrainedTokenizer { tokenizerJson: object; tokenizerConfig: object }

export interface ByteLevelBpeOptions {
  /** Final vocabulary size, special tokens included. */
  vocabSize: number;
  /** Defaults to ['<|endoftext|>']; pass [] for none. */
  specialTokens?: string[];
  /** A pair seen fewer times than this is never merged. Default 2: a merge seen once memorises a string rather than learning a pattern. */
  minFrequency?: number;
  chatTemplate?: string;
  /** Special tokens to name in tokenizer_config; bos and eos default to the first special token (GPT-2's convention). */
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  /** Written as model_max_length; default 1024 (GPT-2's context). */
  modelMaxLength?: number;
}

// GPT-2's pre-tokenizer: contractions, letter runs, digit runs and punctuation runs,
// each with at most one leading space, then whitespace runs.
const GPT2_PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

// Pair keys pack two symbol ids into one number; ids must stay below this.
const PAIR_KEY_BASE = 2 ** 21;

export function trainByteLevelBpe(texts: Iterable<string>, options: ByteLevelBpeOptions): TrainedTokenizer {
  const specialTokens = options.specialTokens ?? ['<|endoftext|>'];
  const minFrequency = options.minFrequency ?? 2;
  validateOptions(options, specialTokens, minFrequency);

  const byteSymbols = gpt2ByteSymbols();
  const symbols: string[] = [...specialTokens, ...byteSymbols];
  const symbolIds = new Map<string, number>(symbols.map((symbol, id) => [symbol, id]));
  const byteBase = specialTokens.length;

  // A lone string is itself an Iterable<string> (of characters); train on it whole.
  const corpus = typeof texts === 'string' ? [texts] : texts;
  const { words, counts } = countPreTokens(corpus, specialTokens, byteBase);
  const pairs = new PairStatistics(words, counts);
  const queue = new PairQueue(symbols);
  for (const [key, count] of pairs.counts) queue.push(count, key);

  const specialSet = new Set(specialTokens);
  const merges: Array<[string, string]> = [];
  while (symbolIds.size < options.vocabSize) {
    const best = popBestPair(queue, pairs);
    if (best === null || best.count < minFrequency) break;
    const left = Math.floor(best.key / PAIR_KEY_BASE);
    const right = best.key % PAIR_KEY_BASE;
    const mergedText = symbols[left] + symbols[right];
    // A merge may not spell a special token: the encoder splits those out before
    // BPE runs, and one string cannot have two ids. The pair leaves the queue.
    if (specialSet.has(mergedText)) continue;
    // Two different merges can spell the same string ("ab"+"c", "a"+"bc"); as in
    // Hugging Face's trainer, we keep one token for it and record both merges.
    let merged = symbolIds.get(mergedText);
    if (merged === undefined) {
      merged = symbols.length;
      symbols.push(mergedText);
      symbolIds.set(mergedText, merged);
    }
    merges.push([symbols[left], symbols[right]]);
    for (const [key, count] of pairs.merge(left, right, merged)) queue.push(count, key);
  }

  return {
    tokenizerJson: buildTokenizerJson(symbols, specialTokens, merges),
    tokenizerConfig: buildTokenizerConfig(specialTokens, options),
  };
}

function validateOptions(options: ByteLevelBpeOptions, specialTokens: string[], minFrequency: number): void {
  const smallest = specialTokens.length + 256;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < smallest || options.vocabSize >= PAIR_KEY_BASE) {
    throw new RangeError(`trainByteLevelBpe: vocabSize ${options.vocabSize} must be an integer in [${smallest}, ${PAIR_KEY_BASE}) (256 byte symbols + ${specialTokens.length} special tokens at least)`);
  }
  if (!Number.isFinite(minFrequency) || minFrequency < 1) {
    throw new RangeError(`trainByteLevelBpe: minFrequency ${minFrequency} must be a number >= 1`);
  }
  const seen = new Set<string>();
  const byteSymbols = new Set(gpt2ByteSymbols());
  for (const token of specialTokens) {
    if (token.length === 0 || seen.has(token) || byteSymbols.has(token)) {
      throw new RangeError(`trainByteLevelBpe: special token ${JSON.stringify(token)} is empty, repeated or one of the 256 byte symbols`);
    }
    seen.add(token);
  }
  for (const [field, token] of [['bosToken', options.bosToken], ['eosToken', options.eosToken], ['padToken', options.padToken]] as const) {
    if (token !== undefined && !seen.has(token)) {
      throw new RangeError(`trainByteLevelBpe: ${field} ${JSON.stringify(token)} is not one of the special tokens [${specialTokens.join(', ')}]`);
    }
  }
}

/**
 * GPT-2's reversible map from bytes to printable characters: printable Latin-1
 * bytes stand for themselves, the rest (control bytes, space, ...) are moved to
 * U+0100 onwards in byte order. That is why a leading space shows up as "Ġ".
 */
export function gpt2ByteSymbols(): string[] {
  const symbols: string[] = new Array(256);
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    symbols[byte] = String.fromCodePoint(printable ? byte : 256 + shifted++);
  }
  return symbols;
}

// Special tokens in the corpus (documents joined by <|endoftext|>) are cut out first:
// the encoder never hands them to BPE, so their characters should not shape merges.
function countPreTokens(texts: Iterable<string>, specialTokens: string[], byteBase: number): { words: Int32Array[]; counts: number[] } {
  const specialPattern = specialTokens.length === 0 ? null : new RegExp([...specialTokens].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'u');
  const frequency = new Map<string, number>();
  for (const text of texts) {
    for (const piece of specialPattern === null ? [text] : text.split(specialPattern)) {
      for (const match of piece.matchAll(GPT2_PRETOKENIZE)) {
        frequency.set(match[0], (frequency.get(match[0]) ?? 0) + 1);
      }
    }
  }
  const encoder = new TextEncoder();
  const words: Int32Array[] = [];
  const counts: number[] = [];
  for (const [word, count] of frequency) {
    const bytes = encoder.encode(word);
    const ids = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = byteBase + bytes[i];
    words.push(ids);
    counts.push(count);
  }
  return { words, counts };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// How often each adjacent symbol pair occurs, and in which words, kept current as
// merges rewrite the words.
class PairStatistics {
  readonly counts = new Map<number, number>();
  // Words that contained the pair at some point; may list words that no longer do.
  private readonly wordsWithPair = new Map<number, number[]>();

  constructor(private readonly words: Int32Array[], private readonly wordCounts: number[]) {
    for (let w = 0; w < words.length; w++) {
      const word = words[w];
      for (let i = 0; i + 1 < word.length; i++) this.add(pairKey(word[i], word[i + 1]), wordCounts[w], w);
    }
  }

  /** Rewrites every (left, right) as merged; returns the pairs whose count may have grown, with their counts. */
  merge(left: number, right: number, merged: number): Map<number, number> {
    const grown = new Map<number, number>();
    const candidates = this.wordsWithPair.get(pairKey(left, right)) ?? [];
    this.wordsWithPair.delete(pairKey(left, right));
    for (const w of candidates) {
      const word = this.words[w];
      if (!containsPair(word, left, right)) continue;
      const count = this.wordCounts[w];
      for (let i = 0; i + 1 < word.length; i++) this.add(pairKey(word[i], word[i + 1]), -count, -1);
      const rewritten = mergeWord(word, left, right, merged);
      this.words[w] = rewritten;
      for (let i = 0; i + 1 < rewritten.length; i++) {
        const key = pairKey(rewritten[i], rewritten[i + 1]);
        // Only pairs with the new symbol can be new to this word; the others were
        // subtracted and added back above and are unchanged.
        const isNew = rewritten[i] === merged || rewritten[i + 1] === merged;
        this.add(key, count, isNew ? w : -1);
        if (isNew) grown.set(key, 0);
      }
    }
    for (const key of grown.keys()) grown.set(key, this.counts.get(key) ?? 0);
    return grown;
  }

  private add(key: number, delta: number, word: number): void {
    const count = (this.counts.get(key) ?? 0) + delta;
    if (count === 0) this.counts.delete(key);
    else this.counts.set(key, count);
    if (word >= 0) {
      const list = this.wordsWithPair.get(key);
      if (list === undefined) this.wordsWithPair.set(key, [word]);
      else if (list[list.length - 1] !== word) list.push(word);
    }
  }
}

function pairKey(left: number, right: number): number {
  return left * PAIR_KEY_BASE + right;
}

function containsPair(word: Int32Array, left: number, right: number): boolean {
  for (let i = 0; i + 1 < word.length; i++) if (word[i] === left && word[i + 1] === right) return true;
  return false;
}

// Left to right, as the BPE encoder applies a merge: "aaa" with (a, a) becomes "Xa".
function mergeWord(word: Int32Array, left: number, right: number, merged: number): Int32Array {
  const out = new Int32Array(word.length);
  let n = 0;
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
      out[n++] = merged;
      i++;
    } else {
      out[n++] = word[i];
    }
  }
  return out.slice(0, n);
}

// The queue may hold stale counts (a pair's count only falls after it was queued,
// except for pairs with a new symbol, which are queued again). A popped entry whose
// count is out of date goes back with its current count.
function popBestPair(queue: PairQueue, pairs: PairStatistics): { key: number; count: number } | null {
  for (;;) {
    const top = queue.pop();
    if (top === null) return null;
    const current = pairs.counts.get(top.key) ?? 0;
    if (current === top.count) return top;
    if (current > 0 && current < top.count) queue.push(current, top.key);
  }
}

// A binary max-heap on (count, then left symbol, then right symbol ascending).
class PairQueue {
  private readonly countsHeap: number[] = [];
  private readonly keysHeap: number[] = [];

  constructor(private readonly symbols: readonly string[]) {}

  push(count: number, key: number): void {
    this.countsHeap.push(count);
    this.keysHeap.push(key);
    let i = this.countsHeap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { key: number; count: number } | null {
    const size = this.countsHeap.length;
    if (size === 0) return null;
    const top = { key: this.keysHeap[0], count: this.countsHeap[0] };
    this.swap(0, size - 1);
    this.countsHeap.pop();
    this.keysHeap.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < this.countsHeap.length && this.before(l, best)) best = l;
      if (r < this.countsHeap.length && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }

  private before(a: number, b: number): boolean {
    if (this.countsHeap[a] !== this.countsHeap[b]) return this.countsHeap[a] > this.countsHeap[b];
    const keyA = this.keysHeap[a];
    const keyB = this.keysHeap[b];
    const order = compareStrings(this.symbols[Math.floor(keyA / PAIR_KEY_BASE)], this.symbols[Math.floor(keyB / PAIR_KEY_BASE)]);
    if (order !== 0) return order < 0;
    return compareStrings(this.symbols[keyA % PAIR_KEY_BASE], this.symbols[keyB % PAIR_KEY_BASE]) < 0;
  }

  private swap(a: number, b: number): void {
    [this.countsHeap[a], this.countsHeap[b]] = [this.countsHeap[b], this.countsHeap[a]];
    [this.keysHeap[a], this.keysHeap[b]] = [this.keysHeap[b], this.keysHeap[a]];
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function buildTokenizerJson(symbols: string[], specialTokens: string[], merges: Array<[string, string]>): object {
  const vocab: Record<string, number> = {};
  symbols.forEach((symbol, id) => { vocab[symbol] = id; });
  // The same settings GPT-2's tokenizer.json uses, so tools treat ours like it.
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

function buildTokenizerConfig(specialTokens: string[], options: ByteLevelBpeOptions): object {
  const bos = options.bosToken ?? specialTokens[0] ?? null;
  const eos = options.eosToken ?? specialTokens[0] ?? null;
  const addedTokensDecoder: Record<string, object> = {};
  specialTokens.forEach((content, id) => {
    addedTokensDecoder[String(id)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  });
  return {
    add_prefix_space: false,
    added_tokens_decoder: addedTokensDecoder,
    bos_token: bos,
    eos_token: eos,
    ...(options.padToken !== undefined ? { pad_token: options.padToken } : {}),
    // Lossless decoding: transformers would otherwise rewrite " ." as "." on decode.
    clean_up_tokenization_spaces: false,
    model_max_length: options.modelMaxLength ?? 1024,
    tokenizer_class: 'PreTrainedTokenizerFast',
    ...(options.chatTemplate !== undefined ? { chat_template: options.chatTemplate } : {}),
  };
}
