// A deliberately naive reference forward pass, used only by tests.
//
// It computes next-token logits for one sequence straight from the Hugging Face
// `transformers` semantics of each architecture, with plain scalar loops in
// float64 and no caching, fusion or layout tricks, so that agreement with the
// optimised model means something. It reads tensors exactly as a HF checkpoint
// stores them (names and orientation as in model.safetensors):
//   - torch `nn.Linear` weights are [out, in] and compute y = x W^T + b;
//   - GPT-2 `Conv1D` weights are [in, out] and compute y = x W + b.
//
// Semantics follow (transformers sources, read for this file):
//   gpt2    models/gpt2/modeling_gpt2.py     (scale_attn_weights, scale_attn_by_inverse_layer_idx, Conv1D)
//   llama   models/llama/modeling_llama.py   (rotate_half RoPE, repeat_kv, SwiGLU, attention_bias / mlp_bias)
//   qwen2   models/qwen2/modeling_qwen2.py   (q/k/v bias=True, o_proj bias=False, layer_types)
//   qwen3   models/qwen3/modeling_qwen3.py   (per-head q_norm / k_norm before RoPE)
//   olmo2   models/olmo2/modeling_olmo2.py   (q_norm / k_norm over the whole projection, post-norms)
//   gemma2  models/gemma2/modeling_gemma2.py (1 + w RMSNorm, sqrt(hidden) normaliser, soft-capping,
//           sliding window on even layers, mask kv > q - window)
//   RoPE    modeling_rope_utils.py           (default, linear, llama3 inverse frequencies)

export interface HfTensor {
  shape: number[];
  data: Float32Array;
}

type Weights = Map<string, HfTensor>;
type Vec = Float64Array;

const SUPPORTED = ['gpt2', 'llama', 'qwen2', 'qwen3', 'olmo2', 'gemma2'] as const;
type Arch = (typeof SUPPORTED)[number];

/**
 * Logits for every position of `ids` (positions 0..T-1, causal, one sequence):
 * result[t] has vocab entries and depends only on ids[0..t].
 */
export function naiveLogits(config: Record<string, any>, weights: Map<string, HfTensor>, ids: number[]): Float64Array[] {
  const modelType = config?.model_type;
  if (!(SUPPORTED as readonly string[]).includes(modelType)) {
    throw new Error(`naiveLogits: unsupported model_type '${String(modelType)}' (supported: ${SUPPORTED.join(', ')})`);
  }
  if (ids.length === 0) throw new Error('naiveLogits: ids is empty');
  const arch = modelType as Arch;
  return arch === 'gpt2' ? gpt2Logits(config, weights, ids) : decoderLogits(arch, config, weights, ids);
}

// ---------------------------------------------------------------------------
// Small numeric building blocks (exported for the self-checks).

/** RMSNorm: x / sqrt(mean(x^2) + eps) * w, or * (1 + w) for Gemma. */
export function rmsNorm(x: ArrayLike<number>, weight: ArrayLike<number>, eps: number, addOne = false): Vec {
  const n = x.length;
  if (weight.length !== n) throw new Error(`naiveLogits: RMSNorm weight has ${weight.length} entries, input has ${n}`);
  let sumSq = 0;
  for (let i = 0; i < n; i++) sumSq += x[i] * x[i];
  const inv = 1 / Math.sqrt(sumSq / n + eps);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = x[i] * inv * (addOne ? 1 + weight[i] : weight[i]);
  return y;
}

/** LayerNorm with biased variance, as torch.nn.LayerNorm. */
export function layerNorm(x: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, eps: number): Vec {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) * (x[i] - mean);
  variance /= n;
  const inv = 1 / Math.sqrt(variance + eps);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = (x[i] - mean) * inv * weight[i] + bias[i];
  return y;
}

/**
 * RoPE in the HF "rotate_half" convention on one head vector of even length d:
 * with half = d/2, angle_j = position * invFreq[j],
 *   out[j]        = x[j] cos - x[j + half] sin
 *   out[j + half] = x[j + half] cos + x[j] sin
 * (that is x * cos(cat(f, f)) + rotate_half(x) * sin(cat(f, f)), rotate_half(x) = cat(-x2, x1)).
 */
export function applyRotaryHalf(x: ArrayLike<number>, position: number, invFreq: ArrayLike<number>): Vec {
  const d = x.length;
  const half = d / 2;
  if (d % 2 !== 0 || invFreq.length !== half) {
    throw new Error(`naiveLogits: RoPE needs an even head size and head/2 frequencies (got ${d} and ${invFreq.length})`);
  }
  const y = new Float64Array(d);
  for (let j = 0; j < half; j++) {
    const angle = position * invFreq[j];
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    y[j] = x[j] * c - x[j + half] * s;
    y[j + half] = x[j + half] * c + x[j] * s;
  }
  return y;
}

/**
 * RoPE inverse frequencies for a head of `dim` entries, after the config's
 * rope scaling ('default', 'linear' or 'llama3'; anything else throws).
 */
export function ropeInverseFrequencies(config: Record<string, any>, dim: number): Vec {
  const params = ropeParameters(config);
  const base = params.theta;
  const half = dim / 2;
  if (!Number.isInteger(half)) throw new Error(`naiveLogits: RoPE head size ${dim} is odd`);
  const inv = new Float64Array(half);
  // 1 / base^(arange(0, dim, 2) / dim)
  for (let j = 0; j < half; j++) inv[j] = 1 / Math.pow(base, (2 * j) / dim);
  const scaling = params.scaling;
  if (scaling === null) return inv;
  const type = scaling.rope_type ?? scaling.type ?? 'default';
  if (type === 'default') return inv;
  if (type === 'linear') {
    const factor = requireNumber(scaling, 'factor', 'rope_scaling');
    for (let j = 0; j < half; j++) inv[j] /= factor;
    return inv;
  }
  if (type === 'llama3') {
    const factor = requireNumber(scaling, 'factor', 'rope_scaling');
    const lowFreqFactor = requireNumber(scaling, 'low_freq_factor', 'rope_scaling');
    const highFreqFactor = requireNumber(scaling, 'high_freq_factor', 'rope_scaling');
    const oldContext = requireNumber(scaling, 'original_max_position_embeddings', 'rope_scaling');
    const lowFreqWavelen = oldContext / lowFreqFactor;
    const highFreqWavelen = oldContext / highFreqFactor;
    for (let j = 0; j < half; j++) {
      const f = inv[j];
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highFreqWavelen) {
        inv[j] = f; // high frequency: unchanged
      } else if (wavelen > lowFreqWavelen) {
        inv[j] = f / factor; // low frequency: divided by factor
      } else {
        // medium: interpolate between f / factor and f
        const smooth = (oldContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        inv[j] = (1 - smooth) * (f / factor) + smooth * f;
      }
    }
    return inv;
  }
  throw new Error(`naiveLogits: unsupported rope_scaling type '${String(type)}' (supported: default, linear, llama3)`);
}

/** erf to about 1e-15: Taylor series near 0, continued fraction for erfc beyond. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  let r: number;
  if (a < 2) {
    // erf(a) = 2/sqrt(pi) * sum_n (-1)^n a^(2n+1) / (n! (2n+1))
    let term = a; // (-1)^n a^(2n+1) / n!
    let sum = a;
    for (let n = 1; n < 60; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else if (a > 27) {
    r = 1;
  } else {
    // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...)))))
    let frac = a;
    for (let k = 200; k >= 1; k--) frac = a + k / 2 / frac;
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / frac;
  }
  return x < 0 ? -r : r;
}

/** Activation by its HF name (ACT2FN). */
export function activation(name: string): (x: number) => number {
  switch (name) {
    case 'silu':
    case 'swish':
      return (x) => x / (1 + Math.exp(-x));
    case 'gelu': // exact, erf form
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    case 'relu':
      return (x) => (x > 0 ? x : 0);
    default:
      throw new Error(`naiveLogits: unsupported activation '${name}'`);
  }
}

// ---------------------------------------------------------------------------
// Tensor access and products.

function product(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function tensor(weights: Weights, name: string, shape?: number[]): HfTensor {
  const t = weights.get(name);
  if (t === undefined) throw new Error(`naiveLogits: missing tensor '${name}'`);
  if (t.data.length !== product(t.shape)) {
    throw new Error(`naiveLogits: tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  }
  if (shape !== undefined && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    throw new Error(`naiveLogits: tensor '${name}' has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return t;
}

/** torch nn.Linear: weight [out, in], y[o] = sum_i W[o, i] x[i] + b[o]. */
function linear(x: Vec, w: HfTensor, b?: HfTensor): Vec {
  const [out, inp] = w.shape;
  if (x.length !== inp) throw new Error(`naiveLogits: linear input has ${x.length} entries, weight expects ${inp}`);
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = 0;
    const row = o * inp;
    for (let i = 0; i < inp; i++) s += w.data[row + i] * x[i];
    y[o] = b === undefined ? s : s + b.data[o];
  }
  return y;
}

/** GPT-2 Conv1D: weight [in, out], y[o] = sum_i x[i] W[i, o] + b[o]. */
function conv1d(x: Vec, w: HfTensor, b: HfTensor): Vec {
  const [inp, out] = w.shape;
  if (x.length !== inp) throw new Error(`naiveLogits: Conv1D input has ${x.length} entries, weight expects ${inp}`);
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = 0;
    for (let i = 0; i < inp; i++) s += x[i] * w.data[i * out + o];
    y[o] = s + b.data[o];
  }
  return y;
}

function embeddingRow(table: HfTensor, id: number): Vec {
  const [vocab, width] = table.shape;
  if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`naiveLogits: token id ${id} is outside the vocabulary [0, ${vocab})`);
  const y = new Float64Array(width);
  for (let i = 0; i < width; i++) y[i] = table.data[id * width + i];
  return y;
}

function add(a: Vec, b: Vec): Vec {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
  return y;
}

function slice(x: Vec, start: number, length: number): Vec {
  return Float64Array.from(x.subarray(start, start + length));
}

function concat(parts: Vec[]): Vec {
  const y = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    y.set(p, at);
    at += p.length;
  }
  return y;
}

// ---------------------------------------------------------------------------
// Causal multi-head attention with grouped K/V heads, optional soft-capping and
// optional sliding window (key k visible from query q iff k <= q and q - k < window).

interface AttentionOptions {
  heads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
  softcap: number | null;
  window: number | null;
}

/** q[t]: heads x headDim, k[t] / v[t]: kvHeads x headDim; returns [t]: heads x headDim. */
function causalAttention(q: Vec[], k: Vec[], v: Vec[], opts: AttentionOptions): Vec[] {
  const { heads, kvHeads, headDim, scale, softcap, window } = opts;
  if (heads % kvHeads !== 0) throw new Error(`naiveLogits: ${heads} heads are not a multiple of ${kvHeads} key/value heads`);
  const group = heads / kvHeads; // repeat_kv: query head h reads key/value head floor(h / group)
  const T = q.length;
  const out: Vec[] = [];
  for (let t = 0; t < T; t++) {
    const o = new Float64Array(heads * headDim);
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const visible: number[] = [];
      const scores: number[] = [];
      for (let s = 0; s <= t; s++) {
        if (window !== null && !(t - s < window)) continue;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += q[t][h * headDim + d] * k[s][kvh * headDim + d];
        let score = dot * scale;
        if (softcap !== null) score = softcap * Math.tanh(score / softcap);
        visible.push(s);
        scores.push(score);
      }
      const max = Math.max(...scores);
      const exps = scores.map((x) => Math.exp(x - max));
      const total = exps.reduce((a, b) => a + b, 0);
      for (let i = 0; i < visible.length; i++) {
        const p = exps[i] / total;
        const s = visible[i];
        for (let d = 0; d < headDim; d++) o[h * headDim + d] += p * v[s][kvh * headDim + d];
      }
    }
    out.push(o);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Config helpers.

function requireNumber(obj: Record<string, any>, key: string, where = 'config'): number {
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`naiveLogits: ${where}.${key} must be a number (got ${String(value)})`);
  return value;
}

/** A number from the config, `fallback` (the HF config class default) when absent. */
function numberOr(config: Record<string, any>, key: string, fallback: number): number {
  const value = config[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`naiveLogits: config.${key} must be a number (got ${String(value)})`);
  return value;
}

/** Like numberOr, but an explicit null disables the feature (soft-capping, windows). */
function optionalNumber(config: Record<string, any>, key: string, fallback: number | null): number | null {
  const value = config[key];
  if (value === undefined) return fallback;
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`naiveLogits: config.${key} must be a number or null (got ${String(value)})`);
  return value;
}

function ropeParameters(config: Record<string, any>): { theta: number; scaling: Record<string, any> | null } {
  // Older configs: rope_theta + rope_scaling; newer ones: rope_parameters {rope_type, rope_theta, ...}.
  const params = config.rope_parameters ?? null;
  const theta = config.rope_theta ?? params?.rope_theta ?? 10000;
  if (typeof theta !== 'number' || !(theta > 0)) throw new Error(`naiveLogits: rope_theta must be a positive number (got ${String(theta)})`);
  const partial = config.partial_rotary_factor ?? params?.partial_rotary_factor ?? 1;
  if (partial !== 1) throw new Error(`naiveLogits: partial_rotary_factor ${String(partial)} is not supported`);
  const scaling = config.rope_scaling ?? params ?? null;
  return { theta, scaling };
}

// ---------------------------------------------------------------------------
// GPT-2.

function gpt2Logits(config: Record<string, any>, weights: Weights, ids: number[]): Vec[] {
  const layers = requireNumber(config, 'n_layer');
  const heads = requireNumber(config, 'n_head');
  const width = requireNumber(config, 'n_embd');
  const eps = numberOr(config, 'layer_norm_epsilon', 1e-5);
  const act = activation(config.activation_function ?? 'gelu_new');
  const scaleWeights = config.scale_attn_weights ?? true;
  const scaleByLayer = config.scale_attn_by_inverse_layer_idx ?? false;
  if (width % heads !== 0) throw new Error(`naiveLogits: n_embd ${width} is not a multiple of n_head ${heads}`);
  const headDim = width / heads;

  // HF GPT2LMHeadModel checkpoints prefix names with "transformer."; bare GPT2Model ones do not.
  const prefix = weights.has('transformer.wte.weight') || !weights.has('wte.weight') ? 'transformer.' : '';
  const w = (name: string, shape?: number[]) => tensor(weights, prefix + name, shape);

  const wte = w('wte.weight');
  if (wte.shape.length !== 2 || wte.shape[1] !== width) throw new Error(`naiveLogits: wte.weight has shape [${wte.shape.join(', ')}], expected [vocab, ${width}]`);
  const wpe = w('wpe.weight');
  if (wpe.shape[1] !== width) throw new Error(`naiveLogits: wpe.weight has shape [${wpe.shape.join(', ')}], expected [positions, ${width}]`);
  if (ids.length > wpe.shape[0]) throw new Error(`naiveLogits: ${ids.length} tokens exceed the ${wpe.shape[0]} learned positions`);

  let x: Vec[] = ids.map((id, t) => add(embeddingRow(wte, id), embeddingRow(wpe, t)));
  for (let l = 0; l < layers; l++) {
    const p = `h.${l}.`;
    const ln1w = w(p + 'ln_1.weight', [width]);
    const ln1b = w(p + 'ln_1.bias', [width]);
    const attnW = w(p + 'attn.c_attn.weight', [width, 3 * width]);
    const attnB = w(p + 'attn.c_attn.bias', [3 * width]);
    const projW = w(p + 'attn.c_proj.weight', [width, width]);
    const projB = w(p + 'attn.c_proj.bias', [width]);
    const ln2w = w(p + 'ln_2.weight', [width]);
    const ln2b = w(p + 'ln_2.bias', [width]);
    const fcW = w(p + 'mlp.c_fc.weight');
    const inner = fcW.shape[1];
    if (fcW.shape.length !== 2 || fcW.shape[0] !== width) throw new Error(`naiveLogits: ${prefix}${p}mlp.c_fc.weight has shape [${fcW.shape.join(', ')}], expected [${width}, inner]`);
    const fcB = w(p + 'mlp.c_fc.bias', [inner]);
    const fc2W = w(p + 'mlp.c_proj.weight', [inner, width]);
    const fc2B = w(p + 'mlp.c_proj.bias', [width]);

    const qkv = x.map((h) => conv1d(layerNorm(h, ln1w.data, ln1b.data, eps), attnW, attnB));
    let scale = scaleWeights ? 1 / Math.sqrt(headDim) : 1;
    if (scaleByLayer) scale /= l + 1;
    const attn = causalAttention(
      qkv.map((r) => slice(r, 0, width)),
      qkv.map((r) => slice(r, width, width)),
      qkv.map((r) => slice(r, 2 * width, width)),
      { heads, kvHeads: heads, headDim, scale, softcap: null, window: null },
    );
    x = x.map((h, t) => add(h, conv1d(attn[t], projW, projB)));
    x = x.map((h) => {
      const hidden = conv1d(layerNorm(h, ln2w.data, ln2b.data, eps), fcW, fcB).map(act);
      return add(h, conv1d(hidden, fc2W, fc2B));
    });
  }
  const lnfW = w('ln_f.weight', [width]);
  const lnfB = w('ln_f.bias', [width]);
  const tied = config.tie_word_embeddings ?? true;
  const head = tied ? wte : tensor(weights, 'lm_head.weight');
  return x.map((h) => linear(layerNorm(h, lnfW.data, lnfB.data, eps), head));
}

// ---------------------------------------------------------------------------
// Llama-family decoders: llama, qwen2, qwen3, olmo2, gemma2.

/** HF config-class defaults for keys a config.json may omit. */
const DEFAULTS: Record<Exclude<Arch, 'gpt2'>, { eps: number; tie: boolean; headDim?: number; act: string }> = {
  llama: { eps: 1e-6, tie: false, act: 'silu' },
  qwen2: { eps: 1e-6, tie: false, act: 'silu' },
  qwen3: { eps: 1e-6, tie: false, headDim: 128, act: 'silu' },
  olmo2: { eps: 1e-5, tie: false, act: 'silu' },
  gemma2: { eps: 1e-6, tie: true, headDim: 256, act: 'gelu_pytorch_tanh' },
};

/** Per-layer sliding window (null: full causal attention). */
function layerWindows(arch: Arch, config: Record<string, any>, layers: number): (number | null)[] {
  const types: unknown = config.layer_types;
  if (types !== undefined && types !== null && (!Array.isArray(types) || types.length !== layers)) {
    throw new Error(`naiveLogits: config.layer_types must list ${layers} layer types`);
  }
  const isSlidingType = (i: number) => (types as string[])[i] === 'sliding_attention';
  if (arch === 'gemma2') {
    // Gemma2Attention: sliding_window if not bool(layer_idx % 2), i.e. even layers
    // (layer_types default: "sliding_attention" if bool((i + 1) % 2)).
    const window = optionalNumber(config, 'sliding_window', 4096);
    return Array.from({ length: layers }, (_, i) => {
      const sliding = types ? isSlidingType(i) : i % 2 === 0;
      return sliding ? window : null;
    });
  }
  if (arch === 'qwen2' || arch === 'qwen3') {
    // Qwen2Config / Qwen3Config: sliding_window only when use_sliding_window, then on
    // layers i >= max_window_layers unless layer_types says otherwise.
    const window = config.use_sliding_window ? optionalNumber(config, 'sliding_window', 4096) : null;
    const maxWindowLayers = numberOr(config, 'max_window_layers', 28);
    return Array.from({ length: layers }, (_, i) => {
      if (window === null) return null;
      const sliding = types ? isSlidingType(i) : i >= maxWindowLayers;
      return sliding ? window : null;
    });
  }
  return Array.from({ length: layers }, () => null);
}

function decoderLogits(arch: Exclude<Arch, 'gpt2'>, config: Record<string, any>, weights: Weights, ids: number[]): Vec[] {
  const defaults = DEFAULTS[arch];
  const hidden = requireNumber(config, 'hidden_size');
  const layers = requireNumber(config, 'num_hidden_layers');
  const heads = requireNumber(config, 'num_attention_heads');
  const kvHeads = numberOr(config, 'num_key_value_heads', heads);
  const headDim = numberOr(config, 'head_dim', defaults.headDim ?? hidden / heads);
  if (!Number.isInteger(headDim)) throw new Error(`naiveLogits: head_dim ${headDim} is not an integer`);
  const eps = numberOr(config, 'rms_norm_eps', defaults.eps);
  const tied = config.tie_word_embeddings ?? defaults.tie;
  const actName: string = arch === 'gemma2' ? (config.hidden_activation ?? config.hidden_act ?? defaults.act) : (config.hidden_act ?? defaults.act);
  const act = activation(actName);
  const gemma = arch === 'gemma2';

  const attentionBias = Boolean(config.attention_bias ?? false);
  const qkvBias = arch === 'qwen2' ? true : attentionBias;
  const oBias = arch === 'qwen2' ? false : attentionBias;
  const mlpBias = arch === 'llama' ? Boolean(config.mlp_bias ?? false) : false;

  const scale = gemma ? Math.pow(numberOr(config, 'query_pre_attn_scalar', 256), -0.5) : 1 / Math.sqrt(headDim);
  const attnSoftcap = gemma ? optionalNumber(config, 'attn_logit_softcapping', 50) : null;
  const finalSoftcap = gemma ? optionalNumber(config, 'final_logit_softcapping', 30) : null;
  const windows = layerWindows(arch, config, layers);
  const invFreq = ropeInverseFrequencies(config, headDim);

  const w = (name: string, shape?: number[]) => tensor(weights, name, shape);
  const norm = (x: Vec, name: string) => rmsNorm(x, w(name, [x.length]).data, eps, gemma);

  const embed = w('model.embed_tokens.weight');
  if (embed.shape.length !== 2 || embed.shape[1] !== hidden) {
    throw new Error(`naiveLogits: model.embed_tokens.weight has shape [${embed.shape.join(', ')}], expected [vocab, ${hidden}]`);
  }
  // Gemma2Model: hidden_states * torch.tensor(hidden_size**0.5, dtype=hidden_states.dtype).
  const normalizer = gemma ? Math.fround(Math.sqrt(hidden)) : 1;
  let x: Vec[] = ids.map((id) => embeddingRow(embed, id).map((v) => v * normalizer));

  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    const proj = (name: string, out: number, inp: number, bias: boolean) => ({
      weight: w(`${p}${name}.weight`, [out, inp]),
      bias: bias ? w(`${p}${name}.bias`, [out]) : undefined,
    });
    const qP = proj('self_attn.q_proj', qWidth, hidden, qkvBias);
    const kP = proj('self_attn.k_proj', kvWidth, hidden, qkvBias);
    const vP = proj('self_attn.v_proj', kvWidth, hidden, qkvBias);
    const oP = proj('self_attn.o_proj', hidden, qWidth, oBias);
    const gateW = w(`${p}mlp.gate_proj.weight`);
    const inter = gateW.shape[0];
    if (gateW.shape.length !== 2 || gateW.shape[1] !== hidden) {
      throw new Error(`naiveLogits: ${p}mlp.gate_proj.weight has shape [${gateW.shape.join(', ')}], expected [intermediate, ${hidden}]`);
    }
    const gateP = { weight: gateW, bias: mlpBias ? w(`${p}mlp.gate_proj.bias`, [inter]) : undefined };
    const upP = proj('mlp.up_proj', inter, hidden, mlpBias);
    const downP = proj('mlp.down_proj', hidden, inter, mlpBias);

    // --- attention block
    const attnIn = arch === 'olmo2' ? x : x.map((h) => norm(h, `${p}input_layernorm.weight`));
    let q = attnIn.map((h) => linear(h, qP.weight, qP.bias));
    let k = attnIn.map((h) => linear(h, kP.weight, kP.bias));
    const v = attnIn.map((h) => linear(h, vP.weight, vP.bias));
    if (arch === 'olmo2') {
      // Olmo2: RMSNorm over the whole projection, before splitting into heads.
      q = q.map((r) => norm(r, `${p}self_attn.q_norm.weight`));
      k = k.map((r) => norm(r, `${p}self_attn.k_norm.weight`));
    }
    const perHead = (r: Vec, n: number, t: number, normName: string | null) => {
      const parts: Vec[] = [];
      for (let h = 0; h < n; h++) {
        let part = slice(r, h * headDim, headDim);
        if (normName !== null) part = norm(part, normName); // Qwen3: per-head RMSNorm before RoPE
        parts.push(applyRotaryHalf(part, t, invFreq));
      }
      return concat(parts);
    };
    const qNormName = arch === 'qwen3' ? `${p}self_attn.q_norm.weight` : null;
    const kNormName = arch === 'qwen3' ? `${p}self_attn.k_norm.weight` : null;
    q = q.map((r, t) => perHead(r, heads, t, qNormName));
    k = k.map((r, t) => perHead(r, kvHeads, t, kNormName));
    const attn = causalAttention(q, k, v, { heads, kvHeads, headDim, scale, softcap: attnSoftcap, window: windows[l] });
    x = x.map((h, t) => {
      let o = linear(attn[t], oP.weight, oP.bias);
      if (arch === 'olmo2' || gemma) o = norm(o, `${p}post_attention_layernorm.weight`);
      return add(h, o);
    });

    // --- MLP block: down(act(gate(x)) * up(x))
    x = x.map((h) => {
      let mlpIn: Vec;
      if (arch === 'olmo2') mlpIn = h;
      else if (gemma) mlpIn = norm(h, `${p}pre_feedforward_layernorm.weight`);
      else mlpIn = norm(h, `${p}post_attention_layernorm.weight`);
      const gate = linear(mlpIn, gateP.weight, gateP.bias);
      const up = linear(mlpIn, upP.weight, upP.bias);
      const inner = new Float64Array(inter);
      for (let i = 0; i < inter; i++) inner[i] = act(gate[i]) * up[i];
      let m = linear(inner, downP.weight, downP.bias);
      if (arch === 'olmo2' || gemma) m = norm(m, `${p}post_feedforward_layernorm.weight`);
      return add(h, m);
    });
  }

  const head = tied ? embed : w('lm_head.weight', [embed.shape[0], hidden]);
  return x.map((h) => {
    const logits = linear(norm(h, 'model.norm.weight'), head);
    if (finalSoftcap !== null) {
      for (let i = 0; i < logits.length; i++) logits[i] = finalSoftcap * Math.tanh(logits[i] / finalSoftcap);
    }
    return logits;
  });
}
