import { ModelSpec } from '../spec.js';
import { ConfigFields } from './configFields.js';

// GPT-2: LayerNorm, learned positions, fused c_attn, Conv1D weights stored
// [in, out] (transposed on load and save, see parameterLayout), GELU MLP, tied head.

const geluKinds: Record<string, 'gelu-tanh' | 'gelu-erf'> = {
  gelu_new: 'gelu-tanh',
  gelu_pytorch_tanh: 'gelu-tanh',
  gelu_fast: 'gelu-tanh',
  gelu: 'gelu-erf',
};

export function parseGpt2Config(config: ConfigFields): ModelSpec {
  const hiddenSize = config.positiveInt('n_embd');
  const heads = config.positiveInt('n_head');
  const activation = config.string('activation_function', 'gelu_new');
  const mlpActivation = geluKinds[activation];
  if (mlpActivation === undefined) {
    config.refuse('activation_function', () => true, `expected one of ${Object.keys(geluKinds).join(', ')}`);
  }
  config.refuse('scale_attn_by_inverse_layer_idx', (v) => v === true, 'per-layer attention scaling is not implemented');
  config.refuse('reorder_and_upcast_attn', (v) => v === true, 'only matters for float16 training; load with it off');
  config.refuse('add_cross_attention', (v) => v === true, 'cross-attention (encoder-decoder use) is not implemented');
  const layers = config.positiveInt('n_layer');
  const scaleWeights = config.bool('scale_attn_weights', true);
  const headDim = hiddenSize / heads;
  if (!Number.isInteger(headDim)) config.refuse('n_head', () => true, `n_embd (${hiddenSize}) must be divisible by n_head (${heads})`);
  const bos = config.firstTokenId('bos_token_id');
  return {
    modelType: 'gpt2',
    vocabSize: config.positiveInt('vocab_size'),
    hiddenSize, layers, heads, kvHeads: heads, headDim,
    intermediateSize: config.has('n_inner') ? config.positiveInt('n_inner') : 4 * hiddenSize,
    maxPositions: config.positiveInt('n_positions', 1024),
    norm: { kind: 'layer', eps: config.number('layer_norm_epsilon', 1e-5), weightOffset: 0 },
    positions: 'learned',
    rope: null,
    blockLayout: 'pre-norm',
    qkNorm: 'none',
    mlp: { kind: 'plain', activation: mlpActivation! },
    qkvBias: true, outputBias: true, mlpBias: true,
    embeddingScale: 1,
    attentionScale: scaleWeights ? 1 / Math.sqrt(headDim) : 1,
    attentionSoftCap: 0,
    finalLogitSoftCap: 0,
    slidingWindow: new Array(layers).fill(0),
    tiedEmbeddings: true,
    bosTokenId: bos,
    eosTokenIds: config.tokenIds('eos_token_id'),
    padTokenId: config.firstTokenId('pad_token_id'),
  };
}
