// Exports a Hugging Face Llama checkpoint to a GGUF file that llama.cpp's LLAMA
// architecture loads. Three things differ from the Hugging Face layout besides
// the tensor names:
// - llama.cpp rotates adjacent pairs (2j, 2j+1) of each head, Hugging Face rotates
//   (j, j + headDim/2) ("rotate_half"); the q and k rows are permuted per head so
//   that the same pairs meet.
// - GGUF lists dims innermost first; the writer reverses our row-major shapes.
// - Llama-3 rope scaling is not a formula in llama.cpp but a tensor of per-frequency
//   divisors (rope_freqs.weight), computed here as Hugging Face computes them.

import { GgufFileType, type GgufMetadataValue } from './format.js';
import { tokenizerToGgufMetadata } from './tokenizerMetadata.js';
import { writeGguf, type GgufTensorToWrite } from './writer.js';

/** Structural: a checkpoint's TensorSource satisfies it. */
export interface GgufWeightSource {
  readonly names: readonly string[];
  has(name: string): boolean;
  shape(name: string): number[];
  read(name: string): Float32Array;
}

export interface LlamaGgufInput {
  /** The parsed config.json. */
  config: any;
  weights: GgufWeightSource;
  tokenizerJson: any;
  tokenizerConfig: any;
  /** general.name; defaults to config._name_or_path, then "llama". */
  name?: string;
}

export interface LlamaGgufOptions {
  type: 'F32' | 'F16';
}

interface LlamaShape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  contextLength: number;
  rmsEps: number;
  ropeTheta: number;
  tied: boolean;
}

export function exportLlamaGguf(path: string, input: LlamaGgufInput, options: LlamaGgufOptions): void {
  const { config, weights } = input;
  if (options.type !== 'F32' && options.type !== 'F16') throw new Error(`exportLlamaGguf: type must be F32 or F16, got ${String(options.type)}`);
  const shape = llamaShape(config);
  const ropeFreqs = llama3RopeDivisors(config, shape);
  const plan = tensorPlan(shape);
  checkWeights(weights, plan, shape.tied);

  const tensors: GgufTensorToWrite[] = plan.map((entry) => {
    let data = weights.read(entry.source);
    if (entry.permuteHeads !== undefined) data = permuteRowsForInterleavedRope(data, entry.shape[0], entry.shape[1], entry.permuteHeads);
    // Norm weights stay F32 in F16 files, as llama.cpp's converter does: they are
    // tiny and their precision matters more than their size.
    return { name: entry.target, shape: entry.shape, data, type: entry.shape.length === 1 ? 'F32' : options.type };
  });
  if (ropeFreqs !== null) tensors.push({ name: 'rope_freqs.weight', shape: [ropeFreqs.length], data: ropeFreqs, type: 'F32' });

  const metadata: Array<[string, GgufMetadataValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: input.name ?? (typeof config._name_or_path === 'string' && config._name_or_path !== '' ? config._name_or_path : 'llama') }],
    ['general.file_type', { type: 'uint32', value: options.type === 'F32' ? GgufFileType.ALL_F32 : GgufFileType.MOSTLY_F16 }],
    ['llama.vocab_size', { type: 'uint32', value: shape.vocab }],
    ['llama.context_length', { type: 'uint32', value: shape.contextLength }],
    ['llama.embedding_length', { type: 'uint32', value: shape.hidden }],
    ['llama.block_count', { type: 'uint32', value: shape.layers }],
    ['llama.feed_forward_length', { type: 'uint32', value: shape.intermediate }],
    ['llama.rope.dimension_count', { type: 'uint32', value: shape.headDim }],
    ['llama.rope.freq_base', { type: 'float32', value: shape.ropeTheta }],
    ['llama.attention.head_count', { type: 'uint32', value: shape.heads }],
    ['llama.attention.head_count_kv', { type: 'uint32', value: shape.kvHeads }],
    ['llama.attention.key_length', { type: 'uint32', value: shape.headDim }],
    ['llama.attention.value_length', { type: 'uint32', value: shape.headDim }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'float32', value: shape.rmsEps }],
    ...tokenizerToGgufMetadata(input.tokenizerJson, input.tokenizerConfig, { vocabSize: shape.vocab }),
  ];
  writeGguf(path, metadata, tensors);
}

function llamaShape(config: any): LlamaShape {
  if (config?.model_type !== 'llama') {
    throw new Error(`exportLlamaGguf: config.json model_type is ${JSON.stringify(config?.model_type)}; only "llama" can be exported to GGUF so far`);
  }
  const int = (field: string, fallback?: number): number => {
    const value = config[field] ?? fallback;
    if (!Number.isInteger(value) || value <= 0) throw new Error(`exportLlamaGguf: config.json ${field} must be a positive integer, got ${JSON.stringify(config[field])}`);
    return value;
  };
  const num = (field: string, fallback: number): number => {
    const value = config[field] ?? fallback;
    if (typeof value !== 'number' || !(value > 0)) throw new Error(`exportLlamaGguf: config.json ${field} must be a positive number, got ${JSON.stringify(config[field])}`);
    return value;
  };
  const hidden = int('hidden_size');
  const heads = int('num_attention_heads');
  const kvHeads = int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) throw new Error(`exportLlamaGguf: config.json num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`);
  if (config.head_dim === undefined && hidden % heads !== 0) {
    throw new Error(`exportLlamaGguf: config.json hidden_size ${hidden} is not divisible by num_attention_heads ${heads} and head_dim is not given`);
  }
  const headDim = int('head_dim', hidden / heads);
  if (headDim % 2 !== 0) throw new Error(`exportLlamaGguf: head_dim ${headDim} must be even for rotary embeddings`);
  const act = config.hidden_act ?? 'silu';
  if (act !== 'silu') throw new Error(`exportLlamaGguf: config.json hidden_act ${JSON.stringify(act)} is not supported (llama.cpp's LLAMA uses silu)`);
  if (config.attention_bias === true || config.mlp_bias === true) {
    throw new Error('exportLlamaGguf: config.json attention_bias/mlp_bias = true is not supported yet');
  }
  return {
    vocab: int('vocab_size'),
    hidden,
    layers: int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    intermediate: int('intermediate_size'),
    contextLength: int('max_position_embeddings', 2048),
    rmsEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    tied: config.tie_word_embeddings === true,
  };
}

interface PlannedTensor {
  source: string;
  target: string;
  shape: number[];
  /** Head count whose rows are permuted (q: heads, k: kv heads). */
  permuteHeads?: number;
}

function tensorPlan(s: LlamaShape): PlannedTensor[] {
  const plan: PlannedTensor[] = [{ source: 'model.embed_tokens.weight', target: 'token_embd.weight', shape: [s.vocab, s.hidden] }];
  for (let i = 0; i < s.layers; i++) {
    const hf = `model.layers.${i}`;
    const blk = `blk.${i}`;
    plan.push(
      { source: `${hf}.input_layernorm.weight`, target: `${blk}.attn_norm.weight`, shape: [s.hidden] },
      { source: `${hf}.self_attn.q_proj.weight`, target: `${blk}.attn_q.weight`, shape: [s.heads * s.headDim, s.hidden], permuteHeads: s.heads },
      { source: `${hf}.self_attn.k_proj.weight`, target: `${blk}.attn_k.weight`, shape: [s.kvHeads * s.headDim, s.hidden], permuteHeads: s.kvHeads },
      { source: `${hf}.self_attn.v_proj.weight`, target: `${blk}.attn_v.weight`, shape: [s.kvHeads * s.headDim, s.hidden] },
      { source: `${hf}.self_attn.o_proj.weight`, target: `${blk}.attn_output.weight`, shape: [s.hidden, s.heads * s.headDim] },
      { source: `${hf}.post_attention_layernorm.weight`, target: `${blk}.ffn_norm.weight`, shape: [s.hidden] },
      { source: `${hf}.mlp.gate_proj.weight`, target: `${blk}.ffn_gate.weight`, shape: [s.intermediate, s.hidden] },
      { source: `${hf}.mlp.up_proj.weight`, target: `${blk}.ffn_up.weight`, shape: [s.intermediate, s.hidden] },
      { source: `${hf}.mlp.down_proj.weight`, target: `${blk}.ffn_down.weight`, shape: [s.hidden, s.intermediate] },
    );
  }
  plan.push({ source: 'model.norm.weight', target: 'output_norm.weight', shape: [s.hidden] });
  if (!s.tied) plan.push({ source: 'lm_head.weight', target: 'output.weight', shape: [s.vocab, s.hidden] });
  return plan;
}

function checkWeights(weights: GgufWeightSource, plan: PlannedTensor[], tied: boolean): void {
  for (const entry of plan) {
    if (!weights.has(entry.source)) throw new Error(`exportLlamaGguf: checkpoint has no tensor "${entry.source}"`);
    const got = weights.shape(entry.source);
    if (got.length !== entry.shape.length || got.some((d, i) => d !== entry.shape[i])) {
      throw new Error(`exportLlamaGguf: tensor "${entry.source}" has shape [${got.join(', ')}], expected [${entry.shape.join(', ')}] from config.json`);
    }
  }
  // Anything else would be silently dropped (a bias, an adapter merged under a
  // new name), so it is an error; only derived buffers and a tied head are skipped.
  const planned = new Set(plan.map((entry) => entry.source));
  for (const name of weights.names) {
    if (planned.has(name) || name.endsWith('.rotary_emb.inv_freq') || (tied && name === 'lm_head.weight')) continue;
    throw new Error(`exportLlamaGguf: checkpoint tensor "${name}" has no place in llama.cpp's LLAMA layout`);
  }
}

/**
 * Reorders the rows of a q or k projection ([heads * headDim, cols], row-major)
 * from Hugging Face's half-split rotary layout to llama.cpp's interleaved one:
 * within each head, row j of the first half goes to 2j and row j of the second
 * half to 2j + 1.
 */
export function permuteRowsForInterleavedRope(data: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  if (data.length !== rows * cols) throw new Error(`permuteRowsForInterleavedRope: ${data.length} values do not form [${rows}, ${cols}]`);
  if (rows % heads !== 0 || (rows / heads) % 2 !== 0) throw new Error(`permuteRowsForInterleavedRope: ${rows} rows do not split into ${heads} heads of even size`);
  const headDim = rows / heads;
  const half = headDim / 2;
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      for (let part = 0; part < 2; part++) {
        const from = h * headDim + part * half + j;
        const to = h * headDim + 2 * j + part;
        out.set(data.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

/**
 * Llama-3's "llama3" rope scaling as the divisor llama.cpp applies to each of the
 * headDim/2 frequencies: 1 for short wavelengths, `factor` for long ones, and a
 * smooth blend between (the same piecewise rule Hugging Face applies to inv_freq).
 */
export function llama3RopeDivisors(config: any, shape: { headDim: number; ropeTheta: number }): Float32Array | null {
  const scaling = config.rope_scaling;
  if (scaling === null || scaling === undefined) return null;
  const kind = scaling.rope_type ?? scaling.type;
  if (kind === 'default') return null;
  if (kind !== 'llama3') throw new Error(`exportLlamaGguf: config.json rope_scaling type ${JSON.stringify(kind)} is not supported (only "llama3")`);
  const factor = scaling.factor ?? 8;
  const lowFreqFactor = scaling.low_freq_factor ?? 1;
  const highFreqFactor = scaling.high_freq_factor ?? 4;
  const originalContext = scaling.original_max_position_embeddings ?? 8192;
  for (const [field, value] of Object.entries({ factor, low_freq_factor: lowFreqFactor, high_freq_factor: highFreqFactor, original_max_position_embeddings: originalContext })) {
    if (typeof value !== 'number' || !(value > 0)) throw new Error(`exportLlamaGguf: config.json rope_scaling.${field} must be a positive number, got ${JSON.stringify(value)}`);
  }
  if (highFreqFactor === lowFreqFactor) throw new Error('exportLlamaGguf: config.json rope_scaling high_freq_factor must differ from low_freq_factor');
  const lowFreqWavelength = originalContext / lowFreqFactor;
  const highFreqWavelength = originalContext / highFreqFactor;
  const divisors = new Float32Array(shape.headDim / 2);
  for (let i = 0; i < divisors.length; i++) {
    // Hugging Face computes inv_freq in float32; rounding the same way keeps
    // frequencies that sit on a band edge on the same side.
    const frequency = Math.fround(1 / Math.fround(shape.ropeTheta ** Math.fround((2 * i) / shape.headDim)));
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength < highFreqWavelength) divisors[i] = 1;
    else if (wavelength > lowFreqWavelength) divisors[i] = factor;
    else {
      const smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      divisors[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return divisors;
}
