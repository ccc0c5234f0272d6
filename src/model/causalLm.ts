import {
  Random, Tape, Tensor, add, attention, contiguous, createRopeTable, embedding, gated, gelu, layerNorm, linear,
  reshape, rmsNorm, rope, scale, slice, softCap,
} from '../tensor/index.js';
import type { RopeTable } from '../tensor/index.js';
import { type ResidualHooks, hookPoint } from './hooks.js';
import type { KvCache } from './kvCache.js';
import { scaledRopeFrequencies } from './ropeScaling.js';
import type { ModelSpec } from './spec.js';
import { type BlockNames, type LinearNames, type ModelNames, type NormNames, modelNames, parameterSpecs } from './weightLayout.js';

// One decoder-only transformer for every supported architecture, written as a
// single readable forward pass. Architecture differences are switches in the
// spec (norm kind, block layout, q/k norm, gated MLP, soft-caps...), not
// subclasses, so a reader sees the whole computation in one place.

export interface LinearLayer { readonly name: string; readonly weight: Tensor; readonly bias: Tensor | null }
export interface NormLayer { readonly name: string; readonly weight: Tensor; readonly bias: Tensor | null }

/** Called after every linear layer: adapters (LoRA and friends) add their update here. */
export type LinearHook = (tape: Tape, layer: LinearLayer, input: Tensor, output: Tensor) => Tensor;

export interface ForwardOptions {
  /** Decode with this cache: the new tokens are appended to it. Inference only. */
  cache?: KvCache;
  /** Without a cache: per row, the number of left-padding tokens (see padBatch). */
  keyStart?: Int32Array;
  hooks?: ResidualHooks;
  linearHook?: LinearHook;
  /** Which positions get logits: all (default), the last of each row, or none. */
  logits?: 'all' | 'last' | 'none';
}

export interface ForwardResult {
  /** [batch, seq or 1, vocab], or null when logits: 'none'. */
  logits: Tensor | null;
  /** The final residual stream, [batch, seq, hidden], before the final norm. */
  hidden: Tensor;
}

interface Block {
  index: number;
  attentionInputNorm: NormLayer | null;
  attentionOutputNorm: NormLayer | null;
  mlpInputNorm: NormLayer | null;
  mlpOutputNorm: NormLayer | null;
  fusedQkv: LinearLayer | null;
  query: LinearLayer | null;
  key: LinearLayer | null;
  value: LinearLayer | null;
  queryNorm: NormLayer | null;
  keyNorm: NormLayer | null;
  attentionOutput: LinearLayer;
  gate: LinearLayer | null;
  up: LinearLayer;
  down: LinearLayer;
}

export class CausalLm {
  readonly names: ModelNames;
  readonly tokenEmbedding: Tensor;
  readonly positionEmbedding: Tensor | null;
  readonly finalNorm: NormLayer;
  readonly head: Tensor;
  private readonly blocks: Block[];
  private ropeTable: RopeTable | null = null;

  /** `params` maps every Hugging Face tensor name of parameterSpecs(spec) to a tensor in our [out, in] orientation. */
  constructor(readonly spec: ModelSpec, readonly params: ReadonlyMap<string, Tensor>) {
    for (const p of parameterSpecs(spec)) {
      const t = params.get(p.name);
      if (t === undefined) throw new RangeError(`CausalLm: missing parameter ${p.name} [${p.shape.join(', ')}]`);
      if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        throw new RangeError(`CausalLm: parameter ${p.name} has shape [${t.shape.join(', ')}], expected [${p.shape.join(', ')}]`);
      }
    }
    this.names = modelNames(spec);
    const get = (name: string) => params.get(name)!;
    const bindLinear = (l: LinearNames | null): LinearLayer | null => l === null ? null : { name: l.name, weight: get(l.weight), bias: l.bias === null ? null : get(l.bias) };
    const bindNorm = (n: NormNames | null): NormLayer | null => n === null ? null : { name: n.name, weight: get(n.weight), bias: n.bias === null ? null : get(n.bias) };
    this.tokenEmbedding = get(this.names.tokenEmbedding);
    this.positionEmbedding = this.names.positionEmbedding === null ? null : get(this.names.positionEmbedding);
    this.finalNorm = bindNorm(this.names.finalNorm)!;
    this.head = this.names.head === null ? this.tokenEmbedding : get(this.names.head);
    this.blocks = this.names.blocks.map((b: BlockNames): Block => ({
      index: b.index,
      attentionInputNorm: bindNorm(b.attentionInputNorm),
      attentionOutputNorm: bindNorm(b.attentionOutputNorm),
      mlpInputNorm: bindNorm(b.mlpInputNorm),
      mlpOutputNorm: bindNorm(b.mlpOutputNorm),
      fusedQkv: bindLinear(b.fusedQkv),
      query: bindLinear(b.query),
      key: bindLinear(b.key),
      value: bindLinear(b.value),
      queryNorm: bindNorm(b.queryNorm),
      keyNorm: bindNorm(b.keyNorm),
      attentionOutput: bindLinear(b.attentionOutput)!,
      gate: bindLinear(b.gate),
      up: bindLinear(b.up)!,
      down: bindLinear(b.down)!,
    }));
  }

  /** A model with freshly initialised weights (normal(0, std) matrices, unit norms, zero biases). */
  static random(spec: ModelSpec, seed: number, std = 0.02): CausalLm {
    const rng = new Random(seed);
    const params = new Map<string, Tensor>();
    for (const p of parameterSpecs(spec)) {
      let t: Tensor;
      if (p.role === 'norm-weight') t = Tensor.full(p.shape, spec.norm.weightOffset === 1 ? 0 : 1);
      else if (p.role === 'bias' || p.role === 'norm-bias') t = Tensor.zeros(p.shape);
      else t = Tensor.randn(p.shape, rng, std);
      params.set(p.name, Tensor.parameter(t, p.name));
    }
    return new CausalLm(spec, params);
  }

  /** Every parameter (the tied head counted once). */
  parameters(): Tensor[] {
    return [...this.params.values()];
  }

  /** The linear layers by Hugging Face module name, for adapters that target modules by pattern. */
  linearLayers(): LinearLayer[] {
    return this.blocks.flatMap((b) => [b.fusedQkv, b.query, b.key, b.value, b.attentionOutput, b.gate, b.up, b.down].filter((l): l is LinearLayer => l !== null));
  }

  /** ids: [batch * seq] token ids, row-major. */
  forward(tape: Tape, ids: Int32Array, batch: number, seq: number, options: ForwardOptions = {}): ForwardResult {
    const { spec } = this;
    if (!Number.isInteger(batch) || !Number.isInteger(seq) || batch < 1 || seq < 1 || ids.length !== batch * seq) {
      throw new RangeError(`forward: ${ids.length} ids do not form a [batch=${batch}, seq=${seq}] batch`);
    }
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= spec.vocabSize) throw new RangeError(`forward: token id ${ids[i]} at index ${i} is outside the vocabulary [0, ${spec.vocabSize})`);
    }
    const cache = options.cache;
    if (cache !== undefined) {
      if (cache.spec !== spec) throw new RangeError('forward: the KV cache was made for a different model');
      if (cache.batch !== batch) throw new RangeError(`forward: the KV cache holds ${cache.batch} rows, the input has ${batch}`);
      if (seq > cache.remaining) throw new RangeError(`forward: ${seq} tokens do not fit the KV cache (${cache.length} of ${cache.capacity} used)`);
      if (tape.tracks(...this.parameters())) throw new RangeError('forward: a KV cache is for inference; use new Tape({ grad: false }) or run without a cache to train');
    }
    const offset = cache?.length ?? 0;
    const keyStart = cache?.keyStart ?? options.keyStart ?? new Int32Array(batch);
    if (keyStart.length !== batch) throw new RangeError(`forward: keyStart has ${keyStart.length} entries for ${batch} rows`);
    const positions = new Int32Array(batch * seq);
    const clampedPositions = new Int32Array(batch * seq);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < seq; t++) {
        const p = offset + t - keyStart[b];
        positions[b * seq + t] = p;
        clampedPositions[b * seq + t] = Math.max(0, p);
      }
    }
    const lastPosition = offset + seq - 1;
    if (spec.positions === 'learned' && lastPosition >= spec.maxPositions) {
      throw new RangeError(`forward: position ${lastPosition} exceeds the ${spec.maxPositions} learned positions of this ${spec.modelType} model`);
    }
    const rope = spec.positions === 'rope' ? this.ropeTableFor(lastPosition + 1) : null;
    const anyPadding = keyStart.some((k) => k > 0);

    let x = embedding(tape, this.tokenEmbedding, ids, [batch, seq]);
    if (spec.embeddingScale !== 1) x = scale(tape, x, spec.embeddingScale);
    if (this.positionEmbedding !== null) x = add(tape, x, embedding(tape, this.positionEmbedding, clampedPositions, [batch, seq]));

    const context = { tape, batch, seq, positions };
    for (const block of this.blocks) {
      if (options.hooks) x = options.hooks.run(x, { ...context, point: hookPoint(block.index, 'pre'), layer: block.index });
      x = this.block(tape, block, x, batch, seq, clampedPositions, rope, options, anyPadding ? keyStart : null);
      if (options.hooks) x = options.hooks.run(x, { ...context, point: hookPoint(block.index, 'post'), layer: block.index });
    }
    if (cache !== undefined) cache.length += seq;

    const mode = options.logits ?? 'all';
    if (mode === 'none') return { logits: null, hidden: x };
    let last = mode === 'last' && seq > 1 ? contiguous(tape, slice(tape, x, 1, seq - 1, seq)) : x;
    last = this.norm(tape, this.finalNorm, last);
    let logits = linear(tape, last, this.head);
    if (spec.finalLogitSoftCap > 0) logits = softCap(tape, logits, spec.finalLogitSoftCap);
    return { logits, hidden: x };
  }

  private block(
    tape: Tape, block: Block, x: Tensor, batch: number, seq: number, positions: Int32Array,
    ropeTable: RopeTable | null, options: ForwardOptions, keyStart: Int32Array | null,
  ): Tensor {
    const { spec } = this;
    const { heads, kvHeads, headDim } = spec;
    const apply = (layer: LinearLayer, input: Tensor) => {
      const output = linear(tape, input, layer.weight, layer.bias);
      return options.linearHook ? options.linearHook(tape, layer, input, output) : output;
    };

    // Attention branch.
    const attentionInput = block.attentionInputNorm ? this.norm(tape, block.attentionInputNorm, x) : x;
    let q: Tensor;
    let k: Tensor;
    let v: Tensor;
    if (block.fusedQkv !== null) {
      const qkv = apply(block.fusedQkv, attentionInput);
      const d = spec.hiddenSize;
      q = contiguous(tape, slice(tape, qkv, 2, 0, d));
      k = contiguous(tape, slice(tape, qkv, 2, d, 2 * d));
      v = contiguous(tape, slice(tape, qkv, 2, 2 * d, 3 * d));
    } else {
      q = apply(block.query!, attentionInput);
      k = apply(block.key!, attentionInput);
      v = apply(block.value!, attentionInput);
    }
    if (spec.qkNorm === 'full') {
      q = this.norm(tape, block.queryNorm!, q);
      k = this.norm(tape, block.keyNorm!, k);
    }
    q = reshape(tape, q, [batch, seq, heads, headDim]);
    k = reshape(tape, k, [batch, seq, kvHeads, headDim]);
    v = reshape(tape, v, [batch, seq, kvHeads, headDim]);
    if (spec.qkNorm === 'per-head') {
      q = this.norm(tape, block.queryNorm!, q);
      k = this.norm(tape, block.keyNorm!, k);
    }
    if (ropeTable !== null) {
      q = rope(tape, q, ropeTable, positions);
      k = rope(tape, k, ropeTable, positions);
    }
    let keys = k;
    let values = v;
    const cache = options.cache;
    if (cache !== undefined) {
      cache.write(block.index, k, v);
      ({ keys, values } = cache.view(block.index, cache.length + seq));
    }
    const attended = attention(tape, q, keys, values, {
      scale: spec.attentionScale,
      softCap: spec.attentionSoftCap,
      window: spec.slidingWindow[block.index],
      causal: true,
      keyStart,
    });
    let attentionOut = apply(block.attentionOutput, reshape(tape, attended, [batch, seq, heads * headDim]));
    if (block.attentionOutputNorm) attentionOut = this.norm(tape, block.attentionOutputNorm, attentionOut);
    x = add(tape, x, attentionOut);

    // MLP branch.
    const mlpInput = block.mlpInputNorm ? this.norm(tape, block.mlpInputNorm, x) : x;
    let hidden: Tensor;
    if (spec.mlp.kind === 'gated') {
      hidden = gated(tape, spec.mlp.activation, apply(block.gate!, mlpInput), apply(block.up, mlpInput));
    } else {
      hidden = gelu(tape, apply(block.up, mlpInput), spec.mlp.activation === 'gelu-tanh' ? 'tanh' : 'erf');
    }
    let mlpOut = apply(block.down, hidden);
    if (block.mlpOutputNorm) mlpOut = this.norm(tape, block.mlpOutputNorm, mlpOut);
    return add(tape, x, mlpOut);
  }

  private norm(tape: Tape, layer: NormLayer, x: Tensor): Tensor {
    const { kind, eps, weightOffset } = this.spec.norm;
    return kind === 'layer'
      ? layerNorm(tape, x, layer.weight, layer.bias, eps)
      : rmsNorm(tape, x, layer.weight, { eps, weightOffset });
  }

  // The cos/sin table grows on demand (doubling), because Llama-3 style
  // max_position_embeddings (131072) would cost tens of MB up front.
  private ropeTableFor(positionsNeeded: number): RopeTable {
    if (this.ropeTable !== null && this.ropeTable.maxPosition >= positionsNeeded) return this.ropeTable;
    let size = Math.max(256, this.ropeTable?.maxPosition ?? 0);
    while (size < positionsNeeded) size *= 2;
    this.ropeTable = createRopeTable(size, scaledRopeFrequencies(this.spec));
    return this.ropeTable;
  }
}
