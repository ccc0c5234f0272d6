import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { CheckpointFormatError } from '../../io/errors.js';
import { SafetensorsFile, writeSafetensors } from '../../io/safetensors.js';
import type { SaeArchitecture, SaeConfig, SaeNormalization } from './config.js';
import { SparseAutoencoder, type SaeWeights } from './sparseAutoencoder.js';

// SAELens' on-disk format: a directory with cfg.json and sae_weights.safetensors
// (W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc [d_sae], b_dec [d_in], and
// threshold [d_sae] for JumpReLU).
//
// cfg.json comes in two layouts. SAELens 6 keeps the SAE's own fields at the top
// (architecture, d_in, d_sae, k, apply_b_dec_to_input, normalize_activations,
// dtype) and where it reads in "metadata" (model_name, hook_name, ...). Earlier
// versions put hook_name (or hook_point) and model_name at the top, call ReLU SAEs
// 'standard', and give TopK's k as activation_fn_kwargs.k, sometimes with
// architecture 'standard' and activation_fn_str 'topk'. The loader reads both;
// the writer writes the 6.x layout plus the older top-level fields, so either
// generation of SAELens can load it.

export const SAE_LENS_CONFIG_FILE = 'cfg.json';
export const SAE_LENS_WEIGHTS_FILE = 'sae_weights.safetensors';
// The cfg.json layout version we write (SAELens reads metadata only from 6.0 on).
const WRITTEN_FORMAT_VERSION = '6.0.0';

export interface SaeLensLoadOptions {
  /**
   * For normalize_activations 'expected_average_only_in': the dataset-wide factor
   * SAELens multiplies inputs by (published beside the SAE, not in cfg.json). It is
   * folded into the weights; without it such an SAE cannot be loaded faithfully.
   */
  normScalingFactor?: number;
}

type Json = Record<string, unknown>;

export function loadSaeLens(directory: string, options: SaeLensLoadOptions = {}): SparseAutoencoder {
  const cfgPath = join(directory, SAE_LENS_CONFIG_FILE);
  const { config, foldFactor } = parseSaeLensConfig(readJson(cfgPath), cfgPath, options);
  const weightsPath = join(directory, SAE_LENS_WEIGHTS_FILE);
  const weights = readSaeLensWeights(weightsPath, config);
  if (foldFactor !== 1) foldInputScale(weights, foldFactor);
  return new SparseAutoencoder(config, weights);
}

export function saveSaeLens(sae: SparseAutoencoder, directory: string): void {
  mkdirSync(directory, { recursive: true });
  const w = sae.weights();
  const { dIn, dSae } = sae.config;
  const tensors = [
    { name: 'W_enc', shape: [dIn, dSae], data: w.encoderWeight },
    { name: 'W_dec', shape: [dSae, dIn], data: w.decoderWeight },
    { name: 'b_enc', shape: [dSae], data: w.encoderBias },
    { name: 'b_dec', shape: [dIn], data: w.decoderBias },
  ];
  if (w.threshold !== undefined) tensors.push({ name: 'threshold', shape: [dSae], data: w.threshold });
  writeSafetensors(join(directory, SAE_LENS_WEIGHTS_FILE), tensors);
  const json = JSON.stringify(saeLensConfigJson(sae.config), null, 2);
  writeFileAtomic(join(directory, SAE_LENS_CONFIG_FILE), [new TextEncoder().encode(`${json}\n`)]);
}

/** The cfg.json object saveSaeLens writes. */
export function saeLensConfigJson(config: SaeConfig): Json {
  const architecture = config.architecture === 'relu' ? 'standard' : config.architecture;
  const layer = /^blocks\.(\d+)\./.exec(config.hookName);
  const metadata: Json = {
    model_name: config.modelName ?? null,
    hook_name: config.hookName,
    hook_layer: layer === null ? null : Number(layer[1]),
    sae_lens_version: WRITTEN_FORMAT_VERSION,
    sae_lens_training_version: WRITTEN_FORMAT_VERSION,
  };
  return {
    architecture,
    d_in: config.dIn,
    d_sae: config.dSae,
    ...(config.architecture === 'topk' ? { k: config.k } : {}),
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: config.applyBDecToInput ?? true,
    normalize_activations: config.normalizeActivations ?? 'none',
    reshape_activations: 'none',
    metadata,
    // The pre-6.0 spellings, for older readers.
    model_name: config.modelName ?? null,
    hook_name: config.hookName,
    hook_layer: metadata.hook_layer,
    activation_fn_str: config.architecture === 'topk' ? 'topk' : 'relu',
    activation_fn_kwargs: config.architecture === 'topk' ? { k: config.k } : {},
  };
}

/** Reads either cfg.json layout into our config. `file` names the source in errors. */
export function parseSaeLensConfig(cfg: unknown, file: string, options: SaeLensLoadOptions = {}): { config: SaeConfig; foldFactor: number } {
  const fail = (detail: string): never => { throw new CheckpointFormatError(file, detail); };
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) return fail('expected a JSON object');
  const c = cfg as Json;
  const metadata = isObject(c.metadata) ? c.metadata : isObject(c.meta) ? c.meta : {};
  const positiveInteger = (field: string): number => {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail(`field '${field}' must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const dIn = positiveInteger('d_in');
  const dSae = positiveInteger('d_sae');
  const architecture = saeLensArchitecture(c, fail);
  let k: number | undefined;
  if (architecture === 'topk') {
    const kwargs = isObject(c.activation_fn_kwargs) ? c.activation_fn_kwargs : {};
    const raw = c.k ?? kwargs.k;
    if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 1 || raw > dSae) {
      fail(`a TopK SAE needs an integer k in [1, d_sae=${dSae}] (field 'k' or 'activation_fn_kwargs.k'), got ${JSON.stringify(raw)}`);
    }
    k = raw as number;
  }
  const hookName = metadata.hook_name ?? c.hook_name ?? c.hook_point;
  if (typeof hookName !== 'string' || hookName.length === 0) fail("no hook name: expected a string in 'metadata.hook_name', 'hook_name' or 'hook_point'");
  const modelName = metadata.model_name ?? c.model_name;
  if (modelName !== undefined && modelName !== null && typeof modelName !== 'string') fail(`field 'model_name' must be a string, got ${JSON.stringify(modelName)}`);
  const applyBDecToInput = c.apply_b_dec_to_input ?? true;
  if (typeof applyBDecToInput !== 'boolean') fail(`field 'apply_b_dec_to_input' must be a boolean, got ${JSON.stringify(applyBDecToInput)}`);
  let normalization = c.normalize_activations ?? 'none';
  // Older configs used a boolean: true meant the dataset-average rescaling.
  if (typeof normalization === 'boolean') normalization = normalization ? 'expected_average_only_in' : 'none';
  let foldFactor = 1;
  if (normalization === 'expected_average_only_in') {
    const factor = options.normScalingFactor;
    if (factor === undefined || !(factor > 0) || !Number.isFinite(factor)) {
      fail("normalize_activations is 'expected_average_only_in', whose scaling factor is not stored in cfg.json; pass its value as normScalingFactor (from the SAE's release) to fold it into the weights");
    }
    foldFactor = factor!;
    normalization = 'none';
  }
  if (normalization !== 'none' && normalization !== 'constant_norm_rescale' && normalization !== 'layer_norm') {
    fail(`normalize_activations ${JSON.stringify(normalization)} is not supported; expected 'none', 'constant_norm_rescale', 'layer_norm' or 'expected_average_only_in'`);
  }
  if (c.reshape_activations !== undefined && c.reshape_activations !== 'none' && c.reshape_activations !== null) {
    fail(`reshape_activations ${JSON.stringify(c.reshape_activations)} (attention hook_z SAEs) is not supported; expected 'none'`);
  }
  const config: SaeConfig = {
    architecture,
    dIn,
    dSae,
    ...(k === undefined ? {} : { k }),
    hookName: hookName as string,
    ...(typeof modelName === 'string' ? { modelName } : {}),
    normalizeActivations: normalization as SaeNormalization,
    applyBDecToInput: applyBDecToInput as boolean,
  };
  return { config, foldFactor };
}

function saeLensArchitecture(c: Json, fail: (detail: string) => never): SaeArchitecture {
  const architecture = c.architecture ?? 'standard';
  const activation = c.activation_fn ?? c.activation_fn_str ?? 'relu';
  if (architecture === 'standard') {
    if (activation === 'topk') return 'topk';
    if (activation === 'relu') return 'relu';
    return fail(`activation function ${JSON.stringify(activation)} of a 'standard' SAE is not supported; expected 'relu' or 'topk'`);
  }
  if (architecture === 'topk' || architecture === 'jumprelu') return architecture;
  return fail(`architecture ${JSON.stringify(architecture)} is not supported; expected 'standard' (ReLU), 'topk' or 'jumprelu'`);
}

function readSaeLensWeights(path: string, config: SaeConfig): SaeWeights {
  const file = SafetensorsFile.open(path);
  try {
    const { dIn, dSae } = config;
    const read = (name: string, shape: number[]): Float32Array => {
      const entry = file.entries.get(name);
      if (entry === undefined) throw new CheckpointFormatError(path, `missing tensor '${name}' [${shape.join(', ')}]`);
      if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
        throw new CheckpointFormatError(path, `tensor '${name}' has shape [${entry.shape.join(', ')}], expected [${shape.join(', ')}] (d_in=${dIn}, d_sae=${dSae} from cfg.json)`);
      }
      return Float32Array.from(file.readFloat32(name));
    };
    const weights: SaeWeights = {
      encoderWeight: read('W_enc', [dIn, dSae]),
      decoderWeight: read('W_dec', [dSae, dIn]),
      encoderBias: read('b_enc', [dSae]),
      decoderBias: read('b_dec', [dIn]),
    };
    if (config.architecture === 'jumprelu') {
      // SAELens' training class keeps log_threshold; its saved files usually convert it.
      weights.threshold = file.has('threshold') || !file.has('log_threshold')
        ? read('threshold', [dSae])
        : read('log_threshold', [dSae]).map(Math.exp);
    }
    // Old SAELens files may carry a per-latent scale applied to the codes before decoding.
    for (const name of ['finetuning_scaling_factor', 'scaling_factor']) {
      if (!file.has(name)) continue;
      const factors = read(name, [dSae]);
      for (let j = 0; j < dSae; j++) for (let i = 0; i < dIn; i++) weights.decoderWeight[j * dIn + i] *= factors[j];
    }
    return weights;
  } finally {
    file.close();
  }
}

/**
 * Folds a constant input scale s into the weights: encoding s·x and decoding back
 * with 1/s is the same as W_enc·s, W_dec/s, b_dec/s (SAELens'
 * fold_activation_norm_scaling_factor), whether or not b_dec is subtracted first.
 */
function foldInputScale(weights: SaeWeights, factor: number): void {
  weights.encoderWeight.forEach((v, i, a) => { a[i] = v * factor; });
  weights.decoderWeight.forEach((v, i, a) => { a[i] = v / factor; });
  weights.decoderBias.forEach((v, i, a) => { a[i] = v / factor; });
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CheckpointFormatError(path, `cannot read the SAE config (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CheckpointFormatError(path, `is not valid JSON (${(error as Error).message})`);
  }
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
