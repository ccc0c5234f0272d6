import { permuteRowsForInterleavedRope } from '../../io/gguf/llamaExport.js';
import { type GgufMetadataValue, type GgufTensorToWrite, writeGguf } from '../../io/gguf/writer.js';
import type { AdapterSet, NotMaterialised } from '../adapterSet.js';
import { type LinearRole, linearSites } from '../sites.js';
import { AdapterExportError, type ResidualSitePolicy, materialiseForExport } from './materialised.js';

// An adapter set as a llama.cpp LoRA adapter (llama-cli --lora FILE, or
// node-llama-cpp's createContext({ lora })), for a base model exported with
// exportLlamaGguf. What llama.cpp's loader checks and computes (src/llama-adapter.cpp,
// llama_adapter_lora_init_impl, and llm_graph_context::build_lora_mm):
// - general.type = "adapter", adapter.type = "lora", general.architecture equal
//   to the base model's ("llama"); adapter.lora.alpha is a float32.
// - For each base tensor W ("blk.N.attn_output.weight"), "W.lora_a" and "W.lora_b"
//   with ggml dims a = [in, r] and b = [r, out] (ne[0] innermost): row-major
//   that is A [r, in] and B [out, r], PEFT's orientation; the writer reverses our
//   row-major shapes into ggml dims.
// - Output: W x + scale · B (A x), scale = alpha / r with r = b's ne[0] (the
//   tensor's own rank), or 1 when alpha is 0, times the user's adapter scale.
//
// Decisions:
// - Names follow exportLlamaGguf: q_proj -> attn_q, k_proj -> attn_k, v_proj ->
//   attn_v, o_proj -> attn_output, gate_proj -> ffn_gate, up_proj -> ffn_up,
//   down_proj -> ffn_down.
// - exportLlamaGguf permutes the rows of q and k per head, from Hugging Face's
//   half-split rotary layout to llama.cpp's interleaved one. ΔW's rows are the
//   rows of B, so B of a q or k adapter gets the same permutation (A is untouched).
// - One alpha for the whole file, but each module has its own r and scaling s.
//   When s·r is the same for every module (e.g. one LoRA config everywhere) and a
//   float32 holds it exactly, alpha = s·r and B is written as trained. Otherwise
//   alpha = the largest rank R, and each B is multiplied by s·r / R, so that
//   alpha / r · B' = s · B for every module exactly.
// - Only Llama models: exportLlamaGguf exports no other architecture, so there
//   is no base file whose tensor names and layout this could promise to match.

export interface GgufLoraOptions extends ResidualSitePolicy {
  /** Tensor storage; F32 when absent. */
  type?: 'F32' | 'F16';
  /** general.name. */
  name?: string;
}

export interface GgufLoraModule {
  module: string;
  /** The base tensor it adapts, e.g. blk.0.attn_output.weight. */
  base: string;
  rank: number;
  /** Our scaling; the file's B carries scaling · rank / alpha of it when folded. */
  scaling: number;
  /** True for q and k: B's rows are in llama.cpp's interleaved rotary order. */
  permuted: boolean;
}

export interface GgufLoraAdapter {
  metadata: Array<[string, GgufMetadataValue]>;
  tensors: GgufTensorToWrite[];
  alpha: number;
  /** True when per-module scalings were multiplied into B (see above). */
  folded: boolean;
  modules: GgufLoraModule[];
  omitted: NotMaterialised[];
}

const GGUF_TENSOR: Partial<Record<LinearRole, string>> = {
  query: 'attn_q', key: 'attn_k', value: 'attn_v', 'attention-output': 'attn_output', gate: 'ffn_gate', up: 'ffn_up', down: 'ffn_down',
};

export function toGgufLora(set: AdapterSet, options: GgufLoraOptions = {}): GgufLoraAdapter {
  const { spec } = set.model;
  if (spec.modelType !== 'llama') {
    throw new AdapterExportError(`GGUF LoRA export: the base model is ${spec.modelType}; only Llama models are supported, because only they are exported to GGUF (exportLlamaGguf), and the adapter must match that file's tensor names and layout`);
  }
  const type = options.type ?? 'F32';
  if (type !== 'F32' && type !== 'F16') throw new AdapterExportError(`GGUF LoRA export: type must be F32 or F16, got ${String(type)}`);
  const { layers, omitted } = materialiseForExport(set, 'GGUF LoRA', options);
  const sites = new Map(linearSites(set.model).map((s) => [s.name, s]));

  const products = layers.map((l) => l.scaling * l.rank);
  const shared = products.every((p) => p === products[0]) && Math.fround(products[0]) === products[0] && products[0] > 0;
  const alpha = shared ? products[0] : Math.max(...layers.map((l) => l.rank));

  const modules: GgufLoraModule[] = [];
  const tensors: GgufTensorToWrite[] = [];
  for (const l of layers) {
    const site = sites.get(l.module)!;
    const target = GGUF_TENSOR[site.role];
    if (target === undefined) throw new AdapterExportError(`GGUF LoRA export: ${l.module} (${site.role}) has no tensor in llama.cpp's Llama layout`);
    const base = `blk.${site.layer}.${target}.weight`;
    let b = l.b;
    if (!shared) {
      const factor = (l.scaling * l.rank) / alpha;
      b = Float32Array.from(b, (v) => v * factor);
    }
    const heads = site.role === 'query' ? spec.heads : site.role === 'key' ? spec.kvHeads : null;
    if (heads !== null) {
      if (spec.rope === null || spec.rope.rotaryDim !== spec.headDim) {
        throw new AdapterExportError(`GGUF LoRA export: ${l.module}: the base export permutes q and k rows for a rotary embedding over the whole head; this model's rotary dimension is ${spec.rope?.rotaryDim ?? 'none'} of ${spec.headDim}`);
      }
      b = permuteRowsForInterleavedRope(b, l.outFeatures, l.rank, heads);
    }
    tensors.push(
      { name: `${base}.lora_a`, shape: [l.rank, l.inFeatures], data: l.a, type },
      { name: `${base}.lora_b`, shape: [l.outFeatures, l.rank], data: b, type },
    );
    modules.push({ module: l.module, base, rank: l.rank, scaling: l.scaling, permuted: heads !== null });
  }
  const metadata: Array<[string, GgufMetadataValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.type', { type: 'string', value: 'adapter' }],
    ['general.name', { type: 'string', value: options.name ?? 'imprint adapter' }],
    ['adapter.type', { type: 'string', value: 'lora' }],
    ['adapter.lora.alpha', { type: 'float32', value: alpha }],
  ];
  return { metadata, tensors, alpha, folded: !shared, modules, omitted };
}

/** Writes the adapter to `path` atomically. */
export function exportGgufLora(set: AdapterSet, path: string, options: GgufLoraOptions = {}): GgufLoraAdapter & { path: string } {
  const adapter = toGgufLora(set, options);
  writeGguf(path, adapter.metadata, adapter.tensors);
  return { ...adapter, path };
}
