import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gguf } from '@huggingface/gguf';
import {
  AdapterExportError, AdapterSet, type AdapterSetConfig, type FeatureSpace, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, PeftFormatError,
  exportGgufLora, exportPeft, featureSpaceFromDirections, readPeft, toGgufLora, toPeft,
} from '../src/adapt/index.js';
import { exportLlamaGguf, permuteRowsForInterleavedRope } from '../src/io/gguf/llamaExport.js';
import { readGgufInfo, readGgufTensorFloat32 } from '../src/io/gguf/reader.js';
import { SafetensorsFile, writeSafetensors } from '../src/io/safetensors.js';
import { parseModelConfig } from '../src/model/architectures/index.js';
import type { RawConfig } from '../src/model/architectures/configFields.js';
import { CausalLm } from '../src/model/causalLm.js';
import type { HookPointName } from '../src/model/hooks.js';
import { loadWeights } from '../src/model/load.js';
import { nextTokenLogprobs } from '../src/model/score.js';
import { Random, type Tensor } from '../src/tensor/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';
import { randomLlamaCheckpoint, tinyByteLevelTokenizer, tinyTokenizerSize, weightSourceOf } from './support/tinyLlama.js';
import { logitsOf, randomize, tokens } from './support/adaptTestKit.js';

// Exports of adapter sets: PEFT (adapter_config.json + adapter_model.safetensors)
// and back, and llama.cpp's GGUF LoRA, checked against the formats' rules and,
// for GGUF, against llama.cpp itself through node-llama-cpp.

const scratch = mkdtempSync(join(tmpdir(), 'imprint-adapt-export-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => join(scratch, `case-${dirCount++}`);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const worst = maxAbsDiff(actual, expected);
  assert.ok(worst <= tolerance * Math.max(1, scale), `${what}: max difference ${worst} (scale ${scale})`);
}

/** scaling · B A, [out, in], in float64. */
function deltaFrom(b: ArrayLike<number>, a: ArrayLike<number>, out: number, rank: number, inFeatures: number, scaling: number): Float64Array {
  const delta = new Float64Array(out * inFeatures);
  for (let o = 0; o < out; o++) for (let r = 0; r < rank; r++) {
    const bv = b[o * rank + r];
    for (let i = 0; i < inFeatures; i++) delta[o * inFeatures + i] += scaling * bv * a[r * inFeatures + i];
  }
  return delta;
}

/** Sum of the set's adapters' ΔW on one module. */
function setDelta(set: AdapterSet, module: string): Float64Array {
  const parts = set.linear.filter((a) => a.site.name === module);
  const delta = new Float64Array(parts[0].site.outFeatures * parts[0].site.inFeatures);
  for (const p of parts) p.deltaWeight().forEach((v, i) => { delta[i] += v; });
  return delta;
}

function space(seed: number, width: number, hookPoint: HookPointName = 'blocks.0.post'): FeatureSpace {
  const rng = new Random(seed);
  return featureSpaceFromDirections({ name: 'tone', hookPoint, width, ids: ['formal', 'warm', 'brief'], directions: Float32Array.from({ length: 3 * width }, () => rng.normal()) });
}

/** Every linear kind with different ranks and scalings, a residual adapter stacked on two modules. */
const mixedKinds: AdapterSetConfig = {
  seed: 2,
  adapters: [
    { kind: 'write', target: { modules: ['o_proj', 'down_proj'], layers: [0] }, rank: 2, alpha: 4, residual: { rank: 1, alpha: 2 } },
    { kind: 'read', target: { modules: ['q_proj', 'gate_proj'], layers: [1] }, alpha: 2 },
    { kind: 'lora', target: { modules: ['v_proj', 'up_proj'] }, rank: 2, rsLora: true, alpha: 3 },
    { kind: 'lora', target: { modules: ['k_proj'], layers: [0] }, rank: 4, alpha: 4 },
  ],
};

describe('PEFT export', () => {
  test('names, shapes and config exactly as PEFT writes them; alpha/r per module reproduces our ΔW', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const set = AdapterSet.create(model, mixedKinds, space(3, 16));
    randomize(set.parameters(), 4, 0.5);
    const dir = freshDir();
    const exported = exportPeft(set, dir, { baseModel: 'tiny-llama' });
    const config = JSON.parse(readFileSync(join(dir, PEFT_CONFIG_FILE), 'utf8'));
    assert.equal(config.peft_type, 'LORA');
    assert.equal(config.task_type, 'CAUSAL_LM');
    assert.equal(config.base_model_name_or_path, 'tiny-llama');
    assert.equal(config.fan_in_fan_out, false);
    assert.equal(config.bias, 'none');
    assert.equal(config.use_rslora, false);
    assert.equal(config.use_dora, false);
    const modules = [...new Set(set.linear.map((a) => a.site.name))];
    assert.deepEqual([...config.target_modules].sort(), [...modules].sort());
    // Different ranks and scalings: the patterns say so, under full module names.
    assert.ok(Object.keys(config.rank_pattern).length > 0 && Object.keys(config.alpha_pattern).length > 0);

    const file = SafetensorsFile.open(join(dir, PEFT_WEIGHTS_FILE));
    try {
      const expectedNames = modules.flatMap((m) => [`base_model.model.${m}.lora_A.weight`, `base_model.model.${m}.lora_B.weight`]).sort();
      assert.deepEqual([...file.entries.keys()].sort(), expectedNames);
      assert.equal(file.metadata.format, 'pt');
      for (const module of modules) {
        const site = set.linear.find((a) => a.site.name === module)!.site;
        const r = config.rank_pattern[module] ?? config.r;
        const alpha = config.alpha_pattern[module] ?? config.lora_alpha;
        const a = file.entries.get(`base_model.model.${module}.lora_A.weight`)!;
        const b = file.entries.get(`base_model.model.${module}.lora_B.weight`)!;
        assert.deepEqual(a.shape, [r, site.inFeatures], `${module} lora_A is [r, in]`);
        assert.deepEqual(b.shape, [site.outFeatures, r], `${module} lora_B is [out, r]`);
        assert.equal(a.dtype, 'F32');
        const delta = deltaFrom(file.readFloat32(b.name), file.readFloat32(a.name), site.outFeatures, r, site.inFeatures, alpha / r);
        const expected = setDelta(set, module);
        assertClose(delta, expected, 1e-6, module);
        assert.ok(expected.some((v) => Math.abs(v) > 1e-3), `${module}: a non-trivial ΔW`);
      }
    } finally {
      file.close();
    }
    // The k_proj LoRA (rank 4, alpha 4) is written as trained: B unscaled, alpha/r = 1.
    const k = exported.modules.find((m) => m.module === 'model.layers.0.self_attn.k_proj')!;
    assert.deepEqual([k.rank, k.alpha, k.scaling], [4, 4, 1]);
    const o = exported.modules.find((m) => m.module === 'model.layers.0.self_attn.o_proj')!;
    assert.deepEqual([o.rank, o.alpha, o.adapters.length], [3, 3, 2], 'write rank 2 + residual rank 1, scalings folded into B');
  });

  test('the PEFT reader gives back a plain-LoRA set with the same forward outputs, and a re-export is identical', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const set = AdapterSet.create(model, mixedKinds, space(3, 16));
    randomize(set.parameters(), 5, 0.5);
    const ids = tokens(12, model.spec.vocabSize, 6);
    const expected = logitsOf(model, ids, 2, set.forwardOptions());
    const base = logitsOf(model, ids, 2);
    assert.ok(maxAbsDiff(expected, base) > 0.05, 'the adapter changes the outputs');
    const dir = freshDir();
    exportPeft(set, dir);
    const loaded = readPeft(dir, model);
    assert.ok(loaded.linear.every((a) => a.kind === 'lora' && a.projection === null));
    assertClose(logitsOf(model, ids, 2, loaded.forwardOptions()), expected, 1e-5, 'logits after the round trip');
    // Its config is a valid one that rebuilds the same modules.
    const rebuilt = AdapterSet.create(model, loaded.config);
    const layout = (s: AdapterSet) => s.linear.map((a) => `${a.name} r=${a.rank} s=${a.scaling}`).sort();
    assert.deepEqual(layout(rebuilt), layout(loaded));
    const again = toPeft(loaded);
    const first = toPeft(set);
    assert.deepEqual(again.config, first.config);
    assert.deepEqual(again.tensors.map((t) => [t.name, t.shape, Array.from(t.data)]), first.tensors.map((t) => [t.name, t.shape, Array.from(t.data)]));
  });

  test('a uniform LoRA writes r and lora_alpha as configured and empty patterns; lora_dropout carries over', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'lora', target: { modules: ['q_proj', 'v_proj'] }, rank: 4, alpha: 8, dropout: 0.1 }] });
    const { config } = toPeft(set);
    assert.deepEqual([config.r, config.lora_alpha, config.lora_dropout], [4, 8, 0.1]);
    assert.deepEqual([config.rank_pattern, config.alpha_pattern], [{}, {}]);
    assert.deepEqual(config.target_modules, ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
  });

  test('GPT-2 (Conv1D in transformers): fan_in_fan_out true, A [r, in] and B [out, r] as PEFT has them, round trip exact', () => {
    const { model } = randomModel(tinyConfigs.gpt2, 1);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'lora', target: { modules: ['attn.c_attn', 'mlp.c_proj'] }, rank: 2, alpha: 4 }] });
    randomize(set.parameters(), 7, 0.5);
    const dir = freshDir();
    const { config, tensors } = exportPeft(set, dir);
    assert.equal(config.fan_in_fan_out, true);
    const attn = tensors.filter((t) => t.name.startsWith('base_model.model.transformer.h.0.attn.c_attn.'));
    assert.deepEqual(attn.map((t) => [t.name, t.shape]), [
      ['base_model.model.transformer.h.0.attn.c_attn.lora_A.weight', [2, 16]],
      ['base_model.model.transformer.h.0.attn.c_attn.lora_B.weight', [48, 2]],
    ]);
    const ids = tokens(10, model.spec.vocabSize, 8);
    assertClose(logitsOf(model, ids, 2, readPeft(dir, model).forwardOptions()), logitsOf(model, ids, 2, set.forwardOptions()), 1e-5, 'gpt2 logits');
  });

  test('representation edits and feature gains are refused with the reason; omit writes only the linear adapters', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'reft' }, { kind: 'gain' }, { kind: 'lora', target: { modules: ['o_proj'] }, rank: 1 }] }, space(3, 16));
    assert.throws(() => toPeft(set), (error: Error) => {
      assert.ok(error instanceof AdapterExportError);
      assert.match(error.message, /PEFT cannot express them exactly \(in general they are not expressible at all\)/);
      assert.match(error.message, /blocks\.0\.post\.reft \(reft\): a representation edit acts on the residual stream/);
      assert.match(error.message, /blocks\.0\.post\.gain \(gain\): a feature gain multiplies the SAE activation/);
      return true;
    });
    assert.throws(() => toGgufLora(set), /GGUF LoRA cannot express them exactly/);
    const omitted = toPeft(set, { residualSites: 'omit' });
    assert.deepEqual(omitted.omitted.map((o) => o.kind), ['reft', 'gain']);
    assert.equal(omitted.tensors.length, 4);
    const onlyResidual = AdapterSet.create(model, { adapters: [{ kind: 'reft' }] }, space(3, 16));
    assert.throws(() => toPeft(onlyResidual, { residualSites: 'omit' }), /no linear-layer adapters, so there is nothing to write/);
  });
});

describe('PEFT reader errors', () => {
  function exported(): { dir: string; model: CausalLm } {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'lora', target: { modules: ['o_proj'], layers: [0] }, rank: 2 }] });
    const dir = freshDir();
    exportPeft(set, dir);
    return { dir, model };
  }
  const editConfig = (dir: string, change: (c: Record<string, unknown>) => void) => {
    const path = join(dir, PEFT_CONFIG_FILE);
    const c = JSON.parse(readFileSync(path, 'utf8'));
    change(c);
    writeFileSync(path, JSON.stringify(c));
  };
  const rewriteTensors = (dir: string, change: (tensors: Array<{ name: string; shape: number[]; data: Float32Array }>) => void) => {
    const path = join(dir, PEFT_WEIGHTS_FILE);
    const file = SafetensorsFile.open(path);
    const tensors = [...file.entries.values()].map((e) => ({ name: e.name, shape: e.shape, data: file.readFloat32(e.name) }));
    file.close();
    change(tensors);
    writeSafetensors(path, tensors);
  };

  test('a rank that disagrees with the config names the tensor, both shapes and where r came from', () => {
    const { dir, model } = exported();
    editConfig(dir, (c) => { c.rank_pattern = { 'self_attn.o_proj': 3 }; });
    assert.throws(() => readPeft(dir, model), (error: Error) => error instanceof PeftFormatError &&
      /base_model\.model\.model\.layers\.0\.self_attn\.o_proj\.lora_A\.weight" has shape \[2, 16\], expected \[3, 16\] \(\[r, in\]: r = 3 for model\.layers\.0\.self_attn\.o_proj/.test(error.message));
  });

  test('a module the model does not have, a missing half, a foreign tensor, DoRA and a non-LoRA config are refused', () => {
    let { dir, model } = exported();
    rewriteTensors(dir, (t) => { t[0].name = 'base_model.model.model.layers.7.self_attn.o_proj.lora_A.weight'; });
    assert.throws(() => readPeft(dir, model), /adapts model\.layers\.7\.self_attn\.o_proj, which is not a linear layer of this llama model with 2 layers/);
    ({ dir, model } = exported());
    rewriteTensors(dir, (t) => { t.splice(1, 1); });
    assert.throws(() => readPeft(dir, model), /model\.layers\.0\.self_attn\.o_proj has lora_A but no lora_B; both are needed/);
    ({ dir, model } = exported());
    rewriteTensors(dir, (t) => { t.push({ name: 'base_model.model.model.layers.0.self_attn.o_proj.lora_magnitude_vector', shape: [16], data: new Float32Array(16) }); });
    assert.throws(() => readPeft(dir, model), /is not a LoRA factor.*DoRA magnitudes are not supported/);
    ({ dir, model } = exported());
    editConfig(dir, (c) => { c.use_dora = true; });
    assert.throws(() => readPeft(dir, model), /adapter_config\.json: use_dora: DoRA adapters/);
    editConfig(dir, (c) => { c.use_dora = false; c.peft_type = 'IA3'; });
    assert.throws(() => readPeft(dir, model), /peft_type: expected "LORA", got "IA3"/);
    assert.throws(() => readPeft(join(dir, 'nowhere'), model), /adapter_config\.json: not found/);
  });

  test('use_rslora in a foreign adapter gives scaling alpha / sqrt(r)', () => {
    const { dir, model } = exported();
    editConfig(dir, (c) => { c.use_rslora = true; c.lora_alpha = 6; });
    const set = readPeft(dir, model);
    assert.equal(set.linear[0].scaling, 6 / Math.sqrt(2));
  });
});

describe('GGUF LoRA export', () => {
  test('metadata keys, tensor names and ggml shapes as llama.cpp loads them; alpha, folding and the q/k rope permutation', async () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const set = AdapterSet.create(model, mixedKinds, space(3, 16));
    randomize(set.parameters(), 9, 0.5);
    const path = join(freshDir() + '.gguf');
    const exported = exportGgufLora(set, path, { name: 'alice' });
    const info = readGgufInfo(path);
    assert.equal(info.metadata.get('general.type'), 'adapter');
    assert.equal(info.metadata.get('adapter.type'), 'lora');
    assert.equal(info.metadata.get('general.architecture'), 'llama');
    assert.equal(info.metadata.get('general.name'), 'alice');
    // Mixed scalings: folded into B, alpha = the largest rank.
    assert.equal(exported.folded, true);
    assert.equal(info.metadata.get('adapter.lora.alpha'), 4);
    const parsed = await gguf(path, { allowLocalFile: true });
    assert.equal(parsed.metadata['general.type' as keyof typeof parsed.metadata], 'adapter');
    assert.equal(parsed.metadata['adapter.lora.alpha' as keyof typeof parsed.metadata], 4);

    const toGguf: Record<string, string> = { q_proj: 'attn_q', k_proj: 'attn_k', v_proj: 'attn_v', o_proj: 'attn_output', gate_proj: 'ffn_gate', up_proj: 'ffn_up', down_proj: 'ffn_down' };
    const modules = [...new Set(set.linear.map((a) => a.site.name))];
    assert.equal(info.tensors.length, 2 * modules.length);
    for (const module of modules) {
      const [, layer, short] = /^model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)$/.exec(module)!;
      const base = `blk.${layer}.${toGguf[short]}.weight`;
      const site = set.linear.find((a) => a.site.name === module)!.site;
      const a = info.tensors.find((t) => t.name === `${base}.lora_a`);
      const b = info.tensors.find((t) => t.name === `${base}.lora_b`);
      assert.ok(a && b, `${base}.lora_a / .lora_b`);
      const rank = a.dims[1];
      // ggml ne: a = [in, r], b = [r, out] (llama_adapter_lora_init_impl's check), i.e. A [r, in], B [out, r] row-major.
      assert.deepEqual(a.dims, [site.inFeatures, rank]);
      assert.deepEqual(b.dims, [rank, site.outFeatures]);
      const fileDelta = deltaFrom(readGgufTensorFloat32(path, info, b.name), readGgufTensorFloat32(path, info, a.name), site.outFeatures, rank, site.inFeatures, 4 / rank);
      let expected = setDelta(set, module);
      if (short === 'q_proj' || short === 'k_proj') {
        const heads = short === 'q_proj' ? model.spec.heads : model.spec.kvHeads;
        expected = Float64Array.from(permuteRowsForInterleavedRope(Float32Array.from(expected), site.outFeatures, site.inFeatures, heads));
      }
      assertClose(fileDelta, expected, 1e-6, `${base}: alpha / r · B A is our ΔW (rows permuted for q and k)`);
    }
    assert.deepEqual(exported.modules.filter((m) => m.permuted).map((m) => m.base).sort(), ['blk.0.attn_k.weight', 'blk.1.attn_q.weight']);
  });

  test('one LoRA config everywhere: alpha = s·r and B as trained; F16 storage; non-Llama bases are refused', () => {
    const { model } = randomModel(tinyConfigs.llama, 1);
    const set = AdapterSet.create(model, { adapters: [{ kind: 'lora', target: { modules: ['o_proj', 'v_proj'] }, rank: 2, alpha: 6 }] });
    randomize(set.parameters(), 10, 0.5);
    const adapter = toGgufLora(set, { type: 'F16' });
    assert.equal(adapter.folded, false);
    assert.equal(adapter.alpha, 6);
    const [layer] = set.materialise().layers;
    assert.deepEqual(Array.from(adapter.tensors[1].data), Array.from(layer.b));
    assert.ok(adapter.tensors.every((t) => t.type === 'F16'));
    const { model: gpt2 } = randomModel(tinyConfigs.gpt2, 1);
    const gptSet = AdapterSet.create(gpt2, { adapters: [{ kind: 'lora', target: { modules: ['c_attn'] }, rank: 1 }] });
    assert.throws(() => toGgufLora(gptSet), /the base model is gpt2; only Llama models are supported/);
  });
});

// ---- against llama.cpp ----

type NodeLlamaCpp = typeof import('node-llama-cpp');
let binding: { lib: NodeLlamaCpp; llama: import('node-llama-cpp').Llama } | { error: string };
before(async () => {
  try {
    const lib = await import('node-llama-cpp');
    const llama = await lib.getLlama({ gpu: false, build: 'never', maxThreads: 0, logLevel: lib.LlamaLogLevel.error, progressLogs: false });
    binding = { lib, llama };
  } catch (error) {
    binding = { error: `node-llama-cpp could not be loaded: ${(error as Error).message}` };
  }
  // CI sets this so that a broken llama.cpp install fails the run instead of skipping the proof.
  if ('error' in binding && process.env.IMPRINT_REQUIRE_LLAMA_CPP === '1') throw new Error(`IMPRINT_REQUIRE_LLAMA_CPP=1 but ${binding.error}`);
});
after(async () => { if (!('error' in binding)) await binding.llama.dispose(); });

/** llama.cpp's log p(next | ids[0..i]) at every position, with the LoRA file applied when given. */
async function llamaCppLogprobs(modelPath: string, ids: number[], vocab: number, loraPath: string | null): Promise<Float64Array[]> {
  if ('error' in binding) throw new Error(binding.error);
  const model = await binding.llama.loadModel({ modelPath, gpuLayers: 0 });
  try {
    const context = await model.createContext({
      contextSize: ids.length + 1, batchSize: ids.length, sequences: 1, flashAttention: false,
      experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
      ...(loraPath === null ? {} : { lora: { adapters: [{ filePath: loraPath, scale: 1 }] } }),
    });
    try {
      const results = await context.getSequence().controlledEvaluate(ids.map((id) => [id as import('node-llama-cpp').Token, { generateNext: { probabilities: true, options: { temperature: 0 } } }]));
      return results.map((result, position) => {
        const probabilities = result?.next?.probabilities;
        assert.ok(probabilities !== undefined && probabilities.size === vocab, `llama.cpp's full distribution at position ${position}`);
        const out = new Float64Array(vocab);
        for (const [token, p] of probabilities) out[token] = Math.log(p);
        return out;
      });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

describe('GGUF LoRA in llama.cpp', () => {
  test('llama.cpp with the exported base and our LoRA file gives our merged model\'s log-probs (F32, within 1e-3)', async (t) => {
    if ('error' in binding) return t.skip(binding.error);
    const { tokenizerJson, tokenizerConfig } = tinyByteLevelTokenizer();
    const vocab = tinyTokenizerSize();
    const checkpoint = randomLlamaCheckpoint({ seed: 41, vocabSize: vocab, hidden: 64, layers: 2, heads: 8, kvHeads: 2, intermediate: 96, tied: false });
    const config = checkpoint.config as RawConfig;
    const weights = weightSourceOf(checkpoint.tensors);
    const spec = parseModelConfig(config, 'random llama');
    const model = new CausalLm(spec, loadWeights(spec, { ...weights, dtype: () => 'F32', close: () => undefined }, 'random llama').params);
    const dir = freshDir();
    const basePath = `${dir}-base.gguf`;
    exportLlamaGguf(basePath, { config, weights, tokenizerJson, tokenizerConfig }, { type: 'F32' });

    // Every Llama module, two kinds and a residual adapter stacked on one, so scalings differ and are folded.
    const set = AdapterSet.create(model, {
      seed: 3,
      adapters: [
        { kind: 'lora', target: { modules: ['q_proj', 'k_proj', 'v_proj', 'gate_proj', 'up_proj'] }, rank: 2, alpha: 4 },
        { kind: 'write', target: { modules: ['o_proj', 'down_proj'] }, rank: 2, alpha: 2, residual: { rank: 1, alpha: 1 } },
      ],
    }, space(5, 64, 'blocks.1.post'));
    randomize(set.parameters(), 11, 0.15);
    const loraPath = `${dir}-lora.gguf`;
    const exported = exportGgufLora(set, loraPath);
    assert.equal(exported.folded, true);

    const ids = Array.from({ length: 24 }, (_, i) => (i * 37 + 11) % vocab);
    const base = nextTokenLogprobs(model, ids);
    const hooked = nextTokenLogprobs(model, ids, set.forwardOptions());
    set.merge();
    let ours: Float32Array[];
    try {
      ours = nextTokenLogprobs(model, ids);
    } finally {
      set.unmerge();
    }
    const moved = Math.max(...ours.map((row, i) => maxAbsDiff(row, base[i])));
    assert.ok(moved > 0.05, `the adapter moves the log-probs (by ${moved})`);
    assert.ok(Math.max(...ours.map((row, i) => maxAbsDiff(row, hooked[i]))) < 1e-4, 'merged = hooked');

    const theirsBase = await llamaCppLogprobs(basePath, ids, vocab, null);
    const theirs = await llamaCppLogprobs(basePath, ids, vocab, loraPath);
    const baseWorst = Math.max(...base.map((row, i) => maxAbsDiff(row, theirsBase[i])));
    const worst = Math.max(...ours.map((row, i) => maxAbsDiff(row, theirs[i])));
    t.diagnostic(`max |Δ logprob| vs llama.cpp: base ${baseWorst.toExponential(2)}, with the LoRA ${worst.toExponential(2)} (the LoRA moves them by up to ${moved.toFixed(3)})`);
    assert.ok(baseWorst <= 1e-3, `base model: ${baseWorst}`);
    assert.ok(worst <= 1e-3, `with the LoRA: max abs log-prob difference ${worst}`);

    // One LoRA config everywhere: B as trained and alpha = s·r = 6, so this checks llama.cpp's scale = alpha / r.
    const uniform = AdapterSet.create(model, { seed: 4, adapters: [{ kind: 'lora', target: { modules: 'all-linear' }, rank: 2, alpha: 6 }] });
    randomize(uniform.parameters(), 12, 0.1);
    const uniformPath = `${dir}-uniform.gguf`;
    assert.equal(exportGgufLora(uniform, uniformPath).folded, false);
    const mine = nextTokenLogprobs(model, ids, uniform.forwardOptions());
    const theirsUniform = await llamaCppLogprobs(basePath, ids, vocab, uniformPath);
    const uniformWorst = Math.max(...mine.map((row, i) => maxAbsDiff(row, theirsUniform[i])));
    const uniformMoved = Math.max(...mine.map((row, i) => maxAbsDiff(row, base[i])));
    t.diagnostic(`uniform LoRA (alpha 6, r 2, B unscaled): max |Δ logprob| ${uniformWorst.toExponential(2)}, moved by ${uniformMoved.toFixed(3)}`);
    assert.ok(uniformMoved > 0.05 && uniformWorst <= 1e-3, `uniform LoRA: ${uniformWorst}`);
  });
});
