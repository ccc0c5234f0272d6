import { ModelSpec, RopeScaling } from '../spec.js';
import { ConfigFields } from './configFields.js';

// The Llama family shares one layout (model.layers.N.self_attn.{q,k,v,o}_proj,
// mlp.{gate,up,down}_proj, RMSNorm, rotate_half RoPE, gated MLP) and differs in a
// handful of switches, each set here from the fields that Hugging Face reads:
//   llama   attention_bias / mlp_bias, rope_scaling (linear, llama3)
//   qwen2   q/k/v biases, optional sliding window above max_window_layers
//   qwen3   per-head q/k RMSNorm, explicit head_dim
//   olmo2   norms after attention and MLP inside the residual branch, q/k RMSNorm over the whole projection
//   gemma2  (1+w) RMSNorm before and after both branches, GeGLU, sqrt(d) embedding scale,
//           attention and final-logit soft-capping, query_pre_attn_scalar, sliding window on even layers

const gatedActivations: Record<string, 'swiglu' | 'geglu-tanh' | 'geglu-erf'> = {
  silu: 'swiglu',
  swish: 'swiglu',
  gelu_pytorch_tanh: 'geglu-tanh',
  gelu_new: 'geglu-tanh',
  gelu: 'geglu-erf',
};

function parseRopeScaling(config: ConfigFields): RopeScaling {
  const raw = config.raw.rope_scaling;
  if (raw === undefined || raw === null) return { type: 'none' };
  if (typeof raw !== 'object') config.refuse('rope_scaling', () => true, 'expected an object');
  const scaling = new ConfigFields(raw as Record<string, unknown>, `${config.source} rope_scaling`);
  const type = scaling.string('rope_type', typeof (raw as Record<string, unknown>).type === 'string' ? (raw as Record<string, string>).type : undefined);
  switch (type) {
    case 'default': return { type: 'none' };
    case 'linear': return { type: 'linear', factor: scaling.number('factor') };
    case 'llama3': return {
      type: 'llama3',
      factor: scaling.number('factor'),
      lowFreqFactor: scaling.number('low_freq_factor'),
      highFreqFactor: scaling.number('high_freq_factor'),
      originalMaxPositions: scaling.positiveInt('original_max_position_embeddings'),
    };
    default:
      config.refuse('rope_scaling', () => true, `rope_type "${type}" is not implemented (supported: default, linear, llama3)`);
      throw new Error('unreachable');
  }
}

function slidingWindowPattern(config: ConfigFields, modelType: string, layers: number): number[] {
  const windows = new Array<number>(layers).fill(0);
  const layerTypes = config.raw.layer_types;
  if (Array.isArray(layerTypes)) {
    // Newer transformers releases spell the pattern out per layer.
    if (layerTypes.length !== layers) config.refuse('layer_types', () => true, `has ${layerTypes.length} entries for ${layers} layers`);
    const window = config.positiveInt('sliding_window');
    layerTypes.forEach((type, i) => {
      if (type === 'sliding_attention') windows[i] = window;
      else if (type !== 'full_attention') config.refuse('layer_types', () => true, `entry ${i} is "${String(type)}"; expected sliding_attention or full_attention`);
    });
    return windows;
  }
  if (modelType === 'gemma2') {
    const window = config.positiveInt('sliding_window', 4096);
    for (let i = 0; i < layers; i += 2) windows[i] = window;
  } else if ((modelType === 'qwen2' || modelType === 'qwen3') && config.bool('use_sliding_window', false)) {
    const window = config.positiveInt('sliding_window');
    const from = config.int('max_window_layers', layers);
    for (let i = from; i < layers; i++) windows[i] = window;
  }
  return windows;
}

export function parseLlamaFamilyConfig(config: ConfigFields, modelType: 'llama' | 'qwen2' | 'qwen3' | 'olmo2' | 'gemma2'): ModelSpec {
  const hiddenSize = config.positiveInt('hidden_size');
  const heads = config.positiveInt('num_attention_heads');
  const kvHeads = config.positiveInt('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) config.refuse('num_key_value_heads', () => true, `num_attention_heads (${heads}) must be a multiple of it (${kvHeads})`);
  const defaultHeadDim = hiddenSize / heads;
  const headDim = config.has('head_dim') ? config.positiveInt('head_dim') : defaultHeadDim;
  if (!Number.isInteger(headDim)) config.refuse('num_attention_heads', () => true, `hidden_size (${hiddenSize}) must be divisible by it, or head_dim must be given`);
  const layers = config.positiveInt('num_hidden_layers');
  const isGemma = modelType === 'gemma2';
  const activationName = config.string(isGemma ? 'hidden_activation' : 'hidden_act', isGemma ? 'gelu_pytorch_tanh' : 'silu');
  const activation = gatedActivations[activationName];
  if (activation === undefined) config.refuse(isGemma ? 'hidden_activation' : 'hidden_act', () => true, `expected one of ${Object.keys(gatedActivations).join(', ')}`);
  const partialRotary = config.number('partial_rotary_factor', 1);
  const rotaryDim = Math.round(headDim * partialRotary);
  if (rotaryDim % 2 !== 0 || rotaryDim <= 0) config.refuse('partial_rotary_factor', () => true, `gives an odd or empty rotary dimension (${rotaryDim})`);
  const attentionBias = config.bool('attention_bias', modelType === 'qwen2');
  const isOlmo = modelType === 'olmo2';
  return {
    modelType,
    vocabSize: config.positiveInt('vocab_size'),
    hiddenSize, layers, heads, kvHeads, headDim,
    intermediateSize: config.positiveInt('intermediate_size'),
    maxPositions: config.positiveInt('max_position_embeddings', 2048),
    norm: { kind: 'rms', eps: config.number('rms_norm_eps', isGemma ? 1e-6 : 1e-5), weightOffset: isGemma ? 1 : 0 },
    positions: 'rope',
    rope: { theta: config.number('rope_theta', 10000), rotaryDim, scaling: parseRopeScaling(config) },
    blockLayout: isGemma ? 'sandwich' : isOlmo ? 'post-norm' : 'pre-norm',
    qkNorm: modelType === 'qwen3' ? 'per-head' : isOlmo ? 'full' : 'none',
    mlp: { kind: 'gated', activation: activation! },
    // Qwen2 has q/k/v biases but no o_proj bias; Llama's attention_bias covers all four.
    qkvBias: attentionBias,
    outputBias: modelType === 'qwen2' ? false : attentionBias,
    mlpBias: config.bool('mlp_bias', false),
    embeddingScale: isGemma ? Math.fround(Math.sqrt(hiddenSize)) : 1,
    attentionScale: isGemma ? 1 / Math.sqrt(config.number('query_pre_attn_scalar', headDim)) : 1 / Math.sqrt(headDim),
    attentionSoftCap: isGemma ? config.number('attn_logit_softcapping', 50) : 0,
    finalLogitSoftCap: isGemma ? config.number('final_logit_softcapping', 30) : 0,
    slidingWindow: slidingWindowPattern(config, modelType, layers),
    tiedEmbeddings: config.bool('tie_word_embeddings', isGemma),
    bosTokenId: config.firstTokenId('bos_token_id'),
    eosTokenIds: config.tokenIds('eos_token_id'),
    padTokenId: config.firstTokenId('pad_token_id'),
  };
}
