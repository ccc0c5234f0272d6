import { Random, Tensor } from '../../src/tensor/index.js';
import { parseModelConfig } from '../../src/model/architectures/index.js';
import type { RawConfig } from '../../src/model/architectures/configFields.js';
import { CausalLm } from '../../src/model/causalLm.js';
import { transpose2d } from '../../src/model/load.js';
import { parameterSpecs } from '../../src/model/weightLayout.js';

// Tiny configs for every supported architecture, each turning on the features
// that set it apart (GQA, biases, q/k norms, rope scaling, soft-caps, sliding
// windows), and random weights large enough that every term matters.

export const tinyConfigs: Record<string, RawConfig> = {
  gpt2: {
    model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: 61, n_embd: 16, n_head: 4, n_layer: 2, n_positions: 48,
    layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', bos_token_id: 0, eos_token_id: 1,
  },
  llama: {
    model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 61, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-5, rope_theta: 500, max_position_embeddings: 64,
    tie_word_embeddings: false, hidden_act: 'silu', bos_token_id: 0, eos_token_id: 1,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  },
  qwen2: {
    model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], vocab_size: 61, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 1, rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 64,
    tie_word_embeddings: true, hidden_act: 'silu', eos_token_id: 1,
  },
  qwen3: {
    model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], vocab_size: 61, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, rms_norm_eps: 1e-6, rope_theta: 1000000, max_position_embeddings: 64,
    tie_word_embeddings: false, hidden_act: 'silu', eos_token_id: 1,
  },
  olmo2: {
    model_type: 'olmo2', architectures: ['Olmo2ForCausalLM'], vocab_size: 61, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 4, rms_norm_eps: 1e-6, rope_theta: 500000, max_position_embeddings: 64,
    tie_word_embeddings: false, hidden_act: 'silu', eos_token_id: 1,
  },
  gemma2: {
    model_type: 'gemma2', architectures: ['Gemma2ForCausalLM'], vocab_size: 61, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 3,
    num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 64,
    hidden_activation: 'gelu_pytorch_tanh', query_pre_attn_scalar: 6, sliding_window: 3, attn_logit_softcapping: 5,
    final_logit_softcapping: 3, bos_token_id: 2, eos_token_id: 1,
  },
};

export interface RandomModel {
  model: CausalLm;
  /** The same weights as a Hugging Face checkpoint stores them (names, orientation). */
  hfTensors: Map<string, { shape: number[]; data: Float32Array }>;
}

export function randomModel(config: RawConfig, seed: number): RandomModel {
  const spec = parseModelConfig(config, `tiny ${String(config.model_type)} config`);
  const rng = new Random(seed);
  const params = new Map<string, Tensor>();
  const hfTensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const p of parameterSpecs(spec)) {
    const t = Tensor.randn(p.shape, rng, p.role === 'matrix' || p.role === 'embedding' ? 0.35 : 0.2);
    if (p.role === 'norm-weight' && spec.norm.weightOffset === 0) for (let i = 0; i < t.size; i++) t.data[i] += 1;
    params.set(p.name, Tensor.parameter(t, p.name));
    const data = Float32Array.from(t.data);
    hfTensors.set(p.name, p.storedTransposed
      ? { shape: [p.shape[1], p.shape[0]], data: transpose2d(data, p.shape[0], p.shape[1]) }
      : { shape: [...p.shape], data });
  }
  return { model: new CausalLm(spec, params), hfTensors };
}
