import type { RawConfig } from '../model/architectures/configFields.js';
import { parseModelConfig } from '../model/architectures/index.js';
import { CausalLm } from '../model/causalLm.js';

// The model `imprint perf` times when no --model is given (until the project ships
// its own): a random-weight Llama with d_model 256, 4 layers and vocab 4096, plus a
// synthetic byte-level BPE tokenizer so that the same weights can be exported to
// GGUF and timed in llama.cpp. Token ids, not text, drive the benchmark, so the
// tokenizer only has to be valid.

export const benchLlamaConfig: RawConfig = {
  model_type: 'llama',
  architectures: ['LlamaForCausalLM'],
  vocab_size: 4096,
  hidden_size: 256,
  intermediate_size: 688,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 4,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  hidden_act: 'silu',
  tie_word_embeddings: false,
  bos_token_id: 0,
  eos_token_id: 1,
};

export function randomBenchModel(seed = 1): CausalLm {
  return CausalLm.random(parseModelConfig(benchLlamaConfig, 'perf model config'), seed);
}

/** GPT-2's byte -> printable-character map, which byte-level BPE vocabularies are written in. */
function byteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  return map;
}

/** Special tokens first (ids 0, 1), then the 256 byte symbols, then two-letter merges up to vocabSize. */
export function syntheticTokenizer(vocabSize: number): { tokenizerJson: object; tokenizerConfig: object } {
  const specials = ['<|bos|>', '<|eos|>'];
  const vocab: Record<string, number> = {};
  specials.forEach((s, i) => { vocab[s] = i; });
  for (const symbol of byteToUnicode()) vocab[symbol] = Object.keys(vocab).length;
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('');
  const merges: [string, string][] = [];
  outer: for (const a of letters) {
    for (const b of letters) {
      if (Object.keys(vocab).length >= vocabSize) break outer;
      vocab[a + b] = Object.keys(vocab).length;
      merges.push([a, b]);
    }
  }
  if (Object.keys(vocab).length !== vocabSize) throw new RangeError(`syntheticTokenizer: can build at most ${Object.keys(vocab).length} tokens, asked for ${vocabSize}`);
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
  const tokenizerConfig = { bos_token: '<|bos|>', eos_token: '<|eos|>', add_bos_token: false, model_max_length: 2048, tokenizer_class: 'PreTrainedTokenizerFast' };
  return { tokenizerJson, tokenizerConfig };
}
