import type { ModelSpec } from './spec.js';

// Which tensors a model of a given spec has, under their Hugging Face names, and in
// which shapes. Loading checks a checkpoint against this list, random
// initialisation fills it, and saving writes it back: one list, so the three
// cannot drift apart. Shapes are ours: every matrix is [out, in]. GPT-2 stores its
// Conv1D matrices [in, out]; `storedTransposed` marks them for load and save.

export type ParameterRole = 'embedding' | 'matrix' | 'bias' | 'norm-weight' | 'norm-bias';

export interface ParameterSpec {
  name: string;
  shape: number[];
  role: ParameterRole;
  storedTransposed: boolean;
}

export interface LinearNames { name: string; weight: string; bias: string | null; out: number; in: number }
export interface NormNames { name: string; weight: string; bias: string | null; size: number }

export interface BlockNames {
  index: number;
  attentionInputNorm: NormNames | null;
  attentionOutputNorm: NormNames | null;
  mlpInputNorm: NormNames | null;
  mlpOutputNorm: NormNames | null;
  /** GPT-2's fused c_attn ([3d, d]); null when q, k and v are separate. */
  fusedQkv: LinearNames | null;
  query: LinearNames | null;
  key: LinearNames | null;
  value: LinearNames | null;
  queryNorm: NormNames | null;
  keyNorm: NormNames | null;
  attentionOutput: LinearNames;
  gate: LinearNames | null;
  up: LinearNames;
  down: LinearNames;
}

export interface ModelNames {
  tokenEmbedding: string;
  positionEmbedding: string | null;
  blocks: BlockNames[];
  finalNorm: NormNames;
  head: string | null;   // null when tied to the token embedding
  /** GPT-2 Conv1D modules, stored [in, out] on disk. */
  conv1dModules: ReadonlySet<string>;
}

function linear(name: string, out: number, inFeatures: number, bias: boolean): LinearNames {
  return { name, weight: `${name}.weight`, bias: bias ? `${name}.bias` : null, out, in: inFeatures };
}

function norm(name: string, size: number, withBias: boolean): NormNames {
  return { name, weight: `${name}.weight`, bias: withBias ? `${name}.bias` : null, size };
}

function gpt2Names(spec: ModelSpec): ModelNames {
  const d = spec.hiddenSize;
  const conv1dModules = new Set<string>();
  const conv = (name: string, out: number, inFeatures: number) => {
    conv1dModules.add(name);
    return linear(name, out, inFeatures, true);
  };
  const blocks = Array.from({ length: spec.layers }, (_, i): BlockNames => {
    const p = `transformer.h.${i}`;
    return {
      index: i,
      attentionInputNorm: norm(`${p}.ln_1`, d, true),
      attentionOutputNorm: null,
      mlpInputNorm: norm(`${p}.ln_2`, d, true),
      mlpOutputNorm: null,
      fusedQkv: conv(`${p}.attn.c_attn`, 3 * d, d),
      query: null, key: null, value: null, queryNorm: null, keyNorm: null,
      attentionOutput: conv(`${p}.attn.c_proj`, d, d),
      gate: null,
      up: conv(`${p}.mlp.c_fc`, spec.intermediateSize, d),
      down: conv(`${p}.mlp.c_proj`, d, spec.intermediateSize),
    };
  });
  return {
    tokenEmbedding: 'transformer.wte.weight',
    positionEmbedding: 'transformer.wpe.weight',
    blocks,
    finalNorm: norm('transformer.ln_f', d, true),
    head: null,
    conv1dModules,
  };
}

function llamaFamilyNames(spec: ModelSpec): ModelNames {
  const d = spec.hiddenSize;
  const qSize = spec.heads * spec.headDim;
  const kvSize = spec.kvHeads * spec.headDim;
  const layerNorm = spec.norm.kind === 'layer';
  const blocks = Array.from({ length: spec.layers }, (_, i): BlockNames => {
    const p = `model.layers.${i}`;
    const n = (suffix: string) => norm(`${p}.${suffix}`, d, layerNorm);
    const qkNormSize = spec.qkNorm === 'per-head' ? [spec.headDim, spec.headDim] : [qSize, kvSize];
    return {
      index: i,
      attentionInputNorm: spec.blockLayout === 'post-norm' ? null : n('input_layernorm'),
      // HF's "post_attention_layernorm" is the pre-MLP norm in Llama but a true post-norm in OLMo-2 and Gemma-2.
      attentionOutputNorm: spec.blockLayout === 'pre-norm' ? null : n('post_attention_layernorm'),
      mlpInputNorm: spec.blockLayout === 'pre-norm' ? n('post_attention_layernorm') : spec.blockLayout === 'sandwich' ? n('pre_feedforward_layernorm') : null,
      mlpOutputNorm: spec.blockLayout === 'pre-norm' ? null : n('post_feedforward_layernorm'),
      fusedQkv: null,
      query: linear(`${p}.self_attn.q_proj`, qSize, d, spec.qkvBias),
      key: linear(`${p}.self_attn.k_proj`, kvSize, d, spec.qkvBias),
      value: linear(`${p}.self_attn.v_proj`, kvSize, d, spec.qkvBias),
      queryNorm: spec.qkNorm === 'none' ? null : norm(`${p}.self_attn.q_norm`, qkNormSize[0], false),
      keyNorm: spec.qkNorm === 'none' ? null : norm(`${p}.self_attn.k_norm`, qkNormSize[1], false),
      attentionOutput: linear(`${p}.self_attn.o_proj`, d, qSize, spec.outputBias),
      gate: linear(`${p}.mlp.gate_proj`, spec.intermediateSize, d, spec.mlpBias),
      up: linear(`${p}.mlp.up_proj`, spec.intermediateSize, d, spec.mlpBias),
      down: linear(`${p}.mlp.down_proj`, d, spec.intermediateSize, spec.mlpBias),
    };
  });
  return {
    tokenEmbedding: 'model.embed_tokens.weight',
    positionEmbedding: null,
    blocks,
    finalNorm: norm('model.norm', d, layerNorm),
    head: spec.tiedEmbeddings ? null : 'lm_head.weight',
    conv1dModules: new Set(),
  };
}

export function modelNames(spec: ModelSpec): ModelNames {
  return spec.modelType === 'gpt2' ? gpt2Names(spec) : llamaFamilyNames(spec);
}

/** Every parameter of the model, in a stable order (embeddings, blocks, final norm, head). */
export function parameterSpecs(spec: ModelSpec): ParameterSpec[] {
  const names = modelNames(spec);
  const out: ParameterSpec[] = [];
  const add = (name: string, shape: number[], role: ParameterRole, storedTransposed = false) => out.push({ name, shape, role, storedTransposed });
  const addNorm = (n: NormNames | null) => {
    if (n === null) return;
    add(n.weight, [n.size], 'norm-weight');
    if (n.bias !== null) add(n.bias, [n.size], 'norm-bias');
  };
  const addLinear = (l: LinearNames | null) => {
    if (l === null) return;
    add(l.weight, [l.out, l.in], 'matrix', names.conv1dModules.has(l.name));
    if (l.bias !== null) add(l.bias, [l.out], 'bias');
  };
  add(names.tokenEmbedding, [spec.vocabSize, spec.hiddenSize], 'embedding');
  if (names.positionEmbedding !== null) add(names.positionEmbedding, [spec.maxPositions, spec.hiddenSize], 'embedding');
  for (const b of names.blocks) {
    addNorm(b.attentionInputNorm);
    addLinear(b.fusedQkv);
    addLinear(b.query);
    addLinear(b.key);
    addLinear(b.value);
    addNorm(b.queryNorm);
    addNorm(b.keyNorm);
    addLinear(b.attentionOutput);
    addNorm(b.attentionOutputNorm);
    addNorm(b.mlpInputNorm);
    addLinear(b.gate);
    addLinear(b.up);
    addLinear(b.down);
    addNorm(b.mlpOutputNorm);
  }
  addNorm(names.finalNorm);
  if (names.head !== null) add(names.head, [spec.vocabSize, spec.hiddenSize], 'matrix');
  return out;
}
