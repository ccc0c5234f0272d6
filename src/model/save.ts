import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { writeCheckpointWeights } from '../io/checkpointWeights.js';
import type { FloatDtype, TensorToWrite } from '../io/safetensors.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import type { RawConfig } from './architectures/configFields.js';
import type { CausalLm } from './causalLm.js';
import { transpose2d } from './load.js';
import { parameterSpecs } from './weightLayout.js';

// Writes a model back in the Hugging Face layout it came from: config.json,
// model.safetensors (sharded above maxShardBytes) with HF tensor names and
// orientation (GPT-2's Conv1D matrices go back to [in, out]), the tokenizer, and
// generation_config.json. Tied heads are not written, as transformers does.
// Every file is written atomically.

export interface SaveOptions {
  dtype?: FloatDtype;
  maxShardBytes?: number;
  tokenizer?: TextTokenizer | null;
}

const encoder = new TextEncoder();

function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, [encoder.encode(`${JSON.stringify(value, null, 2)}\n`)]);
}

const dtypeNames: Record<FloatDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

export function saveModel(dir: string, model: CausalLm, config: RawConfig, options: SaveOptions = {}): string[] {
  const dtype = options.dtype ?? 'F32';
  mkdirSync(dir, { recursive: true });
  const tensors: TensorToWrite[] = parameterSpecs(model.spec).map((p) => {
    const t = model.params.get(p.name)!;
    const data = p.storedTransposed ? transpose2d(t.data as Float32Array, p.shape[0], p.shape[1]) : Float32Array.from(t.data);
    const shape = p.storedTransposed ? [p.shape[1], p.shape[0]] : p.shape;
    // Norm weights stay float32 in half-precision saves, as in the GGUF export: they are tiny and sensitive.
    return { name: p.name, shape, data, dtype: p.role.startsWith('norm') ? 'F32' : dtype };
  });
  const files = writeCheckpointWeights(dir, tensors, { maxShardBytes: options.maxShardBytes });
  const savedConfig: RawConfig = { ...config, torch_dtype: dtypeNames[dtype] };
  writeJson(join(dir, 'config.json'), savedConfig);
  files.push(join(dir, 'config.json'));
  const generationConfig: RawConfig = { _from_model_config: true };
  if (model.spec.bosTokenId !== null) generationConfig.bos_token_id = model.spec.bosTokenId;
  if (model.spec.eosTokenIds.length > 0) generationConfig.eos_token_id = model.spec.eosTokenIds.length === 1 ? model.spec.eosTokenIds[0] : model.spec.eosTokenIds;
  writeJson(join(dir, 'generation_config.json'), generationConfig);
  files.push(join(dir, 'generation_config.json'));
  if (options.tokenizer) {
    options.tokenizer.save(dir);
    files.push(join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json'));
  }
  return files;
}
