// Test material for the Llama runtime and GGUF export: a hand-built GPT-2-style
// byte-level BPE tokenizer, and random-weight Llama checkpoints in Hugging Face
// naming, both small enough to build in milliseconds.

import { Random } from '../../src/tensor/random.js';

/** GPT-2's reversible byte -> printable character map, so that every byte is one visible symbol. */
export function byteToUnicodeSymbols(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const symbols = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) symbols[b] = String.fromCodePoint(printable(b) ? b : next++);
  return symbols;
}

// Common English pieces, in merge order; "Ġ" is the symbol of the space byte and
// "Ċ" of the newline byte. Each merge only uses symbols earlier merges produced.
const MERGES: ReadonlyArray<[string, string]> = [
  ['Ġ', 't'], ['h', 'e'], ['Ġt', 'h'], ['Ġth', 'e'], ['i', 'n'], ['e', 'r'], ['a', 'n'], ['o', 'n'],
  ['r', 'e'], ['Ġ', 'a'], ['Ġ', 's'], ['Ġ', 'w'], ['Ġ', 'o'], ['Ġ', 'i'], ['Ġ', 'c'], ['Ġ', 'b'],
  ['Ġ', 'f'], ['Ġ', 'm'], ['Ġ', 'p'], ['e', 'n'], ['e', 's'], ['o', 'r'], ['a', 't'], ['i', 's'],
  ['i', 't'], ['o', 'u'], ['e', 'd'], ['l', 'l'], ['in', 'g'], ['Ġa', 'n'], ['Ġan', 'd'], ['Ġo', 'f'],
  ['Ġt', 'o'], ['Ġi', 's'], ['Ġi', 'n'], ['Ġ', 'h'], ['Ġh', 'e'], ['Ġw', 'h'], ['Ġ', 'l'], ['Ġ', 'd'],
  ['a', 'r'], ['l', 'e'], ['Ġ', 'Ġ'], ['ĠĠ', 'ĠĠ'], ['Ċ', 'Ċ'], ['Ġwh', 'at'],
];

export const TINY_BOS = '<|bos|>';
export const TINY_EOS = '<|eos|>';

export function tinyByteLevelTokenizer(): { tokenizerJson: object; tokenizerConfig: object } {
  const vocab: Record<string, number> = {};
  byteToUnicodeSymbols().forEach((symbol, id) => { vocab[symbol] = id; });
  for (const [left, right] of MERGES) {
    if (!(left in vocab) || !(right in vocab)) throw new Error(`tinyByteLevelTokenizer: merge "${left} ${right}" uses a symbol no earlier merge made`);
    vocab[left + right] ??= Object.keys(vocab).length;
  }
  const firstAdded = Object.keys(vocab).length;
  const addedToken = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    tokenizerJson: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [addedToken(firstAdded, TINY_BOS), addedToken(firstAdded + 1, TINY_EOS)],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: { ...byteLevel, trim_offsets: false },
      decoder: byteLevel,
      model: {
        type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
        fuse_unk: false, byte_fallback: false, ignore_merges: false,
        vocab,
        merges: MERGES.map(([left, right]) => `${left} ${right}`),
      },
    },
    tokenizerConfig: {
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: TINY_BOS,
      eos_token: TINY_EOS,
      model_max_length: 256,
      clean_up_tokenization_spaces: false,
      chat_template: "{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\\n' }}{% endfor %}",
    },
  };
}

/** Number of ids the tiny tokenizer uses (bytes, merges and the two added tokens). */
export function tinyTokenizerSize(): number {
  const { tokenizerJson } = tinyByteLevelTokenizer() as { tokenizerJson: { model: { vocab: object }; added_tokens: unknown[] } };
  return Object.keys(tokenizerJson.model.vocab).length + tokenizerJson.added_tokens.length;
}

export interface RandomLlamaOptions {
  seed: number;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  tied: boolean;
  ropeScaling?: object;
  ropeTheta?: number;
}

export interface RandomLlamaCheckpoint {
  config: Record<string, unknown>;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

export function randomLlamaCheckpoint(options: RandomLlamaOptions): RandomLlamaCheckpoint {
  const { seed, vocabSize, hidden, layers, heads, kvHeads, intermediate, tied } = options;
  if (hidden % heads !== 0 || heads % kvHeads !== 0) throw new Error(`randomLlamaCheckpoint: hidden ${hidden}, heads ${heads}, kvHeads ${kvHeads} do not divide`);
  const headDim = hidden / heads;
  const random = new Random(seed);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const add = (name: string, shape: number[], std: number, mean = 0): void => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    random.fillNormal(data, std, mean);
    tensors.set(name, { shape, data });
  };
  // Large enough spreads that logits are far from uniform, so comparisons between
  // runtimes can tell a wrong computation from a right one.
  add('model.embed_tokens.weight', [vocabSize, hidden], 0.2);
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    add(`${p}.input_layernorm.weight`, [hidden], 0.1, 1);
    add(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden], 0.15);
    add(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden], 0.15);
    add(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden], 0.1);
    add(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim], 0.1);
    add(`${p}.post_attention_layernorm.weight`, [hidden], 0.1, 1);
    add(`${p}.mlp.gate_proj.weight`, [intermediate, hidden], 0.1);
    add(`${p}.mlp.up_proj.weight`, [intermediate, hidden], 0.1);
    add(`${p}.mlp.down_proj.weight`, [hidden, intermediate], 0.02 * Math.sqrt(intermediate / 4));
  }
  add('model.norm.weight', [hidden], 0.1, 1);
  if (!tied) add('lm_head.weight', [vocabSize, hidden], 0.2);

  const config: Record<string, unknown> = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocabSize,
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    intermediate_size: intermediate,
    hidden_act: 'silu',
    max_position_embeddings: 256,
    rms_norm_eps: 1e-5,
    rope_theta: options.ropeTheta ?? 10000,
    rope_scaling: options.ropeScaling ?? null,
    tie_word_embeddings: tied,
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: 'float32',
  };
  return { config, tensors };
}

/** The checkpoint's tensors as the structural weight source exportLlamaGguf reads. */
export function weightSourceOf(tensors: Map<string, { shape: number[]; data: Float32Array }>) {
  const get = (name: string) => {
    const tensor = tensors.get(name);
    if (tensor === undefined) throw new Error(`weightSourceOf: no tensor "${name}"`);
    return tensor;
  };
  return {
    names: [...tensors.keys()],
    has: (name: string) => tensors.has(name),
    shape: (name: string) => [...get(name).shape],
    read: (name: string) => get(name).data.slice(),
  };
}
