// ModelSpec: the one normalised description of a decoder-only transformer that the
// forward pass, the weight layout, saving and export all read. Each supported
// Hugging Face `model_type` has a parser (architectures/*.ts) that turns its
// config.json into this shape, so the forward pass branches on features
// (norm kind, block layout, q/k norm...) rather than on architecture names.

export type NormKind = 'layer' | 'rms';

/** Where the norms sit around the attention and MLP branches of a block. */
export type BlockLayout =
  | 'pre-norm'   // x + f(norm(x)): GPT-2, Llama, Qwen
  | 'post-norm'  // x + norm(f(x)): OLMo-2 (norm inside the residual branch)
  | 'sandwich';  // x + postNorm(f(preNorm(x))): Gemma-2

export type QkNorm = 'none' | 'per-head' | 'full';

export type MlpKind =
  | { kind: 'plain'; activation: 'gelu-tanh' | 'gelu-erf' }
  | { kind: 'gated'; activation: 'swiglu' | 'geglu-tanh' | 'geglu-erf' };

export type RopeScaling =
  | { type: 'none' }
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface ModelSpec {
  /** The Hugging Face model_type this spec came from (gpt2, llama, qwen2, qwen3, olmo2, gemma2). */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositions: number;
  norm: { kind: NormKind; eps: number; weightOffset: number };
  positions: 'learned' | 'rope';
  rope: { theta: number; rotaryDim: number; scaling: RopeScaling } | null;
  blockLayout: BlockLayout;
  qkNorm: QkNorm;
  mlp: MlpKind;
  /** q/k/v projection biases (GPT-2, Qwen2, Llama with attention_bias). */
  qkvBias: boolean;
  outputBias: boolean;
  mlpBias: boolean;
  /** Multiplies the token embeddings (Gemma: sqrt(hidden)). */
  embeddingScale: number;
  attentionScale: number;
  attentionSoftCap: number;
  finalLogitSoftCap: number;
  /** Per layer: 0 = full attention, else the sliding-window size. */
  slidingWindow: number[];
  tiedEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
}

export class ModelConfigError extends Error {
  constructor(readonly source: string, detail: string) {
    super(`${source}: ${detail}`);
    this.name = 'ModelConfigError';
  }
}
