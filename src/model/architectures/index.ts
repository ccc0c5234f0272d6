import { ModelConfigError, ModelSpec } from '../spec.js';
import { ConfigFields, RawConfig } from './configFields.js';
import { parseGpt2Config } from './gpt2.js';
import { parseLlamaFamilyConfig } from './llamaFamily.js';

// model_type -> parser. A model_type that is not here fails loudly: running an
// unknown architecture through the nearest known one would give plausible-looking
// garbage.

const parsers: Record<string, (config: ConfigFields) => ModelSpec> = {
  gpt2: parseGpt2Config,
  llama: (c) => parseLlamaFamilyConfig(c, 'llama'),
  qwen2: (c) => parseLlamaFamilyConfig(c, 'qwen2'),
  qwen3: (c) => parseLlamaFamilyConfig(c, 'qwen3'),
  olmo2: (c) => parseLlamaFamilyConfig(c, 'olmo2'),
  gemma2: (c) => parseLlamaFamilyConfig(c, 'gemma2'),
};

export const supportedModelTypes: readonly string[] = Object.keys(parsers);

export function parseModelConfig(raw: unknown, source = 'config.json'): ModelSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelConfigError(source, 'expected a JSON object');
  const config = new ConfigFields(raw as RawConfig, source);
  const modelType = (raw as RawConfig).model_type;
  if (typeof modelType !== 'string') throw new ModelConfigError(source, `missing "model_type"; supported: ${supportedModelTypes.join(', ')}`);
  const parse = parsers[modelType];
  if (parse === undefined) throw new ModelConfigError(source, `unknown model_type "${modelType}"; supported: ${supportedModelTypes.join(', ')}`);
  return parse(config);
}
