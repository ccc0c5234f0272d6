import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { gpt2ByteSymbols, trainByteLevelBpe } from '../src/io/bpeTrainer.js';
import { TextTokenizer } from '../src/io/tokenizer.js';
import { makeRng } from './support/random-data.js';

const fixtureDir = fileURLToPath(new URL('../../../shared/fixtures/gpt2-random', import.meta.url));
const skipFixture = existsSync(join(fixtureDir, 'tokenizer.json')) ? false : `fixture absent: ${fixtureDir}`;

const COMMON = ['the', 'and', 'of', 'to', 'a', 'in', 'is', 'it', 'you', 'that'];
const NOUNS = ['kitchen', 'light', 'thermostat', 'window', 'function', 'variable', 'compiler', 'garden', 'music', 'reminder'];
const VERBS = ['turn', 'set', 'open', 'refactor', 'compile', 'water', 'play', 'schedule', "don't", "it's"];
const EXTRAS = ['café', 'naïve', '東京', 'Ünïcode', '42', '3.14', '2024', '—', '!', '?'];

// A few KB of sentences in which the common words are far more frequent than the rest.
function generateCorpus(seed: number, sentences: number): string[] {
  const rand = makeRng(seed);
  const pick = (list: string[]) => list[Math.floor(rand() * list.length)];
  const lines: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const words: string[] = [];
    const length = 4 + Math.floor(rand() * 8);
    for (let w = 0; w < length; w++) {
      const r = rand();
      words.push(r < 0.45 ? pick(COMMON) : r < 0.7 ? pick(NOUNS) : r < 0.9 ? pick(VERBS) : pick(EXTRAS));
    }
    lines.push(`${words.join(rand() < 0.1 ? '  ' : ' ')}${rand() < 0.5 ? '.' : ','}${rand() < 0.2 ? '\n\t' : ''}`);
  }
  return lines;
}

interface BpeModelJson { vocab: Record<string, number>; merges: Array<[string, string]> }
const modelOf = (tokenizerJson: object) => (tokenizerJson as { model: BpeModelJson }).model;

const corpus = generateCorpus(7, 400);

test('the vocabulary reaches the requested size exactly, with contiguous ids and all 256 byte symbols', () => {
  const trained = trainByteLevelBpe(corpus, { vocabSize: 400 });
  const { vocab, merges } = modelOf(trained.tokenizerJson);
  const ids = Object.values(vocab).sort((a, b) => a - b);
  assert.equal(ids.length, 400);
  assert.deepEqual(ids, Array.from({ length: 400 }, (_, i) => i));
  const symbols = gpt2ByteSymbols();
  symbols.forEach((symbol, byte) => assert.equal(vocab[symbol], 1 + byte, `byte ${byte} (${symbol})`));
  // Every merge adds one token unless two merges spell the same string.
  assert.ok(merges.length >= 400 - 257);
  for (const [left, right] of merges) {
    assert.ok(left in vocab && right in vocab && left + right in vocab, `merge ${left} ${right}`);
  }
});

test('training stops early, with a smaller vocabulary, when no pair is frequent enough', () => {
  const trained = trainByteLevelBpe(['ab ab ab cd'], { vocabSize: 1000 });
  const { vocab, merges } = modelOf(trained.tokenizerJson);
  // "ab" (3 times) and " ab" (twice) pass minFrequency 2; "cd" (once) does not.
  assert.deepEqual(merges, [['a', 'b'], ['Ġ', 'ab']]);
  assert.equal(Object.keys(vocab).length, 257 + 2);
  assert.deepEqual(trainByteLevelBpe('ab ab ab cd', { vocabSize: 1000 }), trained, 'a lone string is one text, not its characters');
  const withSingles = modelOf(trainByteLevelBpe(['ab ab ab cd'], { vocabSize: 1000, minFrequency: 1 }).tokenizerJson);
  assert.ok(withSingles.merges.some(([l, r]) => l === 'c' && r === 'd'));
});

test('GPT-2 byte alphabet: space is Ġ, newline is Ċ, printable ASCII stands for itself', () => {
  const symbols = gpt2ByteSymbols();
  assert.equal(symbols[0x20], '\u0120');
  assert.equal(symbols[0x0a], '\u010a');
  assert.equal(symbols[0x61], 'a');
  assert.equal(new Set(symbols).size, 256);
});

test('the byte alphabet is the one in the real GPT-2 vocabulary', { skip: skipFixture }, () => {
  const gpt2 = JSON.parse(readFileSync(join(fixtureDir, 'tokenizer.json'), 'utf8')) as { model: BpeModelJson };
  const firstTokens = Object.entries(gpt2.model.vocab).filter(([, id]) => id < 256).map(([token]) => token);
  assert.deepEqual(new Set(firstTokens), new Set(gpt2ByteSymbols()));
});

test('decode(encode(x)) === x for arbitrary Unicode, including scripts never seen in training', () => {
  const trained = trainByteLevelBpe(corpus, { vocabSize: 500 });
  const tokenizer = TextTokenizer.fromJson(trained.tokenizerJson, trained.tokenizerConfig);
  const fixed = [
    'the kitchen light',
    'Привет, мир! مرحبا بالعالم 🙂 👩🏽‍💻 e\u0301 \u0000\u0007 \r\n\ttab   trailing   ',
    "we'll've ''' 'S 'LL",
    '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∮ E⋅da = Q, n → ∞',
  ];
  const rand = makeRng(11);
  const ranges: Array<[number, number]> = [[0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x3ff], [0x4e00, 0x9fff], [0x1f300, 0x1faff], [0x0, 0x1f], [0x300, 0x36f]];
  const randomStrings = Array.from({ length: 40 }, () => {
    let text = '';
    const length = 1 + Math.floor(rand() * 30);
    for (let i = 0; i < length; i++) {
      const [lo, hi] = ranges[Math.floor(rand() * ranges.length)];
      text += String.fromCodePoint(lo + Math.floor(rand() * (hi - lo + 1)));
    }
    return text;
  });
  for (const text of [...fixed, ...randomStrings]) {
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    assert.equal(tokenizer.decode(ids), text, `round trip of ${JSON.stringify(text)}`);
  }
});

test('training is deterministic and does not depend on the order of the texts', () => {
  const first = trainByteLevelBpe(corpus, { vocabSize: 450, chatTemplate: '{{ messages }}' });
  const second = trainByteLevelBpe(corpus, { vocabSize: 450, chatTemplate: '{{ messages }}' });
  const reversed = trainByteLevelBpe([...corpus].reverse(), { vocabSize: 450, chatTemplate: '{{ messages }}' });
  const json = JSON.stringify(first);
  assert.equal(JSON.stringify(second), json);
  assert.equal(JSON.stringify(reversed), json);
});

test('special tokens come first, encode as single ids and are named in tokenizer_config', () => {
  const specialTokens = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|pad|>'];
  const trained = trainByteLevelBpe(
    corpus.map((line) => `<|im_start|>${line}<|im_end|><|endoftext|>`),
    { vocabSize: 420, specialTokens, padToken: '<|pad|>' },
  );
  const tokenizer = TextTokenizer.fromJson(trained.tokenizerJson, trained.tokenizerConfig);
  specialTokens.forEach((token, id) => {
    assert.equal(tokenizer.tokenToId(token), id);
    assert.ok(tokenizer.isSpecial(id));
  });
  assert.equal(tokenizer.vocabSize, 420);
  assert.equal(tokenizer.bosTokenId, 0);
  assert.equal(tokenizer.eosTokenId, 0);
  assert.equal(tokenizer.padTokenId, 3);
  assert.equal(tokenizer.addBosToken, false);
  const ids = tokenizer.encode('<|im_start|>set the light<|im_end|>', { addSpecialTokens: false });
  assert.equal(ids[0], 1);
  assert.equal(ids[ids.length - 1], 2);
  assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), 'set the light');
  // The corpus' special tokens were cut out before counting, so no merge learned their pieces.
  const { merges } = modelOf(trained.tokenizerJson);
  assert.ok(!merges.some(([l, r]) => (l + r).includes('|>')), 'a merge spans a special token\'s characters');
  const config = trained.tokenizerConfig as Record<string, unknown>;
  assert.equal(config.bos_token, '<|endoftext|>');
  assert.equal(config.pad_token, '<|pad|>');
  assert.equal(config.tokenizer_class, 'PreTrainedTokenizerFast');
  assert.deepEqual(Object.keys(config.added_tokens_decoder as object), ['0', '1', '2', '3']);
});

test('frequent words become single tokens', () => {
  const trained = trainByteLevelBpe(corpus, { vocabSize: 420 });
  const tokenizer = TextTokenizer.fromJson(trained.tokenizerJson, trained.tokenizerConfig);
  for (const word of [' the', ' and', ' kitchen', ' thermostat', 'the']) {
    assert.equal(tokenizer.encode(word, { addSpecialTokens: false }).length, 1, `${JSON.stringify(word)} should be one token`);
  }
});

test('the trained files save and load through TextTokenizer.fromDirectory', () => {
  const trained = trainByteLevelBpe(corpus, { vocabSize: 400 });
  const dir = mkdtempSync(join(tmpdir(), 'imprint-bpe-'));
  try {
    TextTokenizer.fromJson(trained.tokenizerJson, trained.tokenizerConfig).save(dir);
    const loaded = TextTokenizer.fromDirectory(dir);
    assert.deepEqual(loaded.tokenizerJson, trained.tokenizerJson);
    assert.deepEqual(loaded.encode(corpus[3]), TextTokenizer.fromJson(trained.tokenizerJson).encode(corpus[3]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad options are rejected with the option named', () => {
  assert.throws(() => trainByteLevelBpe(corpus, { vocabSize: 200 }), /vocabSize 200 must be an integer in \[257,/);
  assert.throws(() => trainByteLevelBpe(corpus, { vocabSize: 300, specialTokens: ['<a>', '<a>'] }), /special token "<a>"/);
  assert.throws(() => trainByteLevelBpe(corpus, { vocabSize: 300, specialTokens: ['a'] }), /byte symbols/);
  assert.throws(() => trainByteLevelBpe(corpus, { vocabSize: 300, eosToken: '</s>' }), /eosToken "<\/s>" is not one of the special tokens/);
});

// The straightforward trainer the incremental one must agree with: recount every pair
// over all words before each merge, same tie rule (count, then left, then right).
function referenceMerges(texts: string[], vocabSize: number, minFrequency: number): Array<[string, string]> {
  const byteSymbols = gpt2ByteSymbols();
  const pattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  const frequency = new Map<string, number>();
  for (const text of texts) for (const [word] of text.matchAll(pattern)) frequency.set(word, (frequency.get(word) ?? 0) + 1);
  const words = [...frequency].map(([word, count]) => ({ symbols: [...new TextEncoder().encode(word)].map((b) => byteSymbols[b]), count }));
  const vocab = new Set(['<|endoftext|>', ...byteSymbols]);
  const merges: Array<[string, string]> = [];
  while (vocab.size < vocabSize) {
    const pairCounts = new Map<string, { left: string; right: string; count: number }>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
        const entry = pairCounts.get(key) ?? { left: symbols[i], right: symbols[i + 1], count: 0 };
        entry.count += count;
        pairCounts.set(key, entry);
      }
    }
    let best: { left: string; right: string; count: number } | null = null;
    for (const entry of pairCounts.values()) {
      if (best === null || entry.count > best.count
        || (entry.count === best.count && (entry.left < best.left || (entry.left === best.left && entry.right < best.right)))) best = entry;
    }
    if (best === null || best.count < minFrequency) break;
    merges.push([best.left, best.right]);
    vocab.add(best.left + best.right);
    for (const word of words) {
      const merged: string[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (i + 1 < word.symbols.length && word.symbols[i] === best.left && word.symbols[i + 1] === best.right) {
          merged.push(best.left + best.right);
          i++;
        } else merged.push(word.symbols[i]);
      }
      word.symbols = merged;
    }
  }
  return merges;
}

test('incremental pair counting learns exactly the merges of a full recount', () => {
  const texts = generateCorpus(3, 120);
  for (const minFrequency of [1, 2]) {
    const expected = referenceMerges(texts, 380, minFrequency);
    const actual = modelOf(trainByteLevelBpe(texts, { vocabSize: 380, minFrequency }).tokenizerJson).merges;
    assert.ok(expected.length > 50);
    assert.deepEqual(actual, expected);
  }
});
