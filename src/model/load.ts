import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointFormatError } from '../io/errors.js';
import { type TensorSource, openCheckpointWeights } from '../io/checkpointWeights.js';
import { TextTokenizer } from '../io/tokenizer.js';
import { Tensor } from '../tensor/index.js';
import { parseModelConfig } from './architectures/index.js';
import type { RawConfig } from './architectures/configFields.js';
import { CausalLm } from './causalLm.js';
import type { ModelSpec } from './spec.js';
import { parameterSpecs } from './weightLayout.js';

// Loads a Hugging Face checkpoint directory: config.json, model.safetensors (or
// shards with an index), and the tokenizer when present. Every expected tensor is
// checked by name and shape before any is used; the first problem is reported
// with the tensor's name, what was found and what was expected.

export interface LoadedModel {
  dir: string;
  model: CausalLm;
  /** config.json as read, kept so that saving writes it back unchanged. */
  config: RawConfig;
  tokenizer: TextTokenizer | null;
  /** Tensors in the checkpoint that the model does not use (HF buffers such as attn.bias are skipped silently). */
  unusedTensors: string[];
}

// Non-parameter buffers that some exporters include.
const knownBuffers = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /rotary_emb\.inv_freq$/];

export function readConfigJson(dir: string): RawConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new CheckpointFormatError(path, 'not found; a model directory needs config.json (Hugging Face layout)');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CheckpointFormatError(path, `is not valid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CheckpointFormatError(path, 'must hold a JSON object');
  return raw as RawConfig;
}

/** Candidate names of a tensor in files written by other tools (GPT-2 checkpoints often lack the "transformer." prefix). */
function aliases(name: string): string[] {
  return name.startsWith('transformer.') ? [name, name.slice('transformer.'.length)] : [name];
}

export function loadWeights(spec: ModelSpec, source: TensorSource, origin: string): { params: Map<string, Tensor>; unused: string[] } {
  const params = new Map<string, Tensor>();
  const used = new Set<string>();
  for (const p of parameterSpecs(spec)) {
    const found = aliases(p.name).find((n) => source.has(n));
    if (found === undefined) {
      throw new CheckpointFormatError(origin, `missing tensor ${p.name} (expected shape [${p.shape.join(', ')}] for ${spec.modelType})`);
    }
    const storedShape = p.storedTransposed ? [p.shape[1], p.shape[0]] : p.shape;
    const actual = source.shape(found);
    if (actual.length !== storedShape.length || actual.some((d, i) => d !== storedShape[i])) {
      throw new CheckpointFormatError(origin, `tensor ${found} has shape [${actual.join(', ')}], expected [${storedShape.join(', ')}] from config.json`);
    }
    let data = source.read(found);
    if (p.storedTransposed) data = transpose2d(data, storedShape[0], storedShape[1]);
    params.set(p.name, Tensor.parameter(Tensor.fromArray(data, p.shape), p.name));
    used.add(found);
  }
  const unused = source.names.filter((n) => !used.has(n) && !knownBuffers.some((re) => re.test(n)) && !(n === 'lm_head.weight' && spec.tiedEmbeddings));
  return { params, unused };
}

export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

export function loadModel(dir: string): LoadedModel {
  const config = readConfigJson(dir);
  const spec = parseModelConfig(config, join(dir, 'config.json'));
  const source = openCheckpointWeights(dir);
  let loaded: { params: Map<string, Tensor>; unused: string[] };
  try {
    loaded = loadWeights(spec, source, dir);
  } finally {
    source.close();
  }
  const model = new CausalLm(spec, loaded.params);
  const tokenizer = existsSync(join(dir, 'tokenizer.json')) ? TextTokenizer.fromDirectory(dir) : null;
  if (tokenizer !== null && tokenizer.vocabSize > spec.vocabSize) {
    throw new CheckpointFormatError(join(dir, 'tokenizer.json'), `has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${spec.vocabSize}`);
  }
  return { dir, model, config, tokenizer, unusedTensors: loaded.unused };
}
