import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SafetensorsFile } from '../src/io/safetensors.js';
import {
  activation,
  applyRotaryHalf,
  erf,
  naiveLogits,
  rmsNorm,
  ropeInverseFrequencies,
  type HfTensor,
} from './support/naiveReference.js';

// Self-checks of the naive float64 reference forward pass: hand-computable pieces,
// causality and sliding-window reach for every architecture on tiny random weights,
// GQA head mapping, clear errors, and the real GPT-2 fixture checkpoint.

const projectRoot = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const gpt2Fixture = join(projectRoot, '..', 'shared', 'fixtures', 'gpt2-random');

function close(actual: number, expected: number, tol = 1e-12, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what} ${actual} != ${expected}`);
}

// --- a tiny seeded PRNG (mulberry32), uniform in [0, 1)
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Weights = Map<string, HfTensor>;

function randomTensor(rand: () => number, shape: number[], lo: number, hi: number): HfTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * rand();
  return { shape, data };
}

const HIDDEN = 16;
const HEADS = 4;
const KV_HEADS = 2;
const VOCAB = 40;
const INTER = 24;

function gpt2Model(seed: number): { config: Record<string, any>; weights: Weights } {
  const rand = prng(seed);
  const config = { model_type: 'gpt2', n_layer: 2, n_head: HEADS, n_embd: HIDDEN, n_positions: 16, vocab_size: VOCAB, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' };
  const weights: Weights = new Map();
  const put = (name: string, shape: number[], lo = -0.5, hi = 0.5) => weights.set(name, randomTensor(rand, shape, lo, hi));
  put('transformer.wte.weight', [VOCAB, HIDDEN]);
  put('transformer.wpe.weight', [16, HIDDEN]);
  for (let l = 0; l < 2; l++) {
    const p = `transformer.h.${l}.`;
    put(p + 'ln_1.weight', [HIDDEN], 0.5, 1.5);
    put(p + 'ln_1.bias', [HIDDEN]);
    put(p + 'attn.c_attn.weight', [HIDDEN, 3 * HIDDEN]);
    put(p + 'attn.c_attn.bias', [3 * HIDDEN]);
    put(p + 'attn.c_proj.weight', [HIDDEN, HIDDEN]);
    put(p + 'attn.c_proj.bias', [HIDDEN]);
    put(p + 'ln_2.weight', [HIDDEN], 0.5, 1.5);
    put(p + 'ln_2.bias', [HIDDEN]);
    put(p + 'mlp.c_fc.weight', [HIDDEN, 4 * HIDDEN]);
    put(p + 'mlp.c_fc.bias', [4 * HIDDEN]);
    put(p + 'mlp.c_proj.weight', [4 * HIDDEN, HIDDEN]);
    put(p + 'mlp.c_proj.bias', [HIDDEN]);
  }
  put('transformer.ln_f.weight', [HIDDEN], 0.5, 1.5);
  put('transformer.ln_f.bias', [HIDDEN]);
  return { config, weights };
}

type DecoderArch = 'llama' | 'qwen2' | 'qwen3' | 'olmo2' | 'gemma2';

function decoderModel(arch: DecoderArch, seed: number, extra: Record<string, any> = {}): { config: Record<string, any>; weights: Weights } {
  const rand = prng(seed);
  const config: Record<string, any> = {
    model_type: arch,
    hidden_size: HIDDEN,
    num_hidden_layers: 2,
    num_attention_heads: HEADS,
    num_key_value_heads: KV_HEADS,
    intermediate_size: INTER,
    vocab_size: VOCAB,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    head_dim: HIDDEN / HEADS,
    tie_word_embeddings: arch === 'gemma2',
    ...extra,
  };
  if (arch === 'llama') config.rope_scaling = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 };
  if (arch === 'gemma2') Object.assign(config, { query_pre_attn_scalar: 4, attn_logit_softcapping: 50, final_logit_softcapping: 30, sliding_window: 2, hidden_activation: 'gelu_pytorch_tanh' }, extra);
  const layers: number = config.num_hidden_layers;
  const headDim: number = config.head_dim;
  const weights: Weights = new Map();
  const put = (name: string, shape: number[], lo = -0.5, hi = 0.5) => weights.set(name, randomTensor(rand, shape, lo, hi));
  const normRange: [number, number] = arch === 'gemma2' ? [-0.3, 0.3] : [0.7, 1.3];
  put('model.embed_tokens.weight', [VOCAB, HIDDEN]);
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    const qW = HEADS * headDim;
    const kvW = KV_HEADS * headDim;
    put(p + 'self_attn.q_proj.weight', [qW, HIDDEN]);
    put(p + 'self_attn.k_proj.weight', [kvW, HIDDEN]);
    put(p + 'self_attn.v_proj.weight', [kvW, HIDDEN]);
    put(p + 'self_attn.o_proj.weight', [HIDDEN, qW]);
    if (arch === 'qwen2') {
      put(p + 'self_attn.q_proj.bias', [qW]);
      put(p + 'self_attn.k_proj.bias', [kvW]);
      put(p + 'self_attn.v_proj.bias', [kvW]);
    }
    if (arch === 'qwen3') {
      put(p + 'self_attn.q_norm.weight', [headDim], ...normRange);
      put(p + 'self_attn.k_norm.weight', [headDim], ...normRange);
    }
    if (arch === 'olmo2') {
      put(p + 'self_attn.q_norm.weight', [qW], ...normRange);
      put(p + 'self_attn.k_norm.weight', [kvW], ...normRange);
    }
    put(p + 'mlp.gate_proj.weight', [INTER, HIDDEN]);
    put(p + 'mlp.up_proj.weight', [INTER, HIDDEN]);
    put(p + 'mlp.down_proj.weight', [HIDDEN, INTER]);
    if (arch !== 'olmo2') put(p + 'input_layernorm.weight', [HIDDEN], ...normRange);
    put(p + 'post_attention_layernorm.weight', [HIDDEN], ...normRange);
    if (arch === 'gemma2') put(p + 'pre_feedforward_layernorm.weight', [HIDDEN], ...normRange);
    if (arch === 'olmo2' || arch === 'gemma2') put(p + 'post_feedforward_layernorm.weight', [HIDDEN], ...normRange);
  }
  put('model.norm.weight', [HIDDEN], ...normRange);
  if (!config.tie_word_embeddings) put('lm_head.weight', [VOCAB, HIDDEN]);
  return { config, weights };
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// --- hand-computable pieces

test('RMSNorm matches hand values, plain and Gemma (1 + w)', () => {
  // x = [3, 4]: mean(x^2) = 12.5, rms = sqrt(12.5)
  const rms = Math.sqrt(12.5);
  const y = rmsNorm([3, 4], [1, 2], 0);
  close(y[0], 3 / rms);
  close(y[1], 8 / rms);
  close(y[0], 0.848528137423857, 1e-14);
  close(y[1], 2.262741699796952, 1e-14);
  const g = rmsNorm([3, 4], [0, 1], 0, true); // (1 + w) = [1, 2]
  close(g[0], y[0]);
  close(g[1], y[1]);
  // eps enters under the root: x = [1, 1], eps = 3 -> 1 / sqrt(1 + 3) = 0.5
  const e = rmsNorm([1, 1], [1, 1], 3);
  close(e[0], 0.5);
  close(e[1], 0.5);
});

test('rotate_half RoPE matches hand values', () => {
  const x = [1, 2, 3, 4]; // x1 = [1, 2], x2 = [3, 4]; rotate_half(x) = [-3, -4, 1, 2]
  // position 0 is the identity
  assert.deepEqual(Array.from(applyRotaryHalf(x, 0, [0.3, 0.7])), x);
  // angles pi/2 and pi: out = x * cos + rotate_half(x) * sin
  const y = applyRotaryHalf(x, 1, [Math.PI / 2, Math.PI]);
  const expected = [-3, -2, 1, -4];
  for (let i = 0; i < 4; i++) close(y[i], expected[i], 1e-15, `rope[${i}]`);
  // position 2 with frequency pi/4 on the first pair: angle pi/2 again
  const z = applyRotaryHalf(x, 2, [Math.PI / 4, 0]);
  const expectedZ = [-3, 2, 1, 4];
  for (let i = 0; i < 4; i++) close(z[i], expectedZ[i], 1e-15, `rope2[${i}]`);
});

test('default, linear and llama3 inverse frequencies match the formula by hand', () => {
  // dim 4, theta 10000: 1 / 10000^(0/4), 1 / 10000^(2/4) = [1, 0.01]
  const plain = ropeInverseFrequencies({ rope_theta: 10000 }, 4);
  close(plain[0], 1);
  close(plain[1], 0.01);
  const linear = ropeInverseFrequencies({ rope_theta: 10000, rope_scaling: { type: 'linear', factor: 4 } }, 4);
  close(linear[0], 0.25);
  close(linear[1], 0.0025);

  // dim 6, theta 100: f = [1, 100^(-1/3), 100^(-2/3)] = [1, 0.2154434690031884, 0.04641588833612779]
  // wavelengths 2 pi / f = [6.283, 29.164, 135.36].
  // old context 32, low_freq_factor 1, high_freq_factor 4 -> low_freq_wavelen 32, high_freq_wavelen 8:
  //   6.283 < 8        -> unchanged
  //   8 <= 29.164 <= 32 -> smooth = (32 / 29.164 - 1) / (4 - 1), f' = (1 - smooth) f / 8 + smooth f
  //   135.36 > 32      -> f / 8
  const f1 = 0.2154434690031884;
  const f2 = 0.046415888336127795;
  const smooth = (32 / ((2 * Math.PI) / f1) - 1) / 3; // = (32 f1 / (2 pi) - 1) / 3
  close(smooth, 0.032414859186378285, 1e-12);
  const scaled = ropeInverseFrequencies(
    { rope_theta: 100, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 } },
    6,
  );
  close(scaled[0], 1);
  close(scaled[1], ((1 - smooth) * f1) / 8 + smooth * f1);
  close(scaled[1], 0.03304105712196635, 1e-12); // 0.21544 * (0.96759 / 8 + 0.03241)
  close(scaled[2], f2 / 8);
  // newer configs carry theta and scaling in rope_parameters
  const v5 = ropeInverseFrequencies({ rope_parameters: { rope_type: 'llama3', rope_theta: 100, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 } }, 6);
  for (let j = 0; j < 3; j++) close(v5[j], scaled[j]);
  assert.throws(() => ropeInverseFrequencies({ rope_theta: 100, rope_scaling: { rope_type: 'yarn', factor: 2 } }, 6), /unsupported rope_scaling type 'yarn'/);
});

test('erf and the GELU variants match known values', () => {
  close(erf(0), 0);
  close(erf(0.5), 0.5204998778130465, 1e-14);
  close(erf(1), 0.8427007929497149, 1e-14);
  close(erf(-1), -0.8427007929497149, 1e-14);
  close(erf(2), 0.9953222650189527, 1e-14);
  close(erf(2.5), 0.9995930479825550, 1e-14);
  close(erf(3), 0.9999779095030014, 1e-14);
  // gelu(1) = 0.5 (1 + erf(1 / sqrt 2)) = 0.8413447460685429
  close(activation('gelu')(1), 0.8413447460685429, 1e-14);
  // tanh form: 0.5 (1 + tanh(sqrt(2/pi) (1 + 0.044715)))
  close(activation('gelu_new')(1), 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715)));
  close(activation('gelu_pytorch_tanh')(1), 0.8411919906082768, 1e-14);
  close(activation('silu')(1), 1 / (1 + Math.exp(-1)));
});

// --- whole-model checks on tiny random weights

const ids = [3, 17, 5, 39, 0, 22, 8];

for (const arch of ['gpt2', 'llama', 'qwen2', 'qwen3', 'olmo2', 'gemma2'] as const) {
  test(`${arch}: logits are finite and causal (later tokens never change earlier positions)`, () => {
    const { config, weights } = arch === 'gpt2' ? gpt2Model(11) : decoderModel(arch, 11);
    const base = naiveLogits(config, weights, ids);
    assert.equal(base.length, ids.length);
    for (const row of base) {
      assert.equal(row.length, VOCAB);
      assert.ok(row.every(Number.isFinite));
    }
    for (const cut of [1, 4]) {
      const altered = ids.map((id, t) => (t >= cut ? (id + 7 + t) % VOCAB : id));
      const other = naiveLogits(config, weights, altered);
      for (let t = 0; t < cut; t++) assert.equal(maxAbsDiff(base[t], other[t]), 0, `position ${t} changed after altering tokens from ${cut}`);
      assert.ok(maxAbsDiff(base[cut], other[cut]) > 1e-6, `position ${cut} should depend on its own token`);
    }
    // a prefix gives the same logits as the full sequence at those positions
    const prefix = naiveLogits(config, weights, ids.slice(0, 3));
    for (let t = 0; t < 3; t++) assert.equal(maxAbsDiff(base[t], prefix[t]), 0);
  });
}

test('gemma2: layer 0 slides with window 2, so a key is visible iff q - k < 2', () => {
  // One (sliding) layer: position t sees tokens t-1 and t only.
  const { config, weights } = decoderModel('gemma2', 5, { num_hidden_layers: 1 });
  const base = naiveLogits(config, weights, ids);
  const altered = [...ids];
  altered[0] = (ids[0] + 1) % VOCAB;
  const other = naiveLogits(config, weights, altered);
  assert.ok(maxAbsDiff(base[1], other[1]) > 1e-6, 'q - k = 1 is inside the window');
  for (let t = 2; t < ids.length; t++) assert.equal(maxAbsDiff(base[t], other[t]), 0, `q - k = ${t} is outside the window`);
  // With a second (global, odd) layer, token 0 reaches every position again.
  const two = decoderModel('gemma2', 5, { num_hidden_layers: 2 });
  const b2 = naiveLogits(two.config, two.weights, ids);
  const o2 = naiveLogits(two.config, two.weights, altered);
  assert.ok(maxAbsDiff(b2[6], o2[6]) > 1e-9, 'layer 1 attends globally');
  // layer_types overrides the default pattern: all full attention.
  const full = decoderModel('gemma2', 5, { num_hidden_layers: 1, layer_types: ['full_attention'] });
  const bf = naiveLogits(full.config, full.weights, ids);
  const of = naiveLogits(full.config, full.weights, altered);
  assert.ok(maxAbsDiff(bf[6], of[6]) > 1e-9);
});

test('gemma2: final logits are soft-capped at final_logit_softcapping', () => {
  const { config, weights } = decoderModel('gemma2', 9, { final_logit_softcapping: 0.5 });
  for (const row of naiveLogits(config, weights, ids.slice(0, 3))) {
    for (const v of row) assert.ok(Math.abs(v) < 0.5);
  }
});

test('llama: grouped K/V heads map query head h to K/V head floor(h / group)', () => {
  // An MHA model whose K/V rows for head h copy those of K/V head floor(h / 2) of the
  // GQA model must give identical logits.
  const gqa = decoderModel('llama', 21);
  const mhaConfig = { ...gqa.config, num_key_value_heads: HEADS };
  const mha: Weights = new Map(gqa.weights);
  const headDim = HIDDEN / HEADS;
  for (let l = 0; l < 2; l++) {
    for (const name of ['k_proj', 'v_proj']) {
      const key = `model.layers.${l}.self_attn.${name}.weight`;
      const src = gqa.weights.get(key)!;
      const data = new Float32Array(HEADS * headDim * HIDDEN);
      for (let h = 0; h < HEADS; h++) {
        const from = Math.floor(h / (HEADS / KV_HEADS));
        data.set(src.data.subarray(from * headDim * HIDDEN, (from + 1) * headDim * HIDDEN), h * headDim * HIDDEN);
      }
      mha.set(key, { shape: [HEADS * headDim, HIDDEN], data });
    }
  }
  const a = naiveLogits(gqa.config, gqa.weights, ids);
  const b = naiveLogits(mhaConfig, mha, ids);
  for (let t = 0; t < ids.length; t++) assert.ok(maxAbsDiff(a[t], b[t]) < 1e-12);
});

test('llama: tied head uses the embedding matrix; optional biases are read when configured', () => {
  const { config, weights } = decoderModel('llama', 4);
  const tiedWeights = new Map(weights);
  tiedWeights.set('lm_head.weight', weights.get('model.embed_tokens.weight')!);
  const untied = naiveLogits(config, tiedWeights, ids.slice(0, 2));
  tiedWeights.delete('lm_head.weight');
  const tied = naiveLogits({ ...config, tie_word_embeddings: true }, tiedWeights, ids.slice(0, 2));
  assert.equal(maxAbsDiff(untied[1], tied[1]), 0);
  // attention_bias requires all four biases
  assert.throws(() => naiveLogits({ ...config, attention_bias: true }, weights, ids), /missing tensor 'model\.layers\.0\.self_attn\.q_proj\.bias'/);
  // zero biases change nothing
  const withBias = new Map(weights);
  const headDim = HIDDEN / HEADS;
  for (let l = 0; l < 2; l++) {
    const p = `model.layers.${l}.self_attn.`;
    withBias.set(p + 'q_proj.bias', { shape: [HEADS * headDim], data: new Float32Array(HEADS * headDim) });
    withBias.set(p + 'k_proj.bias', { shape: [KV_HEADS * headDim], data: new Float32Array(KV_HEADS * headDim) });
    withBias.set(p + 'v_proj.bias', { shape: [KV_HEADS * headDim], data: new Float32Array(KV_HEADS * headDim) });
    withBias.set(p + 'o_proj.bias', { shape: [HIDDEN], data: new Float32Array(HIDDEN) });
  }
  const plain = naiveLogits(config, weights, ids.slice(0, 3));
  const biased = naiveLogits({ ...config, attention_bias: true }, withBias, ids.slice(0, 3));
  for (let t = 0; t < 3; t++) assert.ok(maxAbsDiff(plain[t], biased[t]) < 1e-12);
});

test('clear errors for an unknown model_type, a missing tensor and a bad shape', () => {
  const { config, weights } = decoderModel('qwen3', 2);
  assert.throws(() => naiveLogits({ ...config, model_type: 'mistral' }, weights, ids), /unsupported model_type 'mistral'/);
  const missing = new Map(weights);
  missing.delete('model.layers.1.self_attn.k_norm.weight');
  assert.throws(() => naiveLogits(config, missing, ids), /missing tensor 'model\.layers\.1\.self_attn\.k_norm\.weight'/);
  const bad = new Map(weights);
  bad.set('model.layers.0.self_attn.q_proj.weight', { shape: [HIDDEN, HIDDEN + 1], data: new Float32Array(HIDDEN * (HIDDEN + 1)) });
  assert.throws(() => naiveLogits(config, bad, ids), /q_proj\.weight' has shape \[16, 17\], expected \[16, 16\]/);
  assert.throws(() => naiveLogits(config, weights, [VOCAB]), /outside the vocabulary/);
});

// --- the real GPT-2 checkpoint layout

test('gpt2 fixture: logits are finite with 50257 entries per position', (t) => {
  if (!existsSync(join(gpt2Fixture, 'model.safetensors'))) {
    t.skip(`GPT-2 fixture not found at ${gpt2Fixture}`);
    return;
  }
  const config = JSON.parse(readFileSync(join(gpt2Fixture, 'config.json'), 'utf8')) as Record<string, any>;
  const file = SafetensorsFile.open(join(gpt2Fixture, 'model.safetensors'));
  const weights: Weights = new Map();
  try {
    for (const [name, entry] of file.entries) weights.set(name, { shape: entry.shape, data: file.readFloat32(name) });
  } finally {
    file.close();
  }
  const logits = naiveLogits(config, weights, [15496, 11, 995, 50256]);
  assert.equal(logits.length, 4);
  for (const row of logits) {
    assert.equal(row.length, 50257);
    assert.ok(row.every(Number.isFinite));
  }
  // the tied head: logits[t][v] is the final hidden state dotted with wte[v]
  assert.notEqual(logits[0][0], logits[0][1]);
});
