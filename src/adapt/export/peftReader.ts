import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsFile } from '../../io/safetensors.js';
import type { CausalLm } from '../../model/causalLm.js';
import { AdapterSet } from '../adapterSet.js';
import type { AdapterSetConfig, LoraSpec } from '../config.js';
import { seedFor } from '../matrices.js';
import { linearSites } from '../sites.js';
import { ADAPTER_STATE_FORMAT, ADAPTER_STATE_VERSION, type AdapterSetState, type LinearAdapterState } from '../state.js';
import { PEFT_CONFIG_FILE, PEFT_PREFIX, PEFT_WEIGHTS_FILE } from './peft.js';

// Reads a PEFT LoRA adapter (ours, or one trained elsewhere) as a set of plain
// LoRA adapters on a loaded model, checking every tensor against the model.
// Per module, r and lora_alpha come from rank_pattern / alpha_pattern when a key
// matches the module name the way PEFT matches it (the key equals the name or
// is a regular expression matching a dot-separated suffix of it), else from r
// and lora_alpha; the scaling is alpha / r, or alpha / sqrt(r) with use_rslora.
// What a plain LoRA cannot compute is refused: DoRA, trained biases,
// modules_to_save, embedding LoRA.

export class PeftFormatError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'PeftFormatError';
  }
}

interface ModuleConfig { rank: number; alpha: number; rsLora: boolean; dropout: number }

const TENSOR_NAME = /^base_model\.model\.(.+)\.lora_(A|B)\.weight$/;

export function readPeftState(dir: string, model: CausalLm): AdapterSetState {
  const configPath = join(dir, PEFT_CONFIG_FILE);
  const weightsPath = join(dir, PEFT_WEIGHTS_FILE);
  if (!existsSync(configPath)) throw new PeftFormatError(configPath, `not found: a PEFT adapter directory holds ${PEFT_CONFIG_FILE} and ${PEFT_WEIGHTS_FILE}`);
  if (!existsSync(weightsPath)) {
    const binPath = join(dir, 'adapter_model.bin');
    throw new PeftFormatError(weightsPath, existsSync(binPath) ? 'not found; only adapter_model.bin (a pickle) is there, which is not read: save the adapter with safe_serialization' : 'not found');
  }
  const configFor = parseConfig(configPath);
  const sites = new Map(linearSites(model).map((s) => [s.name, s]));
  const file = SafetensorsFile.open(weightsPath);
  try {
    const pairs = new Map<string, { A?: string; B?: string }>();
    for (const name of file.entries.keys()) {
      const match = TENSOR_NAME.exec(name);
      if (match === null) throw new PeftFormatError(weightsPath, `tensor "${name}" is not a LoRA factor; expected names like ${PEFT_PREFIX}model.layers.0.self_attn.o_proj.lora_A.weight (${unsupportedHint(name)})`);
      const [, module, factor] = match;
      if (!sites.has(module)) {
        const example = [...sites.keys()][0];
        throw new PeftFormatError(weightsPath, `tensor "${name}" adapts ${module}, which is not a linear layer of this ${model.spec.modelType} model with ${model.spec.layers} layers (its linear layers are named like ${example})`);
      }
      const pair = pairs.get(module) ?? {};
      pair[factor as 'A' | 'B'] = name;
      pairs.set(module, pair);
    }
    if (pairs.size === 0) throw new PeftFormatError(weightsPath, 'holds no LoRA tensors');
    const tensors = new Map<string, Float32Array>();
    const linear: LinearAdapterState[] = [];
    const specs = new Map<string, LoraSpec>();
    // In the model's layer order, so the set is the same whatever order the file lists tensors in.
    for (const site of sites.values()) {
      const pair = pairs.get(site.name);
      if (pair === undefined) continue;
      const module = site.name;
      if (pair.A === undefined || pair.B === undefined) {
        throw new PeftFormatError(weightsPath, `${module} has ${pair.A === undefined ? 'lora_B but no lora_A' : 'lora_A but no lora_B'}; both are needed`);
      }
      const { rank, alpha, rsLora, dropout } = configFor(module);
      const expectShape = (name: string, shape: number[], what: string) => {
        const got = file.entries.get(name)!.shape;
        if (got.length !== 2 || got[0] !== shape[0] || got[1] !== shape[1]) {
          throw new PeftFormatError(weightsPath, `tensor "${name}" has shape [${got.join(', ')}], expected [${shape.join(', ')}] (${what})`);
        }
      };
      const rankSource = `r = ${rank} for ${module} in ${PEFT_CONFIG_FILE}`;
      expectShape(pair.A, [rank, site.inFeatures], `[r, in]: ${rankSource}, and ${module} reads ${site.inFeatures} values`);
      expectShape(pair.B, [site.outFeatures, rank], `[out, r]: ${module} writes ${site.outFeatures} values, and ${rankSource}`);
      const name = `${module}.lora`;
      const a = { name: `${name}.lora_A`, shape: [rank, site.inFeatures] };
      const b = { name: `${name}.lora_B`, shape: [site.outFeatures, rank] };
      tensors.set(a.name, file.readFloat32(pair.A));
      tensors.set(b.name, file.readFloat32(pair.B));
      linear.push({
        name, kind: 'lora', role: 'main', module,
        scaling: rsLora ? alpha / Math.sqrt(rank) : alpha / rank,
        dropout, seed: seedFor(0, name),
        factors: [{ ...a, factor: 'lora_A', trainable: true }, { ...b, factor: 'lora_B', trainable: true }],
        projection: null,
      });
      // One config entry per (r, alpha), so AdapterSet.create(model, config) rebuilds the same layout.
      const key = `${rank}:${alpha}:${rsLora}:${dropout}`;
      const spec = specs.get(key) ?? { kind: 'lora', target: { modules: [] }, rank, alpha, rsLora, dropout };
      (spec.target.modules as string[]).push(module);
      specs.set(key, spec);
    }
    const spec: AdapterSetConfig = { seed: 0, adapters: [...specs.values()] };
    return {
      config: {
        format: ADAPTER_STATE_FORMAT, version: ADAPTER_STATE_VERSION,
        model: { modelType: model.spec.modelType, hiddenSize: model.spec.hiddenSize, layers: model.spec.layers },
        spec, features: null, linear, residualSites: [],
      },
      tensors,
    };
  } finally {
    file.close();
  }
}

/** A PEFT LoRA adapter as an AdapterSet of plain LoRA adapters on `model`. */
export function readPeft(dir: string, model: CausalLm): AdapterSet {
  return AdapterSet.fromState(model, readPeftState(dir, model));
}

function parseConfig(path: string): (module: string) => ModuleConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PeftFormatError(path, `is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PeftFormatError(path, 'must hold a JSON object');
  const c = raw as Record<string, unknown>;
  const fail = (field: string, detail: string): never => { throw new PeftFormatError(path, `${field}: ${detail}`); };
  if (c.peft_type !== 'LORA') fail('peft_type', `expected "LORA", got ${JSON.stringify(c.peft_type)}`);
  if (c.use_dora === true) fail('use_dora', 'DoRA adapters rescale each column of the merged weight, which a plain LoRA cannot compute');
  if (c.bias !== undefined && c.bias !== null && c.bias !== 'none') fail('bias', `expected "none" (trained biases are not read), got ${JSON.stringify(c.bias)}`);
  if (Array.isArray(c.modules_to_save) && c.modules_to_save.length > 0) fail('modules_to_save', `fully trained modules (${c.modules_to_save.join(', ')}) are not a LoRA and are not read`);
  const positiveInt = (v: unknown, field: string) => {
    if (!Number.isSafeInteger(v) || (v as number) < 1) fail(field, `expected a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const positiveNumber = (v: unknown, field: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(field, `expected a positive number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const r = positiveInt(c.r, 'r');
  const alpha = positiveNumber(c.lora_alpha ?? 8, 'lora_alpha');
  const rsLora = c.use_rslora ?? false;
  if (typeof rsLora !== 'boolean') fail('use_rslora', `expected true or false, got ${JSON.stringify(rsLora)}`);
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) fail('lora_dropout', `expected a number in [0, 1), got ${JSON.stringify(dropout)}`);
  const pattern = (field: string, check: (v: unknown, where: string) => number): Array<[string, number]> => {
    const p = c[field] ?? {};
    if (typeof p !== 'object' || p === null || Array.isArray(p)) fail(field, `expected an object of module pattern -> value, got ${JSON.stringify(p)}`);
    return Object.entries(p as Record<string, unknown>).map(([key, v]) => [key, check(v, `${field}["${key}"]`)]);
  };
  const rankPattern = pattern('rank_pattern', positiveInt);
  const alphaPattern = pattern('alpha_pattern', positiveNumber);
  return (module) => ({
    rank: patternValue(rankPattern, module) ?? r,
    alpha: patternValue(alphaPattern, module) ?? alpha,
    rsLora: rsLora as boolean,
    dropout: dropout as number,
  });
}

/** PEFT's rule: the first key equal to the module name or matching a dot-separated suffix of it as a regular expression. */
function patternValue(pattern: Array<[string, number]>, module: string): number | undefined {
  for (const [key, value] of pattern) {
    if (key === module) return value;
    let regex: RegExp | null = null;
    try { regex = new RegExp(`^(.*\\.)?(${key})$`); } catch { /* not a regular expression: only an exact name matches */ }
    if (regex?.test(module) === true || module.endsWith(`.${key}`)) return value;
  }
  return undefined;
}

function unsupportedHint(name: string): string {
  if (name.includes('lora_magnitude_vector')) return 'DoRA magnitudes are not supported';
  if (name.includes('lora_embedding_')) return 'LoRA on embeddings is not supported';
  if (name.includes('modules_to_save')) return 'modules_to_save are not supported';
  if (name.endsWith('.bias')) return 'trained biases are not supported';
  if (!name.startsWith(PEFT_PREFIX)) return `PEFT names start with "${PEFT_PREFIX}"`;
  return 'only lora_A.weight and lora_B.weight are read';
}
