import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { readGgufInfo, readGgufTensorFloat32 } from '../src/io/gguf/reader.js';
import { loadModel, type LoadedModel } from '../src/model/load.js';
import { generateText } from '../src/model/generate.js';
import { ActivationDataset } from '../src/features/activations/index.js';
import { loadBundle } from '../src/features/bundles/index.js';
import { differenceOfMeans, meanActivations } from '../src/features/discovery/index.js';
import { loadSaeLens, saeMetrics } from '../src/features/sae/index.js';
import { tinyConfig } from '../src/pretrain/config.js';
import { pretrain, writePretrainOutputs } from '../src/pretrain/trainer.js';
import { contrastPairs } from '../src/world/contrastPairs.js';
import { corpusDocument } from '../src/world/corpus.js';
import { judgeCodingReply } from '../src/world/judges/coding.js';
import { judgedHomeStyle } from '../src/world/judges/home.js';

// The feature commands end to end on a tiny world model trained here (a few
// steps: the model only has to exist, with the world's tokenizer): contrastive
// pairs -> a direction -> an activation dataset -> an SAE -> labels -> a bundle
// -> its listing, HTML page and control vector -> steered generation. Each step
// is checked against what the library computes in process.

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const ok = (...args: string[]) => {
  const child = run(...args);
  assert.equal(child.status, 0, `imprint ${args.join(' ')} failed:\n${child.stderr}`);
  return child.stdout;
};
const fails = (pattern: RegExp, ...args: string[]) => {
  const child = run(...args);
  assert.equal(child.status, 1, `imprint ${args.join(' ')} should fail; stdout:\n${child.stdout}`);
  assert.match(child.stderr, pattern);
};

const texts = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { text: string }).text);
const prompt = (text: string) => text.slice(0, text.indexOf('<|assistant|>'));
const reply = (text: string) => text.slice(text.indexOf('<|assistant|>') + '<|assistant|>'.length, text.lastIndexOf('<|end|>'));
const unit = (v: ArrayLike<number>) => {
  const n = Math.hypot(...Array.from(v));
  return Array.from(v, (x) => x / n);
};
const near = (a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tolerance, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

describe('imprint world / features / activations / sae / bundle / generate --steer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-cli-features-'));
  const at = (name: string) => join(dir, name);
  const modelDir = at('model');
  const point = 'blocks.1.post';
  let loaded: LoadedModel;
  before(() => {
    const result = pretrain({ ...tinyConfig, steps: 3, evalEvery: 3, checkpointEvery: 3, evalSequences: 1 }, { runDir: at('run'), resume: false, quiet: true });
    writePretrainOutputs(result, modelDir);
    loaded = loadModel(modelDir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('world pairs: the same prompt, replies on the two sides of the axis', () => {
    const out = ok('world', 'pairs', '--domain', 'home', '--axis', 'formality', '--side', 'formal', '--count', '16', '--seed', '3', '--pos', at('pos.jsonl'), '--neg', at('neg.jsonl'));
    assert.match(out, /16 pairs on home formality: formal -> .*casual ->/);
    const pos = texts(at('pos.jsonl'));
    const neg = texts(at('neg.jsonl'));
    assert.equal(pos.length, 16);
    assert.equal(neg.length, 16);
    assert.deepEqual({ pos, neg }, { pos: contrastPairs('home', 'formality', 16, 3, { side: 'formal' }).pos, neg: contrastPairs('home', 'formality', 16, 3, { side: 'formal' }).neg });
    pos.forEach((p, i) => {
      assert.ok(p.startsWith('<|bos|><|user|>'), 'no system turn: the style is in the reply only');
      assert.equal(prompt(p), prompt(neg[i]));
      assert.notEqual(reply(p), reply(neg[i]));
    });
    // The world's own judge reads the intended side off nearly every reply.
    const formal = pos.filter((p) => judgedHomeStyle(reply(p)).formality === 'formal').length;
    const casual = neg.filter((n) => judgedHomeStyle(reply(n)).formality === 'casual').length;
    assert.ok(formal >= 14 && casual >= 14, `judged formal ${formal}/16, casual ${casual}/16`);

    ok('world', 'pairs', '--domain', 'coding', '--axis', 'role', '--side', 'fixer', '--count', '6', '--pos', at('cpos.jsonl'), '--neg', at('cneg.jsonl'));
    const cpos = texts(at('cpos.jsonl'));
    const cneg = texts(at('cneg.jsonl'));
    cpos.forEach((p, i) => assert.equal(prompt(p), prompt(cneg[i])));
    assert.deepEqual(cpos.map((p) => judgeCodingReply(reply(p)).role.label), Array(6).fill('fixer'));
    assert.deepEqual(new Set(cneg.map((n) => judgeCodingReply(reply(n)).role.label)), new Set(['architect', 'techlead', 'machine']));
  });

  test('features find: the difference of means the library computes, with diagnostics and provenance', () => {
    const out = ok('features', 'find', '--model', modelDir, '--pos', at('pos.jsonl'), '--neg', at('neg.jsonl'), '--point', point, '--out', at('formal.json'));
    assert.match(out, /direction at blocks\.1\.post by diff-means over all positions: 16 positive, 16 negative texts/);
    assert.match(out, /separation -?[\d.]+ .* accuracy [\d.]+/);
    const file = JSON.parse(readFileSync(at('formal.json'), 'utf8'));
    const { model, tokenizer } = loaded;
    const options = { positions: 'all' as const, maxTokensPerText: model.spec.maxPositions };
    const pos = meanActivations(model, tokenizer!, texts(at('pos.jsonl')), point, options);
    const neg = meanActivations(model, tokenizer!, texts(at('neg.jsonl')), point, options);
    const expected = differenceOfMeans(pos, neg, model.spec.hiddenSize);
    near(file.direction, expected.direction, 1e-6, 'direction');
    assert.ok(Math.abs(file.diagnostics.accuracy - expected.diagnostics.accuracy) < 1e-12);
    assert.equal(file.point, point);
    assert.equal(file.model.hiddenSize, 32);
    assert.equal(file.provenance.method, 'contrastive-diff-means');
    assert.deepEqual(file.provenance.counts, { positive: 16, negative: 16 });
    assert.match(file.provenance.command, /^imprint features find .*--point blocks\.1\.post/);
  });

  test('activations: one row per token of the world documents, in shards', () => {
    const out = ok('activations', '--model', modelDir, '--world', '12', '--points', point, '--out', at('acts'), '--rows-per-shard', '1000', '--batch', '4');
    const dataset = ActivationDataset.open(at('acts'));
    const tokens = Array.from({ length: 12 }, (_, i) => Math.min(loaded.tokenizer!.encode(corpusDocument(1, i).text).length, loaded.model.spec.maxPositions));
    assert.equal(dataset.rows, tokens.reduce((a, b) => a + b, 0));
    assert.equal(dataset.shardCount, Math.ceil(dataset.rows / 1000));
    assert.ok(dataset.complete);
    assert.equal(out.trim(), `${dataset.rows} rows from 12 texts in ${dataset.shardCount} shards at ${point} -> ${at('acts')}`);
  });

  test('sae train writes a SAELens TopK SAE; sae eval reports its metrics and spliced cross-entropy', () => {
    const out = ok('sae', 'train', '--data', at('acts'), '--latents', '32', '--k', '4', '--steps', '30', '--batch', '64', '--lr', '3e-3', '--b-dec', 'mean', '--out', at('sae'));
    assert.match(out, /trained 32 latents \(k 4\) at blocks\.1\.post for 30 steps on 1920 rows/);
    const sae = loadSaeLens(at('sae'));
    assert.deepEqual([sae.config.architecture, sae.dSae, sae.config.k, sae.config.hookName], ['topk', 32, 4, point]);

    const report = JSON.parse(ok('sae', 'eval', '--sae', at('sae'), '--data', at('acts'), '--model', modelDir, '--sequences', '3', '--json'));
    const dataset = ActivationDataset.open(at('acts'));
    const rows = new Float32Array(dataset.rows * dataset.d);
    for (let s = 0, filled = 0; s < dataset.shardCount; s++) {
      const shard = dataset.readShard(s, point);
      rows.set(shard, filled);
      filled += shard.length;
    }
    const expected = saeMetrics(sae, rows);
    assert.equal(report.rows, dataset.rows);
    assert.ok(Math.abs(report.explainedVariance - expected.explainedVariance) < 1e-9);
    assert.ok(report.explainedVariance > 0, 'thirty steps already reconstruct part of the stream');
    assert.ok(report.meanL0 > 0 && report.meanL0 <= 4);
    assert.equal(report.deadFraction, expected.deadFraction);
    const ce = report.splicedCrossEntropy;
    assert.ok(ce.tokens > 0 && Number.isFinite(ce.clean) && Number.isFinite(ce.spliced) && Number.isFinite(ce.zeroAblation));
    assert.match(ok('sae', 'eval', '--sae', at('sae'), '--data', at('acts')), /explained variance [\d.-]+, .*\n.*mean L0 [\d.]+, dead latents [\d.]+%/);
  });

  test('features find --sae ranks latents; features label and sae show list top contexts and the logit lens', () => {
    const out = ok('features', 'find', '--model', modelDir, '--pos', at('pos.jsonl'), '--neg', at('neg.jsonl'), '--point', point, '--method', 'pca', '--positions', 'last', '--sae', at('sae'), '--top', '3', '--out', at('formal-pca.json'));
    assert.match(out, /pair accuracy [\d.]+/);
    const file = JSON.parse(readFileSync(at('formal-pca.json'), 'utf8'));
    assert.equal(file.provenance.method, 'contrastive-pca');
    assert.equal(file.saeFeatures.ranked.length, 3);
    assert.ok(file.saeFeatures.ranked[0].score >= file.saeFeatures.ranked[2].score);

    const label = ok('features', 'label', '--model', modelDir, '--data', at('acts'), '--direction', at('formal.json'), '--top', '4');
    const lines = label.split('\n');
    assert.match(lines[0], /^top 4 contexts at blocks\.1\.post/);
    assert.match(lines[1], /«.+»/);
    // The first context is the row projecting highest on the direction.
    const direction = Float32Array.from(JSON.parse(readFileSync(at('formal.json'), 'utf8')).direction);
    const dataset = ActivationDataset.open(at('acts'));
    let best = -Infinity;
    for (let s = 0; s < dataset.shardCount; s++) {
      const rows = dataset.readShard(s, point);
      for (let r = 0; r < rows.length / 32; r++) best = Math.max(best, rows.subarray(r * 32, r * 32 + 32).reduce((a, v, i) => a + v * direction[i], 0));
    }
    assert.ok(Math.abs(Number(lines[1].trim().split(/\s+/)[0]) - best) < 1e-3);
    assert.match(label, /\npromoted: {3}".*" -?[\d.]+, /);
    assert.match(label, /\nsuppressed: ".*" -?[\d.]+, /);

    const shown = ok('sae', 'show', '--sae', at('sae'), '--data', at('acts'), '--model', modelDir, '--feature', '3', '--top', '2');
    assert.match(shown, /^latent 3 of .*\ntop 2 contexts at blocks\.1\.post/);
    assert.match(shown, /promoted: /);
  });

  test('bundle create / show / export: a vector and an SAE feature, provenance carried, HTML escaped, a control vector', () => {
    const bundles = at('bundles');
    const out = ok('bundle', 'create', '--name', 'tone', '--model', modelDir, '--point', point, '--out', bundles,
      '--feature', `formal register=${at('formal.json')}:formality:formal`, '--sae-feature', `latent three=${at('sae')}#3`,
      '--data', at('acts'), '--top', '3', '--description', '<script>alert("x")</script> & tone');
    assert.match(out, /bundle tone: 2 features \(formal-register, latent-three\) at blocks\.1\.post/);
    const { bundle, vectors } = loadBundle(join(bundles, 'tone.bundle.json'));
    const [vector, latent] = bundle.features;
    assert.equal(vector.kind, 'vector');
    assert.deepEqual([vector.axis, vector.side], ['formality', 'formal']);
    const direction = JSON.parse(readFileSync(at('formal.json'), 'utf8'));
    near(vectors.get('formal-register')!, direction.direction, 0, 'stored vector');
    assert.deepEqual(vector.provenance, direction.provenance);
    assert.equal(vector.topContexts!.length, 3);
    assert.equal(vector.promotedTokens!.length, 3);
    assert.equal(latent.kind, 'sae');
    if (latent.kind === 'sae') {
      assert.equal(latent.index, 3);
      assert.equal(latent.sae, '../sae', 'SAE paths are relative to the bundle');
    }
    assert.equal(latent.provenance.method, 'manual');
    assert.match(latent.provenance.command!, /^imprint bundle create --name tone /);

    // An SAE latent named through a features find --sae result records how it was found.
    const ranked = JSON.parse(readFileSync(at('formal-pca.json'), 'utf8')).saeFeatures.ranked as { feature: number }[];
    ok('bundle', 'create', '--name', 'ranked', '--model', modelDir, '--point', point, '--out', bundles,
      '--sae-feature', `second=${at('formal-pca.json')}#${ranked[1].feature}:formality:formal`);
    const fromRanking = loadBundle(join(bundles, 'ranked.bundle.json')).bundle.features[0];
    assert.equal(fromRanking.provenance.method, 'sae-differential');
    assert.match(fromRanking.provenance.data, new RegExp(`^latent ${ranked[1].feature} of the SAE at .*sae, ranked 2 of 3 by differential activation .* between 16 texts of`));
    if (fromRanking.kind === 'sae') assert.equal(fromRanking.sae, '../sae');
    const unranked = [...Array(32).keys()].find((i) => !ranked.some((r) => r.feature === i))!;
    fails(new RegExp(`latent ${unranked} is not in the ranking of .*formal-pca\\.json \\(it lists`), 'bundle', 'create', '--name', 'nope', '--model', modelDir,
      '--point', point, '--out', bundles, '--sae-feature', `x=${at('formal-pca.json')}#${unranked}`);
    fails(/holds no SAE ranking; run features find with --sae/, 'bundle', 'create', '--name', 'nope', '--model', modelDir, '--point', point, '--out', bundles,
      '--sae-feature', `x=${at('formal.json')}#1`);

    const shown = ok('bundle', 'show', join(bundles, 'tone.bundle.json'), '--html', at('tone.html'));
    assert.match(shown, /\[1\] formal-register: formal register\n {4}axis formality, side formal/);
    assert.match(shown, /\[2\] latent-three: latent three\n {4}source: SAE \.\.\/sae latent 3/);
    assert.match(shown, /command: imprint features find/);
    const html = readFileSync(at('tone.html'), 'utf8');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; tone'));
    assert.ok(!html.includes('<script>'));

    ok('bundle', 'export', join(bundles, 'tone.bundle.json'), '--to', 'control-vector', '--out', at('tone.gguf'), '--scale', 'formal-register=4', '--scale', 'latent three=-2');
    const info = readGgufInfo(at('tone.gguf'));
    assert.equal(info.metadata.get('general.architecture'), 'controlvector');
    assert.deepEqual(info.tensors.map((t) => t.name), ['direction.1']);
    const decoder = loadSaeLens(at('sae')).decoderWeight.data.subarray(3 * 32, 4 * 32);
    const expected = unit(direction.direction).map((v, i) => 4 * v - 2 * unit(decoder)[i]);
    near(readGgufTensorFloat32(at('tone.gguf'), info, 'direction.1'), expected, 1e-5, 'direction.1');
  });

  test('generate --steer: scale 0 is the unsteered text; a bundle name resolves in the model\'s bundles/', async () => {
    const base = ['generate', '--model', modelDir, '--prompt', '<|bos|><|user|>Hello<|end|>\n<|assistant|>', '--max-tokens', '10', '--temperature', '0.9', '--seed', '5'];
    const plain = ok(...base);
    const expected = await generateText(loaded.model, loaded.tokenizer!, '<|bos|><|user|>Hello<|end|>\n<|assistant|>', { maxTokens: 10, temperature: 0.9, seed: 5 });
    assert.equal(plain, `${expected.results[0].text}\n`);
    const path = join(at('bundles'), 'tone.bundle.json');
    assert.equal(ok(...base, '--steer', `${path}:formal-register=0`, '--steer', `${path}:latent three=0`), plain);
    assert.notEqual(ok(...base, '--steer', `${path}:formal-register=80`), plain);

    mkdirSync(join(modelDir, 'bundles'));
    cpSync(join(at('bundles'), 'tone.bundle.json'), join(modelDir, 'bundles', 'tone.bundle.json'));
    cpSync(join(at('bundles'), 'tone.bundle.safetensors'), join(modelDir, 'bundles', 'tone.bundle.safetensors'));
    assert.equal(ok(...base, '--steer', 'tone:formal register=0'), plain);
  });

  test('errors name the bad input: missing files, bad --steer, unknown axis', () => {
    fails(/unknown home axis "tone"; expected one of directness, formality, warmth, detail/, 'world', 'pairs', '--domain', 'home', '--axis', 'tone', '--count', '2', '--pos', at('x'), '--neg', at('y'));
    fails(/"hot" is not a value of the home axis warmth; expected one of warm, neutral/, 'world', 'pairs', '--domain', 'home', '--axis', 'warmth', '--side', 'hot', '--count', '2', '--pos', at('x'), '--neg', at('y'));
    fails(/--count must be a positive integer, got '0'/, 'world', 'pairs', '--domain', 'home', '--axis', 'warmth', '--count', '0', '--pos', at('x'), '--neg', at('y'));
    fails(/--pos .*nope\.jsonl does not exist; expected a JSONL file/, 'features', 'find', '--model', modelDir, '--pos', at('nope.jsonl'), '--neg', at('neg.jsonl'), '--point', point);
    fails(/--data .*nope does not exist; expected an activation dataset/, 'sae', 'train', '--data', at('nope'), '--latents', '8', '--k', '2', '--out', at('s2'));
    fails(/--sae .*nosae does not exist; expected an SAE directory/, 'features', 'label', '--model', modelDir, '--data', at('acts'), '--sae', at('nosae'), '--feature', '1');
    fails(/--feature .*formal\.json was found at blocks\.1\.post, but the bundle's --point is blocks\.0\.post/, 'bundle', 'create', '--name', 'b', '--model', modelDir, '--point', 'blocks.0.post', '--out', at('b'), '--feature', `x=${at('formal.json')}`);
    fails(/latent 99 is outside 0\.\.31/, 'bundle', 'create', '--name', 'b', '--model', modelDir, '--point', point, '--out', at('b'), '--sae-feature', `x=${at('sae')}#99`);
    fails(/bundle .*nope\.bundle\.json does not exist/, 'bundle', 'show', at('nope.bundle.json'));
    const path = join(at('bundles'), 'tone.bundle.json');
    fails(/--steer 'hello': no ":" between the bundle and the feature/, 'generate', '--model', modelDir, '--prompt', 'x', '--steer', 'hello');
    fails(/no "=scale" after the feature/, 'generate', '--model', modelDir, '--prompt', 'x', '--steer', `${path}:formal-register`);
    fails(/scale "lots" is not a finite number/, 'generate', '--model', modelDir, '--prompt', 'x', '--steer', `${path}:formal-register=lots`);
    fails(/bundle "tone" has no feature with id or label "warmth"/, 'generate', '--model', modelDir, '--prompt', 'x', '--steer', `${path}:warmth=2`);
    fails(/bundle "missing" not found; looked for .*missing\.bundle\.json/, 'generate', '--model', modelDir, '--prompt', 'x', '--steer', 'missing:x=1');
    fails(/--to must be control-vector/, 'bundle', 'export', path, '--to', 'onnx', '--out', at('x.gguf'), '--scale', 'formal-register=1');
    assert.ok(!existsSync(at('x')), 'a failed command writes nothing');
  });
});
