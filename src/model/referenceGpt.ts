import {
  AdamW, Random, Tape, Tensor, add, attention, clipGradNorm, crossEntropy, embedding, gelu, layerNorm, linear, reshape,
} from '../tensor/index.js';

// A pre-LayerNorm GPT in the nanoGPT mould: learned positions, tied embeddings,
// GELU MLP. It is the reference training configuration of `imprint perf` (vocab
// 4096, d_model 256, 4 layers, 4 heads, seq 128, batch 8) and a readable example
// of building a model from the tensor ops.

export interface GptConfig {
  vocabSize: number;
  contextLength: number;
  dModel: number;
  layers: number;
  heads: number;
  mlpRatio: number;
  layerNormEps: number;
}

export const referenceGptConfig: GptConfig = {
  vocabSize: 4096, contextLength: 128, dModel: 256, layers: 4, heads: 4, mlpRatio: 4, layerNormEps: 1e-5,
};

interface Block {
  ln1Weight: Tensor; ln1Bias: Tensor;
  query: Tensor; queryBias: Tensor;
  key: Tensor; keyBias: Tensor;
  value: Tensor; valueBias: Tensor;
  output: Tensor; outputBias: Tensor;
  ln2Weight: Tensor; ln2Bias: Tensor;
  fc: Tensor; fcBias: Tensor;
  proj: Tensor; projBias: Tensor;
}

export class ReferenceGpt {
  readonly tokenEmbedding: Tensor;
  readonly positionEmbedding: Tensor;
  readonly blocks: Block[];
  readonly lnFinalWeight: Tensor;
  readonly lnFinalBias: Tensor;

  constructor(readonly config: GptConfig, seed: number) {
    const { vocabSize, contextLength, dModel, layers, heads, mlpRatio } = config;
    if (dModel % heads !== 0) throw new RangeError(`GptConfig: dModel (${dModel}) must be divisible by heads (${heads})`);
    const rng = new Random(seed);
    const std = 0.02;
    const residualStd = std / Math.sqrt(2 * layers);
    const param = (shape: number[], name: string, s = std) => Tensor.parameter(Tensor.randn(shape, rng, s), name);
    const ones = (n: number, name: string) => Tensor.parameter(Tensor.full([n], 1), name);
    const zeros = (n: number, name: string) => Tensor.parameter(Tensor.zeros([n]), name);
    this.tokenEmbedding = param([vocabSize, dModel], 'wte');
    this.positionEmbedding = param([contextLength, dModel], 'wpe', 0.01);
    const hidden = mlpRatio * dModel;
    this.blocks = Array.from({ length: layers }, (_, i): Block => ({
      ln1Weight: ones(dModel, `h.${i}.ln_1.weight`), ln1Bias: zeros(dModel, `h.${i}.ln_1.bias`),
      query: param([dModel, dModel], `h.${i}.attn.q.weight`), queryBias: zeros(dModel, `h.${i}.attn.q.bias`),
      key: param([dModel, dModel], `h.${i}.attn.k.weight`), keyBias: zeros(dModel, `h.${i}.attn.k.bias`),
      value: param([dModel, dModel], `h.${i}.attn.v.weight`), valueBias: zeros(dModel, `h.${i}.attn.v.bias`),
      output: param([dModel, dModel], `h.${i}.attn.c_proj.weight`, residualStd), outputBias: zeros(dModel, `h.${i}.attn.c_proj.bias`),
      ln2Weight: ones(dModel, `h.${i}.ln_2.weight`), ln2Bias: zeros(dModel, `h.${i}.ln_2.bias`),
      fc: param([hidden, dModel], `h.${i}.mlp.c_fc.weight`), fcBias: zeros(hidden, `h.${i}.mlp.c_fc.bias`),
      proj: param([dModel, hidden], `h.${i}.mlp.c_proj.weight`, residualStd), projBias: zeros(dModel, `h.${i}.mlp.c_proj.bias`),
    }));
    this.lnFinalWeight = ones(dModel, 'ln_f.weight');
    this.lnFinalBias = zeros(dModel, 'ln_f.bias');
  }

  parameters(): Tensor[] {
    return [
      this.tokenEmbedding, this.positionEmbedding,
      ...this.blocks.flatMap((b) => Object.values(b) as Tensor[]),
      this.lnFinalWeight, this.lnFinalBias,
    ];
  }

  /** Logits [batch, seq, vocab] for token ids [batch * seq]. */
  logits(tape: Tape, ids: Int32Array, batch: number, seq: number): Tensor {
    const { dModel, heads, layerNormEps: eps, contextLength } = this.config;
    if (seq > contextLength) throw new RangeError(`ReferenceGpt: sequence length ${seq} exceeds the context length ${contextLength}`);
    const positions = Int32Array.from({ length: seq }, (_, i) => i);
    let x = add(tape, embedding(tape, this.tokenEmbedding, ids, [batch, seq]), embedding(tape, this.positionEmbedding, positions, [seq]));
    const headDim = dModel / heads;
    for (const b of this.blocks) {
      const h = layerNorm(tape, x, b.ln1Weight, b.ln1Bias, eps);
      const q = reshape(tape, linear(tape, h, b.query, b.queryBias), [batch, seq, heads, headDim]);
      const k = reshape(tape, linear(tape, h, b.key, b.keyBias), [batch, seq, heads, headDim]);
      const v = reshape(tape, linear(tape, h, b.value, b.valueBias), [batch, seq, heads, headDim]);
      const attended = reshape(tape, attention(tape, q, k, v, { causal: true }), [batch, seq, dModel]);
      x = add(tape, x, linear(tape, attended, b.output, b.outputBias));
      const h2 = layerNorm(tape, x, b.ln2Weight, b.ln2Bias, eps);
      x = add(tape, x, linear(tape, gelu(tape, linear(tape, h2, b.fc, b.fcBias), 'tanh'), b.proj, b.projBias));
    }
    x = layerNorm(tape, x, this.lnFinalWeight, this.lnFinalBias, eps);
    return linear(tape, x, this.tokenEmbedding);
  }

  /** Mean next-token cross-entropy. */
  loss(tape: Tape, ids: Int32Array, targets: Int32Array, batch: number, seq: number): Tensor {
    return crossEntropy(tape, this.logits(tape, ids, batch, seq), targets);
  }
}

/** One optimiser step on a batch (clipped at global norm `maxGradNorm`); returns the loss. The tape is released afterwards. */
export function trainStep(model: ReferenceGpt, optimiser: AdamW, ids: Int32Array, targets: Int32Array, batch: number, seq: number, maxGradNorm = 1): number {
  const tape = new Tape();
  try {
    optimiser.zeroGrad();
    const loss = model.loss(tape, ids, targets, batch, seq);
    const value = loss.item();
    tape.backward(loss);
    clipGradNorm(model.parameters(), maxGradNorm);
    optimiser.step();
    return value;
  } finally {
    tape.release();
  }
}
