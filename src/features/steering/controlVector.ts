import { parseHookPoint } from '../../model/hooks.js';
import { writeGguf, type GgufMetadataValue } from '../../io/gguf/writer.js';
import type { Bundle } from '../bundles/bundle.js';
import type { SaeDirectionResolver } from '../bundles/directions.js';
import { type FeatureScale, steeringVectorFor } from './steeringVector.js';

// Steering exported as a llama.cpp control vector, so `llama-cli
// --control-vector file.gguf` (or any llama.cpp-based runtime) steers the same way.
//
// The container, as llama.cpp's loader reads it (common/common.cpp,
// common_control_vector_load_one) and its cvector-generator writes it:
//   general.architecture = "controlvector", controlvector.model_hint (string),
//   controlvector.layer_count (int32, the number of direction tensors),
//   tensors "direction.N", each 1-D F32 of n_embd values, N >= 1.
// The loader reads only the tensors; the keys are for people and tools.
//
// The layer indexing, read from llama.cpp rather than guessed: the loader puts
// direction.N at offset n_embd*(N-1) of a flat buffer, and llama_control_vector_apply
// fills layer il from offset n_embd*(il-1), so direction.N belongs to layer il = N
// (0-based). Each architecture's graph then adds it with build_cvec(cur, il) right
// after block il's FFN residual add, on the block's output ("l_out"), at every position.
// So direction.N is our `blocks.N.post`, with no shift, and since our
// `blocks.K.pre` is the same stream as `blocks.(K-1).post`, it is direction.(K-1).
// Block 0's output (and the embeddings) cannot be steered: llama.cpp rejects
// direction.0 and never allocates a slot for layer 0.

export const CONTROL_VECTOR_ARCHITECTURE = 'controlvector';

/** The llama.cpp control-vector layer N that adds to the same stream as our hook point. */
export function controlVectorLayerFor(hookPoint: string, layers: number): number {
  const { layer, where } = parseHookPoint(hookPoint, layers);
  const n = where === 'post' ? layer : layer - 1;
  if (n < 1) {
    throw new RangeError(`hook point "${hookPoint}" is the ${where === 'post' ? 'output of block 0' : 'input of block ' + layer} (llama.cpp layer ${n}); llama.cpp control vectors start at the output of block 1 (direction.1), so steer at blocks.1.post or later`);
  }
  return n;
}

export interface ControlVectorExport {
  /** Vector added to the output of llama.cpp layer N (= our blocks.N.post), by N >= 1. */
  directions: ReadonlyMap<number, Float32Array>;
  /** llama.cpp architecture name of the model, e.g. "llama" (written as controlvector.model_hint). */
  modelHint?: string;
  /**
   * The model's number of layers. When given, every layer 1..modelLayers-1 gets a
   * tensor (zeros where nothing is steered), as llama.cpp's own cvector-generator
   * writes them, and N is checked against it.
   */
  modelLayers?: number;
  /** Extra string metadata, written as "imprint.<key>" (llama.cpp ignores it). */
  notes?: Record<string, string>;
}

export interface ExportedControlVector {
  path: string;
  /** Tensor names written, in order. */
  tensors: string[];
  layerCount: number;
}

export function exportControlVectorGguf(path: string, vector: ControlVectorExport): ExportedControlVector {
  const { directions, modelHint, modelLayers, notes = {} } = vector;
  if (directions.size === 0) throw new RangeError(`control vector ${path}: no directions given`);
  if (modelLayers !== undefined && (!Number.isInteger(modelLayers) || modelLayers < 2)) {
    throw new RangeError(`control vector ${path}: modelLayers must be an integer >= 2 (a one-layer model has no steerable layer), got ${modelLayers}`);
  }
  let width = -1;
  for (const [n, values] of directions) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`control vector ${path}: layer ${n} is not an integer >= 1 (llama.cpp has no direction.0: block 0's output cannot be steered)`);
    if (modelLayers !== undefined && n >= modelLayers) throw new RangeError(`control vector ${path}: layer ${n} does not exist in a model of ${modelLayers} layers (1..${modelLayers - 1} can be steered)`);
    if (!(values instanceof Float32Array) || values.length === 0) throw new RangeError(`control vector ${path}: direction for layer ${n} must be a non-empty Float32Array`);
    if (width === -1) width = values.length;
    if (values.length !== width) throw new RangeError(`control vector ${path}: direction for layer ${n} has ${values.length} values, others have ${width}; all layers share the hidden size`);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new RangeError(`control vector ${path}: direction for layer ${n} has non-finite value ${values[bad]} at index ${bad}`);
  }
  const layers = modelLayers !== undefined
    ? Array.from({ length: modelLayers - 1 }, (_, i) => i + 1)
    : [...directions.keys()].sort((a, b) => a - b);
  const tensors = layers.map((n) => ({ name: `direction.${n}`, shape: [width], data: directions.get(n) ?? new Float32Array(width), type: 'F32' as const }));

  const metadata: Array<[string, GgufMetadataValue]> = [['general.architecture', { type: 'string', value: CONTROL_VECTOR_ARCHITECTURE }]];
  if (modelHint !== undefined) metadata.push([`${CONTROL_VECTOR_ARCHITECTURE}.model_hint`, { type: 'string', value: modelHint }]);
  metadata.push([`${CONTROL_VECTOR_ARCHITECTURE}.layer_count`, { type: 'int32', value: tensors.length }]);
  for (const [key, value] of Object.entries(notes)) metadata.push([`imprint.${key}`, { type: 'string', value }]);
  writeGguf(path, metadata, tensors);
  return { path, tensors: tensors.map((t) => t.name), layerCount: tensors.length };
}

/**
 * A bundle's steering as a control vector: sum(scale x unit direction) at the
 * llama.cpp layer matching the bundle's hook point. Scales are keyed by feature id or label.
 */
export function bundleToControlVector(
  bundle: Bundle, vectors: ReadonlyMap<string, Float32Array>,
  featureScales: ReadonlyMap<string, number> | Readonly<Record<string, number>>, saeResolver?: SaeDirectionResolver,
): ControlVectorExport {
  const entries: FeatureScale[] = (featureScales instanceof Map ? [...featureScales] : Object.entries(featureScales))
    .map(([feature, scale]) => ({ feature, scale }));
  if (entries.length === 0) throw new RangeError(`bundle "${bundle.name}": give at least one feature scale to export`);
  const n = controlVectorLayerFor(bundle.hookPoint, bundle.model.layers);
  return {
    directions: new Map([[n, steeringVectorFor(bundle, vectors, entries, saeResolver)]]),
    modelHint: bundle.model.modelType,
    modelLayers: bundle.model.layers,
    notes: {
      bundle: bundle.name,
      hook_point: bundle.hookPoint,
      features: entries.map((e) => `${e.feature}=${e.scale}`).join(','),
    },
  };
}
