import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openCheckpointWeights } from '../io/checkpointWeights.js';
import { exportLlamaGguf } from '../io/gguf/llamaExport.js';
import { readConfigJson } from '../model/load.js';

// `imprint convert --to gguf`: export a Hugging Face Llama directory to a GGUF
// file that llama.cpp loads.

const help = `usage: imprint convert --to gguf --model DIR --out FILE [--type f32|f16]

Exports a Llama-architecture Hugging Face directory (config.json, model.safetensors,
tokenizer.json) to GGUF for llama.cpp. --type f16 halves the matrices (norms stay f32).`;

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new RangeError(`${path}: cannot be read as JSON (${(error as Error).message})`);
  }
}

export async function runConvert(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: 'string' },
      model: { type: 'string' },
      out: { type: 'string' },
      type: { type: 'string', default: 'f32' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (values.to !== 'gguf') throw new RangeError(`imprint convert: --to must be gguf (the only export format so far), got ${values.to === undefined ? 'nothing' : `'${values.to}'`}`);
  if (values.model === undefined) throw new RangeError('imprint convert: --model DIR is required');
  if (values.out === undefined) throw new RangeError('imprint convert: --out FILE is required');
  const type = values.type.toUpperCase();
  if (type !== 'F32' && type !== 'F16') throw new RangeError(`imprint convert: --type must be f32 or f16, got '${values.type}'`);
  const dir = values.model;
  const config = readConfigJson(dir);
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) throw new RangeError(`imprint convert: ${tokenizerPath} is missing; GGUF files carry the tokenizer, so it is required`);
  const tokenizerConfigPath = join(dir, 'tokenizer_config.json');
  const weights = openCheckpointWeights(dir);
  try {
    exportLlamaGguf(values.out, {
      config,
      weights,
      tokenizerJson: readJson(tokenizerPath),
      tokenizerConfig: existsSync(tokenizerConfigPath) ? readJson(tokenizerConfigPath) : {},
      name: basename(resolve(dir)),
    }, { type });
  } finally {
    weights.close();
  }
  console.log(`wrote ${values.out} (${type})`);
  return 0;
}
