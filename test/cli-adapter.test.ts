import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  AdapterSet, type AdapterSetConfig, AdapterStore, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, featureSpaceFromDirections, toGgufLora, toPeft,
} from '../src/adapt/index.js';
import { readGgufInfo, readGgufTensorFloat32 } from '../src/io/gguf/reader.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { loadModel } from '../src/model/load.js';
import { saveModel } from '../src/model/save.js';
import { Random } from '../src/tensor/index.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';
import { snapshot } from './support/fileSnapshot.js';

// `imprint adapter list | show | rollback | export` end to end: a tiny random
// Llama saved as a model directory, a store with two committed versions, and
// the CLI spawned on copies of it. Every output is checked against what the
// store and the exporters compute in process, and every bad input against a
// clear message, exit status 1 and an unchanged file system.

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const ok = (...args: string[]) => {
  const child = run(...args);
  assert.equal(child.status, 0, `imprint ${args.join(' ')} failed:\n${child.stderr}`);
  return child.stdout;
};
const fails = (pattern: RegExp, ...args: string[]) => {
  const child = run(...args);
  assert.equal(child.status, 1, `imprint ${args.join(' ')} should fail with status 1; stdout:\n${child.stdout}\nstderr:\n${child.stderr}`);
  assert.match(child.stderr, pattern);
  // One line: "imprint: <message>".
  assert.equal(child.stderr.trim().split('\n').length, 1, `one-line error expected, got:\n${child.stderr}`);
  return child.stderr;
};

const scratch = mkdtempSync(join(tmpdir(), 'imprint-cli-adapter-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let count = 0;
const fresh = (name: string) => join(scratch, `${name}-${count++}`);
const modelDir = join(scratch, 'model');
const baseStore = join(scratch, 'store');
const reftStore = join(scratch, 'store-reft');

/** A copy of the two-version store, so that each test starts from the same history. */
function storeCopy(from = baseStore): string {
  const dir = fresh('store');
  cpSync(from, dir, { recursive: true });
  return dir;
}

const tensorFile = (store: string, version: number) => join(store, 'versions', String(version).padStart(6, '0'), 'adapter.safetensors');

const config: AdapterSetConfig = {
  seed: 3,
  adapters: [
    { kind: 'write', target: { modules: ['o_proj'], layers: [0] }, rank: 2, alpha: 4, residual: { rank: 1 } },
    { kind: 'lora', target: { modules: ['v_proj'], layers: [1] }, rank: 2, alpha: 2 },
  ],
};
const modules = ['model.layers.0.self_attn.o_proj', 'model.layers.1.self_attn.v_proj'];

function space(width: number) {
  const rng = new Random(5);
  return featureSpaceFromDirections({ name: 'tone', hookPoint: 'blocks.0.post', width, ids: ['formal', 'warm', 'brief'], directions: Float32Array.from({ length: 3 * width }, () => rng.normal()) });
}

before(() => {
  const { model } = randomModel(tinyConfigs.llama, 1);
  saveModel(modelDir, model, tinyConfigs.llama);
  const features = space(model.spec.hiddenSize);
  const set = AdapterSet.create(model, config, features);
  const store = AdapterStore.open(baseStore);
  const rng = new Random(11);
  for (const p of set.parameters()) rng.fillNormal(p.data, 0.3);
  store.commit(set, { metrics: { loss: 1.5, gate: { weight: 0.8 } } });
  for (const p of set.parameters()) rng.fillNormal(p.data, 0.3);
  store.commit(set, { metrics: { loss: 0.75, gate: { weight: 0.9 } } });

  const withEdit = AdapterSet.create(model, { adapters: [...config.adapters, { kind: 'reft' }] }, features);
  for (const p of withEdit.parameters()) rng.fillNormal(p.data, 0.3);
  AdapterStore.open(reftStore).commit(withEdit, { metrics: { loss: 2 } });
});

describe('imprint adapter list', () => {
  test('shows both versions, oldest first, with the current marker on version 2 only', () => {
    const dir = storeCopy();
    const lines = ok('adapter', 'list', dir).trim().split('\n');
    assert.match(lines[0], /2 versions, current 2/);
    const v1 = lines.find((l) => /^\*?\s+1\s/.test(l));
    const v2 = lines.find((l) => /^\*?\s+2\s/.test(l));
    assert.ok(v1 !== undefined && v2 !== undefined, `rows for versions 1 and 2:\n${lines.join('\n')}`);
    assert.ok(lines.indexOf(v1) < lines.indexOf(v2));
    assert.ok(v2.startsWith('*'), `version 2 is current: ${v2}`);
    assert.ok(!v1.startsWith('*'), `version 1 is not: ${v1}`);
    assert.match(v1, /loss=1\.5 gate\.weight=0\.8/);
    assert.match(v2, /loss=0\.75 gate\.weight=0\.9/);
    assert.match(v2, /write,lora/);

    const listed = JSON.parse(ok('adapter', 'list', dir, '--json'));
    assert.equal(listed.current, 2);
    assert.deepEqual(listed.versions.map((v: { version: number }) => v.version), [1, 2]);
    assert.deepEqual(listed.versions.map((v: { current: boolean }) => v.current), [false, true]);
    assert.deepEqual(listed.versions.map((v: { parent: number | null }) => v.parent), [null, 1]);
    assert.deepEqual(listed.versions.map((v: { rollbackOf: number | null }) => v.rollbackOf), [null, null]);
    assert.deepEqual(listed.versions[0].metrics, { loss: 1.5, gate: { weight: 0.8 } });
    assert.deepEqual(listed.versions[1].kinds, ['write', 'lora']);
    const store = AdapterStore.open(dir);
    assert.equal(listed.versions[1].sha256, store.show(2).tensors.sha256);
    assert.equal(listed.versions[0].created, store.show(1).created);
  });

  test('an empty store lists no versions', () => {
    const dir = fresh('empty');
    mkdirSync(join(dir, 'versions'), { recursive: true });
    assert.match(ok('adapter', 'list', dir), /no versions yet/);
    assert.deepEqual(JSON.parse(ok('adapter', 'list', dir, '--json')).versions, []);
  });
});

describe('imprint adapter show', () => {
  test('--json: config, metrics, tensor sizes and sha256 of the version asked for (default the current one)', () => {
    const dir = storeCopy();
    const store = AdapterStore.open(dir);
    const shown = JSON.parse(ok('adapter', 'show', dir, '--version', '1', '--json'));
    assert.equal(shown.version, 1);
    assert.equal(shown.current, false);
    assert.equal(shown.parent, null);
    assert.equal(shown.rollbackOf, null);
    assert.deepEqual(shown.kinds, ['write', 'lora']);
    assert.deepEqual(shown.bundle, { name: 'tone', hookPoint: 'blocks.0.post', features: ['formal', 'warm', 'brief'] });
    assert.deepEqual(shown.config, config);
    assert.deepEqual(shown.metrics, { loss: 1.5, gate: { weight: 0.8 } });
    assert.equal(shown.learner, null, 'committed without a learner state');
    assert.match(ok('adapter', 'show', dir, '--version', '1'), /learner state: none \(a learner continuing from this version starts a fresh optimiser\)/);
    // The linear adapters with their modules and ranks (the residual LoRA beside the write adapter has rank 1).
    const adapters = shown.adapters.map((a: { module: string; kind: string; role: string; rank: number }) => [a.module, a.role === 'residual' ? 'residual' : a.kind, a.rank]);
    assert.deepEqual(adapters, [[modules[0], 'write', 2], [modules[0], 'residual', 1], [modules[1], 'lora', 2]]);
    const bytes = readFileSync(tensorFile(dir, 1));
    assert.equal(shown.tensors.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(shown.tensors.bytes, bytes.byteLength);
    assert.equal(shown.tensors.verified, true);
    const file = SafetensorsFile.open(tensorFile(dir, 1));
    try {
      const expected = [...file.entries.values()].map((e) => ({ name: e.name, dtype: e.dtype, shape: e.shape, bytes: e.byteLength }));
      assert.deepEqual(shown.tensors.entries, expected);
      assert.ok(expected.length >= 5);
    } finally {
      file.close();
    }
    assert.equal(shown.featureNorms, undefined, 'norms only with --model');

    const current = JSON.parse(ok('adapter', 'show', dir, '--json'));
    assert.equal(current.version, 2);
    assert.equal(current.current, true);
    assert.equal(current.parent, 1);
    assert.equal(current.tensors.sha256, store.show(2).tensors.sha256);
    assert.notEqual(current.tensors.sha256, shown.tensors.sha256);

    const text = ok('adapter', 'show', dir, '--version', '1');
    assert.match(text, /version 1 of adapter store/);
    assert.match(text, /bundle: tone at blocks\.0\.post, 3 features/);
    assert.match(text, /write {2}\[o_proj\] in layers \[0\] {2}rank 2/);
    assert.match(text, new RegExp(`sha256 ${shown.tensors.sha256} \\(checked\\)`));
  });

  test('--model adds the per-feature norms the set reports when loaded on that model', () => {
    const dir = storeCopy();
    const shown = JSON.parse(ok('adapter', 'show', dir, '--version', '1', '--model', modelDir, '--json'));
    const { model } = loadModel(modelDir);
    const expected = AdapterStore.open(dir).load(model, 1).featureNorms();
    assert.deepEqual(Object.keys(shown.featureNorms.byFeature).sort(), Object.keys(expected.byFeature).sort());
    assert.ok(Object.keys(expected.byFeature).length > 0);
    for (const [id, norm] of Object.entries(expected.byFeature)) {
      assert.ok(norm > 0, `${id}: a non-zero norm`);
      assert.ok(Math.abs(shown.featureNorms.byFeature[id] - norm) <= 1e-9 * Math.max(1, norm), `${id}: ${shown.featureNorms.byFeature[id]} vs ${norm}`);
    }
    assert.deepEqual(shown.featureNorms.adapters.map((a: { name: string }) => a.name), expected.adapters.map((a) => a.name));
    // Version 2 has other weights, so other norms: the flag is honoured.
    const second = JSON.parse(ok('adapter', 'show', dir, '--model', modelDir, '--json'));
    assert.notDeepEqual(second.featureNorms.byFeature, shown.featureNorms.byFeature);
    assert.match(ok('adapter', 'show', dir, '--model', modelDir), /norm along each feature/);
  });
});

describe('imprint adapter rollback', () => {
  test('--to 1 makes version 3, a copy of 1 with identical tensors, and makes it current', () => {
    const dir = storeCopy();
    const out = ok('adapter', 'rollback', dir, '--to', '1', '--reason', 'user asked');
    assert.match(out, /new version 3 \(a copy of 1\) is current/);
    const store = AdapterStore.open(dir);
    assert.equal(store.current(), 3);
    assert.deepEqual(store.versions(), [1, 2, 3]);
    const record = store.show(3);
    assert.equal(record.rollbackOf, 1);
    assert.equal(record.parent, 2);
    assert.deepEqual(record.metrics, { reason: 'user asked' });
    assert.deepEqual(readFileSync(tensorFile(dir, 3)), readFileSync(tensorFile(dir, 1)));
    assert.notDeepEqual(readFileSync(tensorFile(dir, 3)), readFileSync(tensorFile(dir, 2)));
    const listed = JSON.parse(ok('adapter', 'list', dir, '--json'));
    assert.deepEqual(listed.versions.map((v: { current: boolean }) => v.current), [false, false, true]);
    assert.equal(listed.versions[2].rollbackOf, 1);
    assert.match(ok('adapter', 'list', dir), /of 1/);

    const again = JSON.parse(ok('adapter', 'rollback', dir, '--to', '2', '--json'));
    assert.deepEqual([again.version, again.rollbackOf, again.parent, again.current], [4, 2, 3, 4]);
  });
});

describe('imprint adapter export', () => {
  test('--format peft writes adapter_config.json and adapter_model.safetensors with PEFT names, from the version asked for', () => {
    const dir = storeCopy();
    const out = fresh('peft');
    const printed = ok('adapter', 'export', dir, '--format', 'peft', '--out', out, '--version', '1', '--model', modelDir);
    assert.match(printed, /PEFT LoRA adapter \(2 modules/);
    assert.deepEqual(readdirSync(out).sort(), [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE].sort());
    const peftConfig = JSON.parse(readFileSync(join(out, PEFT_CONFIG_FILE), 'utf8'));
    assert.equal(peftConfig.peft_type, 'LORA');
    assert.deepEqual([...peftConfig.target_modules].sort(), [...modules].sort());

    const { model } = loadModel(modelDir);
    const expected = toPeft(AdapterStore.open(dir).load(model, 1));
    assert.deepEqual(peftConfig.r, expected.config.r);
    assert.deepEqual(peftConfig.lora_alpha, expected.config.lora_alpha);
    const file = SafetensorsFile.open(join(out, PEFT_WEIGHTS_FILE));
    try {
      const names = modules.flatMap((m) => [`base_model.model.${m}.lora_A.weight`, `base_model.model.${m}.lora_B.weight`]).sort();
      assert.deepEqual([...file.entries.keys()].sort(), names);
      for (const t of expected.tensors) {
        assert.deepEqual(file.entries.get(t.name)!.shape, t.shape, t.name);
        assert.deepEqual(file.readFloat32(t.name), Float32Array.from(t.data), `${t.name}: version 1's values`);
      }
    } finally {
      file.close();
    }
    const other = toPeft(AdapterStore.open(dir).load(model, 2));
    assert.notDeepEqual(Float32Array.from(other.tensors[1].data), Float32Array.from(expected.tensors[1].data), 'versions 1 and 2 differ, so the check above means something');

    const json = JSON.parse(ok('adapter', 'export', dir, '--format', 'peft', '--out', fresh('peft'), '--model', modelDir, '--json'));
    assert.equal(json.version, 2);
    assert.deepEqual(json.tensors, other.tensors.map((t) => t.name));
  });

  test('--format gguf writes a file our GGUF reader parses as a llama.cpp LoRA adapter', () => {
    const dir = storeCopy();
    const out = join(fresh('gguf'), 'nested', 'adapter.gguf');
    assert.match(ok('adapter', 'export', dir, '--format', 'gguf', '--out', out, '--model', modelDir), /GGUF LoRA adapter \(2 modules/);
    const info = readGgufInfo(out);
    assert.equal(info.metadata.get('general.type'), 'adapter');
    assert.equal(info.metadata.get('adapter.type'), 'lora');
    assert.equal(info.metadata.get('general.architecture'), 'llama');
    const names = ['blk.0.attn_output.weight', 'blk.1.attn_v.weight'].flatMap((b) => [`${b}.lora_a`, `${b}.lora_b`]);
    assert.deepEqual(info.tensors.map((t) => t.name).sort(), names.sort());
    const { model } = loadModel(modelDir);
    const expected = toGgufLora(AdapterStore.open(dir).load(model));
    assert.equal(info.metadata.get('adapter.lora.alpha'), expected.alpha);
    for (const t of expected.tensors) assert.deepEqual(readGgufTensorFloat32(out, info, t.name), Float32Array.from(t.data), t.name);
  });

  test('a representation edit is refused with its reason and the --omit-residual-sites flag; nothing is written; with the flag only the linear adapters are', () => {
    const dir = storeCopy(reftStore);
    for (const format of ['peft', 'gguf']) {
      const out = join(fresh('refused'), format === 'peft' ? 'peft' : 'a.gguf');
      const message = fails(/representation edit acts on the residual stream.*--omit-residual-sites.*Nothing was written/, 'adapter', 'export', dir, '--format', format, '--out', out, '--model', modelDir);
      assert.doesNotMatch(message, /residualSites: 'omit'/);
      assert.equal(existsSync(out), false, `${format}: nothing written`);
      assert.equal(existsSync(join(out, '..')), false, `${format}: not even the parent directory`);
    }
    const out = fresh('omitted');
    const child = run('adapter', 'export', dir, '--format', 'peft', '--out', out, '--model', modelDir, '--omit-residual-sites');
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stderr, /left out .*\(reft\)/);
    const file = SafetensorsFile.open(join(out, PEFT_WEIGHTS_FILE));
    try {
      assert.equal(file.entries.size, 4);
    } finally {
      file.close();
    }
  });
});

describe('bad input: one-line errors, exit status 1, nothing written', () => {
  test('a missing directory or one that is not a store', () => {
    const missing = join(scratch, 'no-such-store');
    for (const sub of [['list'], ['show'], ['rollback', '--to', '1'], ['export', '--format', 'peft', '--out', join(scratch, 'never')]]) {
      fails(/no-such-store does not exist; expected an adapter store directory/, 'adapter', sub[0], missing, ...sub.slice(1));
      assert.equal(existsSync(missing), false, `${sub[0]} created nothing`);
    }
    assert.equal(existsSync(join(scratch, 'never')), false);
    const plain = fresh('plain');
    mkdirSync(plain);
    writeFileSync(join(plain, 'notes.txt'), 'hello');
    fails(/is not an adapter store: it has no versions\/ directory/, 'adapter', 'list', plain);
    fails(/is not an adapter store/, 'adapter', 'rollback', plain, '--to', '1');
    assert.deepEqual(readdirSync(plain), ['notes.txt']);
    fails(/is a file, not a directory/, 'adapter', 'show', join(plain, 'notes.txt'));
  });

  test('an unknown version', () => {
    const dir = storeCopy();
    const before = snapshot(dir);
    fails(/--version 9: adapter store .* has no version 9; its versions are 1, 2/, 'adapter', 'show', dir, '--version', '9');
    fails(/--to 9: adapter store .* has no version 9; its versions are 1, 2/, 'adapter', 'rollback', dir, '--to', '9');
    const out = fresh('never');
    fails(/--version 9: .* has no version 9/, 'adapter', 'export', dir, '--format', 'peft', '--out', out, '--version', '9', '--model', modelDir);
    fails(/--version must be a version number \(an integer >= 1/, 'adapter', 'show', dir, '--version', 'two');
    fails(/--to must be a version number/, 'adapter', 'rollback', dir, '--to', '0');
    fails(/--to N is required/, 'adapter', 'rollback', dir);
    assert.equal(existsSync(out), false);
    assert.deepEqual(snapshot(dir), before);
  });

  test('an unknown format, a missing --out, an unknown flag', () => {
    const dir = storeCopy();
    const before = snapshot(dir);
    const out = fresh('never');
    fails(/--format must be peft or gguf, got 'onnx'/, 'adapter', 'export', dir, '--format', 'onnx', '--out', out);
    fails(/--format is required/, 'adapter', 'export', dir, '--out', out);
    fails(/--out PATH is required/, 'adapter', 'export', dir, '--format', 'gguf');
    fails(/--type must be f32 or f16 for --format gguf, got 'bf16'/, 'adapter', 'export', dir, '--format', 'gguf', '--out', out, '--type', 'bf16');
    fails(/Unknown option '--frmat'/, 'adapter', 'export', dir, '--frmat', 'peft');
    fails(/unknown subcommand 'delete'; expected list, show, rollback or export/, 'adapter', 'delete', dir);
    assert.equal(existsSync(out), false);
    assert.deepEqual(snapshot(dir), before);
  });

  test('a version made for another model: the default (shipped) model is refused with the shapes and a pointer to --model', () => {
    const dir = storeCopy();
    const out = fresh('never');
    fails(/cannot be loaded on the shipped model .*pass --model DIR.*made for a llama model with hidden size 16/, 'adapter', 'export', dir, '--format', 'peft', '--out', out);
    assert.equal(existsSync(out), false);
  });

  test('a corrupt version: show, rollback and export refuse it, list still lists it and --verify flags it', () => {
    const dir = storeCopy();
    const path = tensorFile(dir, 1);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(path, bytes);
    const before = snapshot(dir);
    fails(/adapter\.safetensors: corrupt: .* sha256 .*Version 1 cannot be read/, 'adapter', 'show', dir, '--version', '1');
    fails(/corrupt/, 'adapter', 'rollback', dir, '--to', '1');
    const out = fresh('never');
    fails(/corrupt/, 'adapter', 'export', dir, '--format', 'gguf', '--out', out, '--version', '1', '--model', modelDir);
    assert.equal(existsSync(out), false);
    assert.deepEqual(snapshot(dir), before);
    // Version 2 is unaffected.
    assert.equal(JSON.parse(ok('adapter', 'show', dir, '--json')).version, 2);
    const listed = JSON.parse(ok('adapter', 'list', dir, '--json'));
    assert.deepEqual(listed.versions.map((v: { version: number }) => v.version), [1, 2]);
    const verify = run('adapter', 'list', dir, '--verify');
    assert.equal(verify.status, 1);
    assert.match(verify.stdout, /CORRUPT: .*corrupt/);
    assert.equal(verify.stdout.split('\n').filter((l) => /CORRUPT/.test(l)).length, 1, 'only version 1');

    // A record that is not JSON: list shows the version as unreadable, show refuses it.
    writeFileSync(join(dir, 'versions', '000002', 'adapter.json'), '{ not json');
    assert.match(ok('adapter', 'list', dir), /UNREADABLE: .*adapter\.json: is not valid JSON/);
    fails(/adapter\.json: is not valid JSON/, 'adapter', 'show', dir);
  });
});

describe('help', () => {
  test('adapter is listed at the top level, and each subcommand has its help', () => {
    assert.match(ok('--help'), /^ {2}adapter +versions of an adapter store/m);
    assert.match(ok('adapter', '--help'), /imprint adapter list DIR[\s\S]*imprint adapter show DIR[\s\S]*imprint adapter rollback DIR --to N[\s\S]*imprint adapter export DIR --format peft\|gguf/);
    for (const sub of ['list', 'show', 'rollback', 'export']) assert.match(ok('adapter', sub, '--help'), new RegExp(`^usage: imprint adapter ${sub} DIR`));
  });
});
