import type { CausalLm, LinearLayer } from '../model/causalLm.js';
import { type HookPointName, parseHookPoint } from '../model/hooks.js';
import type { BlockNames, LinearNames, NormNames } from '../model/weightLayout.js';
import type { Tensor } from '../tensor/index.js';

// Every linear layer of a model, with what it reads and what it writes. The
// space rules of the feature-constrained adapters (spaces.ts) are decided here,
// from the block layout, never from module names: "o_proj writes the residual
// stream" is true for Llama and false for OLMo-2, whose attention output is
// normalised before it is added.
//
// Positions along the residual stream are numbered so that they can be compared:
// blocks.L.pre = 2L, the stream between block L's attention and MLP branches =
// 2L + 1, blocks.L.post = 2L + 2 (the same stream as blocks.(L+1).pre).

export type LinearRole = 'query' | 'key' | 'value' | 'qkv' | 'attention-output' | 'gate' | 'up' | 'down';

/** The norm in front of a layer that reads the residual stream, with its tensors. */
export interface InputNorm {
  name: string;
  kind: 'rms' | 'layer';
  weight: Tensor;
  bias: Tensor | null;
  /** Added to the weight before scaling (Gemma's 1 + w). */
  weightOffset: number;
}

export interface LinearSite {
  /** The Hugging Face module name, e.g. model.layers.0.self_attn.o_proj. */
  name: string;
  layer: number;
  role: LinearRole;
  /** The model's own layer object (the one the forward hands to a LinearHook). */
  linear: LinearLayer;
  outFeatures: number;
  inFeatures: number;
  /** Set when the layer's input is the residual stream (possibly through a norm). */
  readsResidual: { position: number; norm: InputNorm | null } | null;
  /** Set when the layer's output is added to the residual stream as it is. */
  writesResidual: { position: number } | null;
  /** Words for the input and output spaces, for error messages. */
  inputSpace: string;
  outputSpace: string;
}

export function streamPosition(point: HookPointName, layers: number): number {
  const { layer, where } = parseHookPoint(point, layers);
  return where === 'pre' ? 2 * layer : 2 * layer + 2;
}

/** The hook point name(s) of a stream position, for messages. */
export function describePosition(position: number): string {
  if (position % 2 === 1) return `the stream between block ${(position - 1) / 2}'s attention and MLP`;
  const layer = position / 2;
  return layer === 0 ? 'blocks.0.pre' : `blocks.${layer - 1}.post (= blocks.${layer}.pre)`;
}

export function linearSites(model: CausalLm): LinearSite[] {
  const { spec } = model;
  const layers = new Map(model.linearLayers().map((l) => [l.name, l]));
  const bindNorm = (n: NormNames | null): InputNorm | null => {
    if (n === null) return null;
    return {
      name: n.name,
      kind: spec.norm.kind,
      weight: model.params.get(n.weight)!,
      bias: n.bias === null ? null : model.params.get(n.bias)!,
      weightOffset: spec.norm.weightOffset,
    };
  };
  const sites: LinearSite[] = [];
  for (const block of model.names.blocks) {
    const L = block.index;
    const attentionNorm = bindNorm(block.attentionInputNorm);
    const mlpNorm = bindNorm(block.mlpInputNorm);
    const add = (names: LinearNames | null, role: LinearRole) => {
      if (names === null) return;
      const linear = layers.get(names.name);
      if (linear === undefined) throw new Error(`linearSites: the model has no linear layer ${names.name}`);
      sites.push(describeSite(block, L, role, names, linear, attentionNorm, mlpNorm));
    };
    add(block.fusedQkv, 'qkv');
    add(block.query, 'query');
    add(block.key, 'key');
    add(block.value, 'value');
    add(block.attentionOutput, 'attention-output');
    add(block.gate, 'gate');
    add(block.up, 'up');
    add(block.down, 'down');
  }
  return sites;
}

function describeSite(
  block: BlockNames, L: number, role: LinearRole, names: LinearNames, linear: LinearLayer,
  attentionNorm: InputNorm | null, mlpNorm: InputNorm | null,
): LinearSite {
  const base = { name: names.name, layer: L, role, linear, outFeatures: names.out, inFeatures: names.in };
  const residualIn = (norm: InputNorm | null) => norm === null
    ? `the residual stream [${names.in}]`
    : `the residual stream normalised by ${norm.name} [${names.in}]`;
  const outputs: Record<string, string> = {
    query: `attention queries [${names.out}]`,
    key: `attention keys [${names.out}]`,
    value: `attention values [${names.out}]`,
    qkv: `fused queries, keys and values [${names.out}]`,
    gate: `the MLP's gate activations [${names.out}]`,
    up: `the MLP's hidden activations [${names.out}]`,
  };
  switch (role) {
    case 'query': case 'key': case 'value': case 'qkv':
      return { ...base, readsResidual: { position: 2 * L, norm: attentionNorm }, writesResidual: null, inputSpace: residualIn(attentionNorm), outputSpace: outputs[role] };
    case 'gate': case 'up':
      return { ...base, readsResidual: { position: 2 * L + 1, norm: mlpNorm }, writesResidual: null, inputSpace: residualIn(mlpNorm), outputSpace: outputs[role] };
    case 'attention-output': {
      const post = block.attentionOutputNorm;
      return {
        ...base, readsResidual: null,
        writesResidual: post === null ? { position: 2 * L + 1 } : null,
        inputSpace: `the attention heads' outputs [${names.in}]`,
        outputSpace: post === null ? `the residual stream [${names.out}]` : `the attention branch [${names.out}], normalised by ${post.name} before it is added to the residual stream`,
      };
    }
    case 'down': {
      const post = block.mlpOutputNorm;
      return {
        ...base, readsResidual: null,
        writesResidual: post === null ? { position: 2 * L + 2 } : null,
        inputSpace: `the MLP's hidden activations [${names.in}]`,
        outputSpace: post === null ? `the residual stream [${names.out}]` : `the MLP branch [${names.out}], normalised by ${post.name} before it is added to the residual stream`,
      };
    }
  }
}
