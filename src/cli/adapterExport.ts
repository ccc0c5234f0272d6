import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AdapterExportError, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, toGgufLora, toPeft, writePeft } from '../adapt/index.js';
import { writeGguf } from '../io/gguf/writer.js';
import type { FloatDtype } from '../io/safetensors.js';
import { openStoreArgument, parseVersionFlag, resolveVersion, setOnModel } from './adapterStoreArgument.js';
import { loadModelArgument } from './modelArgument.js';

// `imprint adapter export`: one version of an adapter store as a file other
// runtimes load, through src/adapt/export: a Hugging Face PEFT LoRA directory or
// a llama.cpp GGUF LoRA. Every flag, the store and the version are checked, and
// the set is built and materialised, before anything is written, so a refusal
// (a residual-site kind, a non-Llama base for GGUF) leaves no file behind.

const FORMATS = ['peft', 'gguf'] as const;
type Format = (typeof FORMATS)[number];

export const exportHelp = `usage: imprint adapter export DIR --format peft|gguf --out PATH [--version N] [--model DIR] [options]

Writes one version (default: the current one) of the adapter store at DIR as
  peft   a Hugging Face PEFT LoRA directory PATH (adapter_config.json and
         adapter_model.safetensors; PeftModel.from_pretrained(base, PATH))
  gguf   a llama.cpp LoRA file PATH (llama-cli --lora PATH; Llama bases only,
         for the base exported by imprint convert --to gguf)
Every linear-layer adapter is written as an ordinary B·A pair with the scaling
that reproduces it. The set is built on --model (default: the shipped model),
which must be the model the adapter was trained on.

  --type f32|f16|bf16      tensor storage (default f32; bf16 for peft only)
  --omit-residual-sites    a representation edit or feature gain is not a weight
                           change, so neither format can express it and the export
                           is refused; with this flag only the linear adapters are
                           written (the file then computes less than the adapter)
  --base-model NAME        peft: base_model_name_or_path (default: the --model directory)
  --name NAME              gguf: general.name (default: "imprint adapter STORE vN")
  --bundle PATH|NAME       the bundle a feature gain over SAE latents was trained with
  --json                   print what was written as JSON`;

export async function runAdapterExport(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      format: { type: 'string' },
      out: { type: 'string' },
      version: { type: 'string' },
      model: { type: 'string' },
      type: { type: 'string', default: 'f32' },
      'omit-residual-sites': { type: 'boolean', default: false },
      'base-model': { type: 'string' },
      name: { type: 'string' },
      bundle: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(exportHelp);
    return 0;
  }
  if (values.format === undefined) throw new RangeError(`imprint adapter export: --format is required: peft (a PEFT LoRA directory) or gguf (a llama.cpp LoRA file)`);
  if (!(FORMATS as readonly string[]).includes(values.format)) throw new RangeError(`--format must be peft or gguf, got '${values.format}'`);
  const format = values.format as Format;
  if (values.out === undefined) throw new RangeError(`imprint adapter export: --out PATH is required (${format === 'peft' ? 'the PEFT directory to write' : 'the .gguf file to write'})`);
  const type = values.type.toUpperCase();
  const types = format === 'peft' ? ['F32', 'F16', 'BF16'] : ['F32', 'F16'];
  if (!types.includes(type)) throw new RangeError(`--type must be ${types.map((t) => t.toLowerCase()).join(', ').replace(/, (?=[^,]*$)/, ' or ')} for --format ${format}, got '${values.type}'`);
  if (values['base-model'] !== undefined && format !== 'peft') throw new RangeError('--base-model is the PEFT config\'s base_model_name_or_path; it only applies to --format peft');
  if (values.name !== undefined && format !== 'gguf') throw new RangeError('--name is the GGUF file\'s general.name; it only applies to --format gguf');
  const out = values.out;
  if (existsSync(out)) {
    const isDirectory = statSync(out).isDirectory();
    if (format === 'peft' && !isDirectory) throw new RangeError(`--out ${out} is a file; --format peft writes a directory (${PEFT_CONFIG_FILE} and ${PEFT_WEIGHTS_FILE})`);
    if (format === 'gguf' && isDirectory) throw new RangeError(`--out ${out} is a directory; --format gguf writes one file, e.g. ${join(out, 'adapter.gguf')}`);
  }
  const asked = parseVersionFlag('version', values.version);
  const { store, dir } = openStoreArgument(positionals, 'export');
  const version = resolveVersion(store, dir, '--version', asked);
  const { state } = store.readState(version);
  const loaded = loadModelArgument(values.model, 'adapter export');
  const set = setOnModel(state, version, dir, loaded, values.model, { bundle: values.bundle });
  const residualSites = values['omit-residual-sites'] ? 'omit' as const : 'refuse' as const;
  const what = `version ${version} of ${dir}`;

  try {
    if (format === 'peft') {
      const adapter = toPeft(set, { residualSites, dtype: type as FloatDtype, baseModel: values['base-model'] ?? resolve(loaded.dir) });
      const { configPath, weightsPath } = writePeft(out, adapter);
      warnOmitted(adapter.omitted);
      if (values.json) {
        console.log(JSON.stringify({
          format, store: resolve(dir), version, out: resolve(out), files: [resolve(configPath), resolve(weightsPath)],
          r: adapter.config.r, loraAlpha: adapter.config.lora_alpha, modules: adapter.modules, tensors: adapter.tensors.map((t) => t.name), omitted: adapter.omitted,
        }));
      } else {
        const n = adapter.modules.length;
        console.log(`wrote ${what} as a PEFT LoRA adapter (${n} module${n === 1 ? '' : 's'}, r ${adapter.config.r}, lora_alpha ${adapter.config.lora_alpha}, ${type}) -> ${configPath}, ${weightsPath}`);
      }
    } else {
      const adapter = toGgufLora(set, { residualSites, type: type as 'F32' | 'F16', name: values.name ?? `imprint adapter ${basename(resolve(dir))} v${version}` });
      mkdirSync(dirname(resolve(out)), { recursive: true });
      writeGguf(out, adapter.metadata, adapter.tensors);
      warnOmitted(adapter.omitted);
      if (values.json) {
        console.log(JSON.stringify({
          format, store: resolve(dir), version, out: resolve(out), alpha: adapter.alpha, folded: adapter.folded,
          modules: adapter.modules, tensors: adapter.tensors.map((t) => t.name), omitted: adapter.omitted,
        }));
      } else {
        const n = adapter.modules.length;
        console.log(`wrote ${what} as a GGUF LoRA adapter (${n} module${n === 1 ? '' : 's'}, alpha ${adapter.alpha}${adapter.folded ? ', per-module scalings folded into lora_b' : ''}, ${type}) -> ${out}`);
      }
    }
  } catch (error) {
    if (!(error instanceof AdapterExportError)) throw error;
    // The exporter speaks of its API option; on the command line it is a flag.
    const message = error.message.replace(/pass residualSites: 'omit'/, 'pass --omit-residual-sites');
    throw new RangeError(`${what}: ${message.replace(/\.?$/, '.')} Nothing was written.`);
  }
  return 0;
}

function warnOmitted(omitted: ReadonlyArray<{ name: string; kind: string }>): void {
  if (omitted.length === 0) return;
  console.error(`imprint adapter export: --omit-residual-sites left out ${omitted.map((o) => `${o.name} (${o.kind})`).join(', ')}; the file computes less than the adapter does`);
}
