import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { writeSafetensors } from '../src/io/safetensors.js';
import { Random } from '../src/tensor/index.js';
import {
  type Bundle, type DirectionMatrix, bundleDirections, findFeature, loadBundle, orthonormalBasis, renderBundleHtml,
  renderBundleText, saveBundle, validateBundle,
} from '../src/features/bundles/index.js';

// Bundles: the files (round trip, atomic pair, validation with errors that name
// the field), the directions they give, the orthonormal basis FC-LoRA uses, and
// the two renderings.

const d = 16;
const dir = mkdtempSync(join(tmpdir(), 'imprint-bundles-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function randomVector(rng: Random, width = d): Float32Array {
  return Float32Array.from({ length: width }, () => rng.normal());
}

function sampleBundle(): Bundle {
  return {
    format: 'imprint.bundle',
    version: 1,
    name: 'tone',
    description: 'How the assistant talks',
    model: { name: 'tiny-llama', modelType: 'llama', hiddenSize: d, layers: 2 },
    hookPoint: 'blocks.1.post',
    layer: 1,
    features: [
      {
        kind: 'vector', id: 'casual', tensor: 'casual', label: 'casual tone', axis: 'formality', side: 'casual',
        provenance: { method: 'contrastive-diff-means', data: 'home dialogues, casual vs formal replies', counts: { positive: 40, negative: 40 }, created: '2025-03-01', command: 'imprint features contrastive --axis formality' },
        steering: { scale: 4, margin: 0.31, judge: 'formality' },
        topContexts: [{ text: 'hey, what\'s up?\n', activation: 3.25 }, { text: 'yo', activation: 2 }],
        promotedTokens: [{ token: ' hey', logit: 1.5 }, { token: ' yo', logit: 1.25 }],
      },
      {
        kind: 'vector', id: 'warm', tensor: 'warm', label: 'warmth',
        provenance: { method: 'manual', data: 'hand-written', created: '2025-03-02T10:00:00Z' },
      },
      {
        kind: 'sae', id: 'sae-7', sae: 'tiny-sae', index: 7, label: 'greeting latent',
        provenance: { method: 'sae-differential', data: 'greetings vs other turns', created: '2025-03-03' },
      },
    ],
  };
}

function sampleVectors(seed = 1): Map<string, Float32Array> {
  const rng = new Random(seed);
  return new Map([['casual', randomVector(rng)], ['warm', randomVector(rng)]]);
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value));
}

describe('saving and loading', () => {
  test('round trip keeps every field and every vector bit; the JSON records the vectors file hash', () => {
    const vectors = sampleVectors();
    const saved = saveBundle(join(dir, 'rt'), sampleBundle(), vectors);
    assert.equal(saved.jsonPath, join(dir, 'rt', 'tone.bundle.json'));
    assert.equal(saved.vectorsPath, join(dir, 'rt', 'tone.bundle.safetensors'));
    assert.ok(existsSync(saved.vectorsPath!));
    const json = JSON.parse(readFileSync(saved.jsonPath, 'utf8'));
    assert.equal(json.vectors.file, 'tone.bundle.safetensors');
    assert.match(json.vectors.sha256, /^[0-9a-f]{64}$/);

    const loaded = loadBundle(saved.jsonPath);
    assert.deepEqual(loaded.bundle, { ...sampleBundle(), vectors: json.vectors });
    assert.deepEqual([...loaded.vectors.keys()].sort(), ['casual', 'warm']);
    for (const [name, v] of vectors) assert.deepEqual(loaded.vectors.get(name), v);
  });

  test('a bundle of SAE features only writes no vectors file', () => {
    const bundle = sampleBundle();
    bundle.features = bundle.features.filter((f) => f.kind === 'sae');
    const saved = saveBundle(join(dir, 'sae-only'), bundle, new Map());
    assert.equal(saved.vectorsPath, null);
    assert.deepEqual(loadBundle(saved.jsonPath).bundle, bundle);
  });

  test('saveBundle refuses missing, wrong-length, zero and unused vectors before writing anything', () => {
    const target = join(dir, 'refused');
    const missing = sampleVectors();
    missing.delete('warm');
    assert.throws(() => saveBundle(target, sampleBundle(), missing), /feature "warm" needs vector "warm", which was not given/);
    const short = sampleVectors();
    short.set('warm', new Float32Array(d - 1).fill(1));
    assert.throws(() => saveBundle(target, sampleBundle(), short), /vector "warm" of feature "warm" has 15 entries, but the model's hidden size is 16/);
    const zero = sampleVectors();
    zero.set('casual', new Float32Array(d));
    assert.throws(() => saveBundle(target, sampleBundle(), zero), /all zeros/);
    const extra = sampleVectors();
    extra.set('stray', new Float32Array(d).fill(1));
    assert.throws(() => saveBundle(target, sampleBundle(), extra), /vector "stray" is not used by any feature/);
    assert.equal(existsSync(target), false);
  });

  test('a vectors file replaced after the save (or a save cut between the two files) is detected by its hash', () => {
    const saved = saveBundle(join(dir, 'hash'), sampleBundle(), sampleVectors());
    writeSafetensors(saved.vectorsPath!, [...sampleVectors(2)].map(([name, data]) => ({ name, shape: [d], data })));
    assert.throws(() => loadBundle(saved.jsonPath), /has SHA-256 [0-9a-f]{64}, but the bundle records [0-9a-f]{64}: the file was replaced or a save was interrupted/);
  });

  test('a vector tensor the file lacks, and vectors whose length is not the hidden size, are named', () => {
    const saved = saveBundle(join(dir, 'edit'), sampleBundle(), sampleVectors());
    const json = JSON.parse(readFileSync(saved.jsonPath, 'utf8'));
    json.features[1].tensor = 'warmth';
    writeJson(saved.jsonPath, json);
    assert.throws(() => loadBundle(saved.jsonPath), /vector "warmth" of feature "warm" is missing from tone.bundle.safetensors \(it has: casual, warm\)/);

    const again = saveBundle(join(dir, 'edit2'), sampleBundle(), sampleVectors());
    const edited = JSON.parse(readFileSync(again.jsonPath, 'utf8'));
    edited.model.hiddenSize = 8;
    writeJson(again.jsonPath, edited);
    assert.throws(() => loadBundle(again.jsonPath), /vector "casual" of feature "casual" has 16 entries, but the model's hidden size is 8/);
  });

  test('a file that is not JSON, or not there, is a clear error', () => {
    const path = join(dir, 'broken.bundle.json');
    writeFileSync(path, '{ "format": ');
    assert.throws(() => loadBundle(path), /broken.bundle.json: not valid JSON/);
    assert.throws(() => loadBundle(join(dir, 'nowhere.bundle.json')), /nowhere.bundle.json: cannot read the bundle/);
  });
});

describe('validation names the bad field', () => {
  const plain = (): Record<string, any> => JSON.parse(JSON.stringify(sampleBundle()));
  const cases: Array<[string, (b: Record<string, any>) => void, RegExp]> = [
    ['unknown field (a typo)', (b) => { b.features[0].lable = 'x'; }, /features\[0\] has unknown field "lable"/],
    ['unknown top-level field', (b) => { b.extra = 1; }, /the bundle has unknown field "extra"/],
    ['wrong type', (b) => { b.model.hiddenSize = '16'; }, /model.hiddenSize must be an integer >= 1, got the string "16"/],
    ['missing field', (b) => { delete b.features[1].provenance.data; }, /features\[1\].provenance.data must be a string, got nothing \(the field is missing\)/],
    ['duplicate feature id', (b) => { b.features[1].id = 'casual'; b.features[1].tensor = 'other'; }, /duplicate feature id "casual"/],
    ['duplicate tensor', (b) => { b.features[1].tensor = 'casual'; }, /duplicate vector tensor name "casual"/],
    ['malformed hook point', (b) => { b.hookPoint = 'block.1.post'; }, /hookPoint: hook point "block.1.post" is not of the form blocks.<layer>.pre or blocks.<layer>.post/],
    ['hook point past the last layer', (b) => { b.hookPoint = 'blocks.2.post'; b.layer = 2; }, /hookPoint: .*names layer 2, but the model has 2 layers/],
    ['layer disagrees with the hook point', (b) => { b.layer = 0; }, /layer is 0 but hookPoint "blocks.1.post" is at layer 1/],
    ['unknown provenance method', (b) => { b.features[0].provenance.method = 'vibes'; }, /features\[0\].provenance.method must be one of contrastive-diff-means, .*manual, got the string "vibes"/],
    ['bad date', (b) => { b.features[0].provenance.created = 'March 1st'; }, /provenance.created must be an ISO 8601 date/],
    ['unknown kind', (b) => { b.features[2].kind = 'probe'; }, /features\[2\].kind must be "sae" \(an SAE latent\) or "vector"/],
    ['side without axis', (b) => { delete b.features[0].axis; }, /features\[0\].side is set but features\[0\].axis is not/],
    ['bad top context', (b) => { b.features[0].topContexts[1].activation = 'high'; }, /features\[0\].topContexts\[1\].activation must be a finite number/],
    ['negative SAE index', (b) => { b.features[2].index = -1; }, /features\[2\].index must be an integer >= 0/],
    ['bad bundle name', (b) => { b.name = 'my tone'; }, /name must be a name of letters, digits/],
    ['no features', (b) => { b.features = []; }, /features must list at least one feature/],
    ['wrong format', (b) => { b.format = 'something'; }, /format must be "imprint.bundle"/],
  ];
  for (const [what, edit, expected] of cases) {
    test(what, () => {
      const b = plain();
      edit(b);
      assert.throws(() => validateBundle(b, 'x.bundle.json'), (error: Error) => {
        assert.equal(error.name, 'BundleFormatError');
        assert.match(error.message, /^x\.bundle\.json: /);
        assert.match(error.message, expected);
        return true;
      });
    });
  }

  test('the untouched sample is valid, and loadBundle applies the same checks', () => {
    assert.deepEqual(validateBundle(plain()), sampleBundle());
    const b = plain();
    b.features[0].lable = 'x';
    const path = join(dir, 'typo.bundle.json');
    writeJson(path, b);
    assert.throws(() => loadBundle(path), /typo.bundle.json: features\[0\] has unknown field "lable"/);
  });
});

describe('directions', () => {
  test('one unit row per feature, in bundle order; SAE rows come from the resolver', () => {
    const vectors = sampleVectors();
    const decoder = randomVector(new Random(9));
    const calls: string[] = [];
    const m = bundleDirections(sampleBundle(), vectors, (sae, index) => { calls.push(`${sae}#${index}`); return decoder; });
    assert.deepEqual(m.ids, ['casual', 'warm', 'sae-7']);
    assert.deepEqual(calls, ['tiny-sae#7']);
    const sources = [vectors.get('casual')!, vectors.get('warm')!, decoder];
    sources.forEach((source, row) => {
      const r = m.data.subarray(row * d, (row + 1) * d);
      const norm = Math.hypot(...r);
      assert.ok(Math.abs(norm - 1) < 1e-6, `row ${row} norm ${norm}`);
      const sourceNorm = Math.hypot(...source);
      for (let i = 0; i < d; i++) assert.ok(Math.abs(r[i] - source[i] / sourceNorm) < 1e-6);
    });
  });

  test('an SAE feature without a resolver, or a resolver giving the wrong width, is named', () => {
    assert.throws(() => bundleDirections(sampleBundle(), sampleVectors()), /feature "sae-7" \(SAE tiny-sae latent 7\) needs an SAE resolver/);
    assert.throws(() => bundleDirections(sampleBundle(), sampleVectors(), () => new Float32Array(4).fill(1)), /has 4 entries, the model's hidden size is 16/);
  });

  test('features are found by id, else by label (any case); unknown names list what exists', () => {
    const b = sampleBundle();
    assert.equal(findFeature(b, 'warm').id, 'warm');
    assert.equal(findFeature(b, 'Casual Tone').id, 'casual');
    assert.throws(() => findFeature(b, 'cold'), /no feature with id or label "cold"; it has casual \("casual tone"\), warm/);
  });
});

function matrix(rows: Float32Array[], ids = rows.map((_, i) => `f${i}`)): DirectionMatrix {
  const width = rows[0].length;
  const data = new Float32Array(rows.length * width);
  rows.forEach((r, i) => data.set(r, i * width));
  return { ids, width, data };
}

function project(u: Float32Array, rank: number, v: Float32Array): Float64Array {
  // U Uᵀ v
  const width = v.length;
  const coefficients = new Float64Array(rank);
  for (let j = 0; j < rank; j++) for (let i = 0; i < width; i++) coefficients[j] += u[i * rank + j] * v[i];
  const out = new Float64Array(width);
  for (let i = 0; i < width; i++) for (let j = 0; j < rank; j++) out[i] += u[i * rank + j] * coefficients[j];
  return out;
}

describe('orthonormal basis', () => {
  const rng = new Random(3);
  const a = randomVector(rng);
  const b = randomVector(rng);
  const c = randomVector(rng);
  const nearA = Float32Array.from(a, (v) => 2 * v + 1e-5 * rng.normal());
  const sum = Float32Array.from(a, (v, i) => v + b[i]);
  const basis = orthonormalBasis(matrix([a, b, nearA, c, sum], ['a', 'b', 'near-a', 'c', 'a+b']));

  test('UᵀU = I', () => {
    const { u, rank } = basis;
    assert.equal(rank, 3);
    assert.equal(u.length, d * rank);
    for (let p = 0; p < rank; p++) {
      for (let q = 0; q < rank; q++) {
        let s = 0;
        for (let i = 0; i < d; i++) s += u[i * rank + p] * u[i * rank + q];
        assert.ok(Math.abs(s - (p === q ? 1 : 0)) < 1e-6, `(UᵀU)[${p},${q}] = ${s}`);
      }
    }
  });

  test('the span is preserved: every input direction, kept or dropped, lies in span(U)', () => {
    for (const v of [a, b, nearA, c, sum]) {
      const norm = Math.hypot(...v);
      const p = project(basis.u, basis.rank, v);
      const off = Math.hypot(...Array.from(v, (x, i) => x - p[i])) / norm;
      assert.ok(off < 1e-3, `relative distance to span(U) ${off}`);
    }
    // The first basis vector is the first direction itself.
    const an = Math.hypot(...a);
    for (let i = 0; i < d; i++) assert.ok(Math.abs(basis.u[i * basis.rank] - a[i] / an) < 1e-6);
  });

  test('near-duplicates and combinations are dropped and reported with the kept direction they repeat', () => {
    assert.deepEqual(basis.keptIds, ['a', 'b', 'c']);
    assert.deepEqual(basis.dropped.map((x) => x.id), ['near-a', 'a+b']);
    const nearDrop = basis.dropped[0];
    assert.equal(nearDrop.closestId, 'a');
    assert.ok(nearDrop.cosine > 0.999999 && nearDrop.residual < 1e-4, JSON.stringify(nearDrop));
    assert.ok(basis.dropped[1].residual < 1e-3);
  });

  test('more directions than dimensions give rank d; a looser tolerance drops more; bad input is refused', () => {
    const many = Array.from({ length: 5 }, () => randomVector(rng, 3));
    const small = orthonormalBasis(matrix(many));
    assert.equal(small.rank, 3);
    assert.equal(small.dropped.length, 2);
    const close = Float32Array.from(a, (v, i) => v + 0.01 * b[i]);
    assert.equal(orthonormalBasis(matrix([a, close])).rank, 2);
    assert.equal(orthonormalBasis(matrix([a, close]), { tolerance: 0.05 }).rank, 1);
    assert.throws(() => orthonormalBasis(matrix([a, new Float32Array(d)], ['a', 'zero'])), /direction "zero" has norm 0/);
    assert.throws(() => orthonormalBasis(matrix([a]), { tolerance: 0 }), /tolerance must be in \(0, 1\)/);
  });
});

describe('rendering', () => {
  test('the terminal listing shows labels, axis and side, provenance, steering, contexts and tokens, with control characters escaped', () => {
    const b = sampleBundle();
    b.features[0].topContexts![1].text = 'evil\u001b[31mred';
    const text = renderBundleText(b);
    for (const expected of [
      'bundle tone — How the assistant talks',
      'model: tiny-llama (llama, hidden 16, 2 layers)',
      'hook:  blocks.1.post (layer 1)',
      '[1] casual: casual tone',
      'axis formality, side casual',
      'source: vector "casual"',
      'provenance: contrastive-diff-means, 2025-03-01: home dialogues, casual vs formal replies [positive 40, negative 40]',
      'command: imprint features contrastive --axis formality',
      'steering: scale 4 moves judge "formality" by +0.310',
      '"hey, what\'s up?\\n"',
      'evil\\x1b[31mred',
      'promoted tokens: " hey" 1.50, " yo" 1.25',
      '[3] sae-7: greeting latent',
      'source: SAE tiny-sae latent 7',
    ]) assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in\n${text}`);
    assert.ok(!text.includes('\u001b'), 'a raw escape character reached the terminal');
  });

  test('the HTML page is standalone and escapes everything from the bundle', () => {
    const b = sampleBundle();
    b.description = 'Tom & Jerry\'s "tone"';
    b.features[0].label = '<script>alert("x")</script>';
    b.features[0].topContexts![0].text = '</td><img src=x onerror=alert(1)>';
    b.features[0].promotedTokens![0].token = '<b>';
    const html = renderBundleHtml(b);
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.ok(html.trimEnd().endsWith('</html>'));
    assert.ok(!/<script/i.test(html), 'no script element may appear');
    assert.ok(!html.includes('<img'), 'a context became markup');
    assert.ok(!html.includes('<b>'), 'a token became markup');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
    assert.ok(html.includes('Tom &amp; Jerry&#39;s &quot;tone&quot;'));
    assert.ok(html.includes('&lt;/td&gt;&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(html.includes('axis formality, side casual'));
    assert.ok(html.includes('contrastive-diff-means, 2025-03-01'));
    assert.ok(!/(src|href)="?https?:/i.test(html), 'the page must not load anything');
  });
});
