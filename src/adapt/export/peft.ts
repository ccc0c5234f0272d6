import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { type FloatDtype, type TensorToWrite, writeSafetensors } from '../../io/safetensors.js';
import type { AdapterSet, NotMaterialised } from '../adapterSet.js';
import { AdapterExportError, type ResidualSitePolicy, materialiseForExport } from './materialised.js';

// An adapter set as a Hugging Face PEFT LoRA adapter: adapter_config.json and
// adapter_model.safetensors, loadable with PeftModel.from_pretrained(base, dir).
//
// Decisions, and why:
// - Every module keeps its own rank and scaling: r = the materialised rank and
//   lora_alpha = scaling · r (use_rslora false, so PEFT's scaling alpha / r is
//   ours). The most common r and alpha are the config's defaults; modules that
//   differ go in rank_pattern / alpha_pattern under their full module name, which
//   PEFT matches exactly. B is written as trained (not rescaled), so training it
//   further in PEFT sees the same gradient scale as here. Where materialise()
//   stacked an FC adapter and its residual adapter on one module, their scalings
//   are already folded into B and that module's scaling is 1 (alpha = r).
// - target_modules lists full module names, so PEFT adapts exactly the modules
//   that have tensors (short names like "o_proj" would also wrap layers the set
//   leaves alone).
// - Tensors: base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight
//   [out, r], as PEFT's state dict names them (adapter name stripped).
// - GPT-2's layers are transformers Conv1D (weight stored [in, out]): PEFT's
//   lora_A / lora_B are plain Linear layers there too, so their shapes do not
//   change; only fan_in_fan_out must be true (PEFT uses it when merging). A set
//   that mixes Conv1D and Linear modules cannot say that with one flag and is refused.
// - Fixed factors (an FC adapter's U or E) are multiplied into B or A: PEFT has
//   no frozen factor, so training the export further in PEFT is unconstrained.
// - lora_dropout is the set's dropout when every adapter agrees, else 0 (PEFT
//   has one value; dropout only matters for training).

export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
export const PEFT_PREFIX = 'base_model.model.';

export interface PeftLoraConfig {
  peft_type: 'LORA';
  task_type: 'CAUSAL_LM';
  base_model_name_or_path: string | null;
  revision: null;
  inference_mode: boolean;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[];
  fan_in_fan_out: boolean;
  bias: 'none';
  use_rslora: boolean;
  use_dora: boolean;
  init_lora_weights: boolean;
  modules_to_save: null;
  layers_to_transform: null;
  layers_pattern: null;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
}

export interface PeftExportOptions extends ResidualSitePolicy {
  /** base_model_name_or_path (a hub id or the base model's directory); null when absent. */
  baseModel?: string;
  /** Stored tensor format; F32 when absent. */
  dtype?: FloatDtype;
}

export interface PeftModuleReport {
  module: string;
  rank: number;
  alpha: number;
  scaling: number;
  adapters: string[];
}

export interface PeftAdapter {
  config: PeftLoraConfig;
  tensors: TensorToWrite[];
  modules: PeftModuleReport[];
  /** Residual-site adapters left out (only with residualSites: 'omit'). */
  omitted: NotMaterialised[];
}

export function peftTensorName(module: string, factor: 'A' | 'B'): string {
  return `${PEFT_PREFIX}${module}.lora_${factor}.weight`;
}

export function toPeft(set: AdapterSet, options: PeftExportOptions = {}): PeftAdapter {
  const { layers, omitted } = materialiseForExport(set, 'PEFT', options);
  const conv1d = set.model.names.conv1dModules;
  const convCount = layers.filter((l) => conv1d.has(l.module)).length;
  if (convCount > 0 && convCount < layers.length) {
    throw new AdapterExportError(`PEFT export: ${convCount} of the ${layers.length} adapted modules are Conv1D and the others Linear; PEFT's fan_in_fan_out is one flag for all of them`);
  }
  const modules = layers.map((l): PeftModuleReport => ({ module: l.module, rank: l.rank, alpha: l.scaling * l.rank, scaling: l.scaling, adapters: l.adapters }));
  const r = mostCommon(modules.map((m) => m.rank));
  const alpha = mostCommon(modules.map((m) => m.alpha));
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const m of modules) {
    if (m.rank !== r) rankPattern[m.module] = m.rank;
    if (m.alpha !== alpha) alphaPattern[m.module] = m.alpha;
  }
  const dropouts = new Set(set.linear.map((a) => a.dropout));
  const config: PeftLoraConfig = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: options.baseModel ?? null,
    revision: null,
    inference_mode: true,
    r,
    lora_alpha: alpha,
    lora_dropout: dropouts.size === 1 ? [...dropouts][0] : 0,
    target_modules: modules.map((m) => m.module),
    fan_in_fan_out: convCount > 0,
    bias: 'none',
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
  };
  const dtype = options.dtype ?? 'F32';
  const tensors = layers.flatMap((l): TensorToWrite[] => [
    { name: peftTensorName(l.module, 'A'), shape: [l.rank, l.inFeatures], data: l.a, dtype },
    { name: peftTensorName(l.module, 'B'), shape: [l.outFeatures, l.rank], data: l.b, dtype },
  ]);
  return { config, tensors, modules, omitted };
}

/** Writes adapter_config.json and adapter_model.safetensors into `dir` (created if needed), each file atomically. */
export function writePeft(dir: string, adapter: PeftAdapter): { configPath: string; weightsPath: string } {
  mkdirSync(dir, { recursive: true });
  const weightsPath = join(dir, PEFT_WEIGHTS_FILE);
  const configPath = join(dir, PEFT_CONFIG_FILE);
  // {"format": "pt"} is what PEFT's own save writes; transformers checks it.
  writeSafetensors(weightsPath, adapter.tensors, { format: 'pt', producer: 'imprint' });
  writeFileAtomic(configPath, [new TextEncoder().encode(`${JSON.stringify(adapter.config, null, 2)}\n`)]);
  return { configPath, weightsPath };
}

export function exportPeft(set: AdapterSet, dir: string, options: PeftExportOptions = {}): PeftAdapter & { configPath: string; weightsPath: string } {
  const adapter = toPeft(set, options);
  return { ...adapter, ...writePeft(dir, adapter) };
}

/** The value that occurs most often; the first of them on a tie. */
function mostCommon(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0];
  for (const v of values) if (counts.get(v)! > counts.get(best)!) best = v;
  return best;
}
