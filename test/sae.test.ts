import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CheckpointFormatError } from '../src/io/errors.js';
import { writeNpz } from '../src/io/npz.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { nextTokenLogprobs } from '../src/model/score.js';
import { withBackend } from '../src/tensor/backend.js';
import { Random, Tape, Tensor, crossEntropy, mul, reshape, sum } from '../src/tensor/index.js';
import { ResidualHooks } from '../src/model/hooks.js';
import {
  DeadLatentTracker, SparseAutoencoder, auxKLoss, geometricMedian, jumpRelu, loadGemmaScope, loadSaeLens, relu,
  removeParallelGradient, residualHookPoint, rowMean, saeLearningRate, saeSpliceHook, saeMetrics, saveSaeLens, splicedCrossEntropy, sumOfDistances,
  trainTopKSae, type SaeConfig, type SaeWeights,
} from '../src/features/sae/index.js';
import { float64Backend, gradCheck } from './support/gradcheck.js';
import { randomModel, tinyConfigs } from './support/randomModels.js';

const workDir = mkdtempSync(join(tmpdir(), 'imprint-sae-'));
after(() => rmSync(workDir, { recursive: true, force: true }));
let dirCounter = 0;
const freshDir = (): string => join(workDir, `sae${dirCounter++}`);

// ---- references ----

function randomArray(rng: Random, n: number, std = 1): Float32Array {
  const a = new Float32Array(n);
  rng.fillNormal(a, std);
  return a;
}

function randomWeights(config: SaeConfig, seed: number): SaeWeights {
  const rng = new Random(seed);
  const { dIn, dSae } = config;
  return {
    encoderWeight: randomArray(rng, dIn * dSae, 0.5),
    encoderBias: randomArray(rng, dSae, 0.2),
    decoderWeight: randomArray(rng, dSae * dIn, 0.5),
    decoderBias: randomArray(rng, dIn, 0.3),
    // Mostly positive thresholds, one negative to check ReLU comes first.
    threshold: config.architecture === 'jumprelu' ? Float32Array.from({ length: dSae }, (_, j) => (j === 0 ? -0.3 : rng.uniform() * 0.6)) : undefined,
  };
}

/** The SAE written as loops in float64, straight from the definitions. */
function naiveSae(config: SaeConfig, w: SaeWeights, x: Float32Array, n: number): { latents: Float64Array; reconstruction: Float64Array } {
  const { dIn, dSae } = config;
  const latents = new Float64Array(n * dSae);
  const reconstruction = new Float64Array(n * dIn);
  for (let r = 0; r < n; r++) {
    let row = Array.from(x.subarray(r * dIn, (r + 1) * dIn));
    let scale = 1;
    let shift = 0;
    if (config.normalizeActivations === 'constant_norm_rescale') {
      scale = Math.sqrt(dIn) / Math.hypot(...row);
    } else if (config.normalizeActivations === 'layer_norm') {
      const mean = row.reduce((a, b) => a + b, 0) / dIn;
      const std = Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0) / (dIn - 1));
      scale = 1 / (std + 1e-5);
      shift = -mean * scale;
    }
    row = row.map((v) => v * scale + shift);
    const centred = row.map((v, i) => v - (config.applyBDecToInput === false ? 0 : w.decoderBias[i]));
    const pre = Array.from({ length: dSae }, (_, j) => {
      let s = w.encoderBias[j];
      for (let i = 0; i < dIn; i++) s += centred[i] * w.encoderWeight[i * dSae + j];
      return s;
    });
    let z: number[];
    if (config.architecture === 'relu') z = pre.map((p) => Math.max(p, 0));
    else if (config.architecture === 'jumprelu') z = pre.map((p, j) => (p > w.threshold![j] && p > 0 ? p : 0));
    else {
      const keep = new Set([...pre.keys()].sort((a, b) => pre[b] - pre[a]).slice(0, config.k));
      z = pre.map((p, j) => (keep.has(j) ? Math.max(p, 0) : 0));
    }
    latents.set(z, r * dSae);
    for (let i = 0; i < dIn; i++) {
      let s = w.decoderBias[i];
      for (let j = 0; j < dSae; j++) s += z[j] * w.decoderWeight[j * dIn + i];
      reconstruction[r * dIn + i] = (s - shift) / scale;
    }
  }
  return { latents, reconstruction };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    assert.ok(error <= tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** An SAE that reconstructs any input exactly: latents relu(x) and relu(-x), decoded as their difference. */
function identitySae(architecture: 'relu' | 'topk', dIn: number, hookName: string): SparseAutoencoder {
  const dSae = 2 * dIn;
  const encoderWeight = new Float32Array(dIn * dSae);
  const decoderWeight = new Float32Array(dSae * dIn);
  for (let i = 0; i < dIn; i++) {
    encoderWeight[i * dSae + i] = 1;
    encoderWeight[i * dSae + dIn + i] = -1;
    decoderWeight[i * dIn + i] = 1;
    decoderWeight[(dIn + i) * dIn + i] = -1;
  }
  const config: SaeConfig = { architecture, dIn, dSae, hookName, ...(architecture === 'topk' ? { k: dIn } : {}) };
  return new SparseAutoencoder(config, { encoderWeight, decoderWeight, encoderBias: new Float32Array(dSae), decoderBias: new Float32Array(dIn) });
}

// ---- encode / decode ----

test('encode, decode and reconstruct match the naive definitions for TopK, JumpReLU and ReLU', () => {
  const n = 9;
  const configs: SaeConfig[] = [
    { architecture: 'topk', dIn: 6, dSae: 20, k: 3, hookName: 'blocks.0.post' },
    { architecture: 'jumprelu', dIn: 6, dSae: 20, hookName: 'blocks.0.post', applyBDecToInput: false },
    { architecture: 'jumprelu', dIn: 6, dSae: 20, hookName: 'blocks.0.post' },
    { architecture: 'relu', dIn: 6, dSae: 20, hookName: 'blocks.0.post' },
    { architecture: 'relu', dIn: 6, dSae: 20, hookName: 'blocks.0.post', normalizeActivations: 'constant_norm_rescale' },
    { architecture: 'topk', dIn: 6, dSae: 20, k: 5, hookName: 'blocks.0.post', normalizeActivations: 'layer_norm', applyBDecToInput: false },
  ];
  configs.forEach((config, c) => {
    const weights = randomWeights(config, 10 + c);
    const sae = new SparseAutoencoder(config, weights);
    const x = randomArray(new Random(c), n * config.dIn, 1.5);
    const expected = naiveSae(config, weights, x, n);
    const latents = sae.encode(x, n);
    const label = `${config.architecture}/${config.normalizeActivations ?? 'none'}/${config.applyBDecToInput ?? true}`;
    assertClose(latents, expected.latents, 1e-5, `${label} latents`);
    assertClose(sae.reconstruct(x, n), expected.reconstruction, 1e-5, `${label} reconstruction`);
    let active = 0;
    for (const z of latents) if (z > 0) active++;
    assert.ok(active > 0 && active < latents.length, `${label}: the codes must be sparse but not empty (${active} active)`);
    if (config.architecture === 'topk') for (let r = 0; r < n; r++) assert.ok(latents.subarray(r * 20, (r + 1) * 20).filter((z) => z > 0).length <= config.k!);
    if ((config.normalizeActivations ?? 'none') === 'none') assertClose(sae.decode(latents, n), expected.reconstruction, 1e-5, `${label} decode`);
  });
});

test('the JumpReLU threshold is strict and per latent, and ReLU applies before it', () => {
  const config: SaeConfig = { architecture: 'jumprelu', dIn: 1, dSae: 3, hookName: 'blocks.0.post', applyBDecToInput: false };
  const sae = new SparseAutoencoder(config, {
    encoderWeight: Float32Array.of(1, 1, 1), encoderBias: Float32Array.of(0, 0, -1), decoderWeight: new Float32Array(3), decoderBias: new Float32Array(1),
    threshold: Float32Array.of(0.5, -2, 0.5),
  });
  // x = 0.5: latent 0 sits exactly on its threshold (off), latent 1 passes, latent 2 is negative.
  assert.deepEqual([...sae.encode(Float32Array.of(0.5), 1)], [0, 0.5, 0]);
  // x = -1: latent 1 is above its negative threshold but negative, so ReLU zeroes it.
  assert.deepEqual([...sae.encode(Float32Array.of(-1), 1)], [0, 0, 0]);
  assert.deepEqual([...sae.encode(Float32Array.of(2), 1)], [2, 2, 1]);
});

test('configs and weights are validated with errors that name the field', () => {
  const base: SaeConfig = { architecture: 'topk', dIn: 4, dSae: 8, k: 2, hookName: 'blocks.0.post' };
  assert.throws(() => SparseAutoencoder.zeros({ ...base, k: undefined }), /k must be an integer in \[1, dSae=8\]/);
  assert.throws(() => SparseAutoencoder.zeros({ ...base, k: 9 }), /k must be an integer/);
  assert.throws(() => SparseAutoencoder.zeros({ ...base, architecture: 'gated' as never }), /architecture 'gated' is not supported/);
  assert.throws(() => SparseAutoencoder.zeros({ ...base, dIn: 0 }), /dIn must be a positive integer/);
  assert.throws(() => SparseAutoencoder.zeros({ ...base, hookName: '' }), /hookName/);
  const w = randomWeights(base, 1);
  assert.throws(() => new SparseAutoencoder(base, { ...w, decoderBias: new Float32Array(5) }), /b_dec has 5 values, expected \[4\]/);
  assert.throws(() => new SparseAutoencoder({ ...base, architecture: 'jumprelu' }, w), /threshold must be a Float32Array/);
  assert.throws(() => SparseAutoencoder.zeros(base).encode(new Float32Array(7), 2), /expected 2 rows of 4/);
  assert.equal(residualHookPoint('blocks.3.hook_resid_post'), 'blocks.3.post');
  assert.equal(residualHookPoint('blocks.0.hook_resid_pre'), 'blocks.0.pre');
  assert.equal(residualHookPoint('blocks.2.post'), 'blocks.2.post');
  assert.throws(() => residualHookPoint('blocks.2.hook_mlp_out'), /not a residual-stream hook/);
});

// ---- gradients ----

const awayFromZero = (rng: Random, size: number) => Array.from({ length: size }, () => (rng.uniform() < 0.5 ? -1 : 1) * (0.1 + rng.uniform()));

test('relu: gradient matches finite differences', () => {
  gradCheck('relu', [{ shape: [4, 6], init: awayFromZero }], (tape, [x]) => relu(tape, x));
});

test('jumpRelu: exact gradient to the pre-activations, straight-through pseudo-gradient to the threshold', () => {
  const threshold = [0.3, -0.5, 0.2, 0.6];
  // Pre-activations kept at least 0.1 from every threshold and from 0.
  const safe = (rng: Random, size: number) => Array.from({ length: size }, (_, i) => {
    const t = Math.max(threshold[i % 4], 0);
    return rng.uniform() < 0.5 ? t + 0.1 + rng.uniform() : Math.min(t, 0) - 0.1 - rng.uniform();
  });
  gradCheck('jumpRelu', [{ shape: [5, 4], init: safe }, { shape: [4], init: () => threshold, requiresGrad: false }], (tape, [pre, t]) => jumpRelu(tape, pre, t));
  // The threshold's pseudo-gradient: -(θ/ε) Σ_rows g where |pre - θ| < ε/2.
  const bandwidth = 0.1;
  const pre = Tensor.fromArray([0.32, 0.1, 0.5, 0.5, 0.27, 0.9], [3, 2]);
  const theta = Tensor.parameter(Tensor.fromArray([0.3, 0.5]));
  const probe = Tensor.fromArray([1, 2, 3, 4, 5, 6], [3, 2]);
  const tape = new Tape();
  tape.backward(sum(tape, mul(tape, jumpRelu(tape, pre, theta, bandwidth), probe)));
  // Window |pre - θ| < 0.05. Latent 0 (θ 0.3): rows 0 (0.32) and 2 (0.27), probes 1 and 5. Latent 1 (θ 0.5): row 1 only, probe 4.
  assertClose(theta.grad!.data, [-(0.3 / bandwidth) * (1 + 5), -(0.5 / bandwidth) * 4], 1e-6, 'threshold gradient');
  tape.release();
});

/** Finite differences on every SAE weight, through forwardTape, in float64. */
function checkSaeWeightGradients(config: SaeConfig, seed: number): void {
  withBackend(float64Backend, () => {
    const weights = randomWeights(config, seed);
    const sae = new SparseAutoencoder(config, weights);
    const n = 5;
    const rng = new Random(seed + 1);
    const x = Tensor.fromArray(randomArray(rng, n * config.dIn), [n, config.dIn]);
    const probe = Tensor.fromArray(randomArray(rng, n * config.dIn), [n, config.dIn]);
    const loss = (withGrad: boolean): number => {
      const tape = new Tape({ grad: withGrad });
      try {
        const out = sum(tape, mul(tape, sae.forwardTape(tape, x).reconstruction, probe));
        if (withGrad) tape.backward(out);
        return out.data[0];
      } finally {
        tape.release();
      }
    };
    loss(true);
    const step = 1e-6;
    for (const p of [sae.encoderWeight, sae.encoderBias, sae.decoderWeight, sae.decoderBias]) {
      const analytic = Float64Array.from(p.grad!.data);
      for (let i = 0; i < p.size; i += Math.max(1, Math.floor(p.size / 24))) {
        const original = p.data[i];
        p.data[i] = original + step;
        const plus = loss(false);
        p.data[i] = original - step;
        const minus = loss(false);
        p.data[i] = original;
        const numeric = (plus - minus) / (2 * step);
        assert.ok(Math.abs(numeric - analytic[i]) <= 1e-6 * Math.max(1, Math.abs(numeric)), `${config.architecture} ${p.name}[${i}]: analytic ${analytic[i]} vs numeric ${numeric}`);
      }
    }
  });
}

test('forwardTape: gradients of every weight match finite differences (ReLU, TopK, JumpReLU)', () => {
  checkSaeWeightGradients({ architecture: 'relu', dIn: 5, dSae: 7, hookName: 'blocks.0.post' }, 3);
  checkSaeWeightGradients({ architecture: 'topk', dIn: 5, dSae: 7, k: 3, hookName: 'blocks.0.post' }, 4);
  checkSaeWeightGradients({ architecture: 'jumprelu', dIn: 5, dSae: 7, hookName: 'blocks.0.post' }, 5);
});

// ---- training ----

/** A known dictionary of unit-norm features and an offset every row shares. */
function makeDictionary(dIn: number, features: number, seed: number): { dictionary: Float32Array; offset: Float32Array } {
  const rng = new Random(seed);
  const dictionary = randomArray(rng, features * dIn);
  for (let f = 0; f < features; f++) {
    const row = dictionary.subarray(f * dIn, (f + 1) * dIn);
    const norm = Math.hypot(...row);
    row.forEach((v, i) => { row[i] = v / norm; });
  }
  return { dictionary, offset: randomArray(rng, dIn, 0.5) };
}

/** Rows that are the offset plus `active` random features with magnitudes in [0.5, 1.5]. */
function sparseRows(source: { dictionary: Float32Array; offset: Float32Array }, rows: number, active: number, seed: number): Float32Array {
  const dIn = source.offset.length;
  const features = source.dictionary.length / dIn;
  const rng = new Random(seed);
  const data = new Float32Array(rows * dIn);
  for (let r = 0; r < rows; r++) {
    data.set(source.offset, r * dIn);
    for (let a = 0; a < active; a++) {
      const f = rng.int(features);
      const magnitude = 0.5 + rng.uniform();
      for (let i = 0; i < dIn; i++) data[r * dIn + i] += magnitude * source.dictionary[f * dIn + i];
    }
  }
  return data;
}

function decoderRowNorms(sae: SparseAutoencoder): number[] {
  const w = sae.decoderWeight.data;
  return Array.from({ length: sae.dSae }, (_, j) => Math.hypot(...w.subarray(j * sae.dIn, (j + 1) * sae.dIn)));
}

/** How many true features have a decoder row within cosine 0.9 of them. */
function recoveredFeatures(sae: SparseAutoencoder, dictionary: Float32Array): number {
  const { dIn, dSae } = sae;
  const w = sae.decoderWeight.data;
  let recovered = 0;
  for (let f = 0; f < dictionary.length / dIn; f++) {
    let best = -1;
    for (let j = 0; j < dSae; j++) {
      let cos = 0;
      for (let i = 0; i < dIn; i++) cos += w[j * dIn + i] * dictionary[f * dIn + i];
      best = Math.max(best, cos);
    }
    if (best > 0.9) recovered++;
  }
  return recovered;
}

test('TopK training recovers a known sparse dictionary: explained variance > 0.9, unit-norm decoder rows', () => {
  // 32 unit features superposed in 16 dimensions, two active per row.
  const dIn = 16;
  const source = makeDictionary(dIn, 32, 1);
  const data = sparseRows(source, 4096, 2, 2);
  const config: SaeConfig = { architecture: 'topk', dIn, dSae: 64, k: 4, hookName: 'blocks.0.post' };
  const seen: number[] = [];
  const result = trainTopKSae(data, config, {
    steps: 400, batchSize: 64, lr: 1e-2, warmupSteps: 20, seed: 7, bDecInit: 'geometric-median',
    onProgress: (p) => seen.push(p.mse),
  });
  assert.equal(result.steps, 400);
  assert.equal(result.tokens, 400 * 64);
  assert.equal(seen.length, 400);
  const metrics = saeMetrics(result.sae, sparseRows(source, 2048, 2, 3)); // held-out rows
  assert.ok(metrics.explainedVariance > 0.9, `explained variance ${metrics.explainedVariance}`);
  assert.ok(metrics.meanL0 <= 4 && metrics.meanL0 > 3, `mean L0 ${metrics.meanL0}`);
  const recovered = recoveredFeatures(result.sae, source.dictionary);
  assert.ok(recovered >= 24, `only ${recovered} of 32 true features have a decoder row within cosine 0.9`);
  for (const norm of decoderRowNorms(result.sae)) assert.ok(Math.abs(norm - 1) < 1e-5, `decoder row norm ${norm}`);
  const early = seen.slice(0, 10).reduce((a, b) => a + b) / 10;
  const late = seen.slice(-10).reduce((a, b) => a + b) / 10;
  assert.ok(late < early / 3, `the loss must fall (first steps ${early}, last ${late})`);
});

test('AuxK revives dead latents: fewer dead and more variance explained than without it', () => {
  // Half the latents start with encoder columns shrunk 100x: they lose every TopK
  // contest, so without AuxK nothing ever trains them.
  const dIn = 16;
  const source = makeDictionary(dIn, 32, 1);
  const data = sparseRows(source, 4096, 2, 2);
  const held = sparseRows(source, 2048, 2, 3);
  const config: SaeConfig = { architecture: 'topk', dIn, dSae: 32, k: 2, hookName: 'blocks.0.post' };
  const run = (auxK: number | undefined) => {
    const start = SparseAutoencoder.random(config, 7);
    start.decoderBias.data.set(rowMean(data, data.length / dIn, dIn));
    for (let i = 0; i < dIn; i++) for (let j = 0; j < 16; j++) start.encoderWeight.data[i * 32 + j] *= 0.01;
    const auxSeen: number[] = [];
    const result = trainTopKSae(data, config, { steps: 400, batchSize: 64, lr: 1e-2, warmupSteps: 20, seed: 7, auxK, deadAfterTokens: 640, initialSae: start, onProgress: (p) => auxSeen.push(p.auxK) });
    assert.equal(result.sae, start, 'initialSae is trained in place');
    return { metrics: saeMetrics(result.sae, held), auxSeen, dead: result.last!.deadLatents };
  };
  const without = run(0);
  const withAux = run(undefined);
  assert.ok(without.auxSeen.every((a) => a === 0));
  assert.ok(withAux.auxSeen.some((a) => a > 0) && withAux.auxSeen.every((a) => Number.isFinite(a) && a >= 0), 'AuxK must be finite and become positive once latents are dead');
  assert.ok(without.metrics.deadFraction >= 0.4, `without AuxK the shrunk latents stay dead (${without.metrics.deadFraction})`);
  assert.ok(withAux.metrics.deadFraction <= 0.2, `AuxK must revive most of them (${withAux.metrics.deadFraction} dead)`);
  assert.ok(withAux.dead < without.dead, `tracker: ${withAux.dead} dead with AuxK vs ${without.dead} without`);
  assert.ok(withAux.metrics.explainedVariance > without.metrics.explainedVariance + 0.05,
    `explained variance ${withAux.metrics.explainedVariance} with AuxK vs ${without.metrics.explainedVariance} without`);
});

test('auxKLoss matches its definition; only the picked dead latents receive gradient', () => {
  const rows = 3;
  const dSae = 5;
  const dIn = 4;
  const rng = new Random(21);
  const preValues = [0.9, 2.0, -0.2, 0.4, 1.5, /**/ 0.3, 0.1, 0.8, -0.5, 2.2, /**/ -0.1, 0.0, -0.3, 0.6, 0.7];
  const deadMask = Uint8Array.of(1, 0, 1, 1, 0);
  const residualValues = randomArray(rng, rows * dIn);
  const decoderValues = randomArray(rng, dSae * dIn);
  const pre = Tensor.parameter(Tensor.fromArray(preValues, [rows, dSae]));
  const residual = Tensor.fromArray(residualValues, [rows, dIn]);
  const decoder = Tensor.parameter(Tensor.fromArray(decoderValues, [dSae, dIn]));
  // Reference: the two largest dead pre-activations per row, through ReLU.
  let squared = 0;
  const picks = [[0, 3], [2, 0], [3, 0]]; // row 2: dead values -0.1, -0.3, 0.6 -> latents 3 (0.6) and 0 (-0.1 -> ReLU 0)
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < dIn; i++) {
      let predicted = 0;
      for (const j of picks[r]) predicted += Math.max(preValues[r * dSae + j], 0) * decoderValues[j * dIn + i];
      squared += (predicted - residualValues[r * dIn + i]) ** 2;
    }
  }
  const mean = [0, 1, 2, 3].map((i) => (residualValues[i] + residualValues[dIn + i] + residualValues[2 * dIn + i]) / 3);
  let variance = 0;
  residualValues.forEach((v, i) => { variance += (v - mean[i % dIn]) ** 2; });
  const tape = new Tape();
  const loss = auxKLoss(tape, pre, residual, decoder, deadMask, 2)!;
  assertClose([loss.data[0]], [squared / variance], 1e-5, 'AuxK');
  tape.backward(loss);
  const decoderGrad = decoder.grad!.data;
  for (const live of [1, 4]) assert.ok(decoderGrad.subarray(live * dIn, (live + 1) * dIn).every((g) => g === 0), `live latent ${live} must get no decoder gradient`);
  assert.ok(decoderGrad.subarray(0, dIn).some((g) => g !== 0) && decoderGrad.subarray(3 * dIn, 4 * dIn).some((g) => g !== 0), 'picked dead latents learn');
  const preGrad = pre.grad!.data;
  for (let r = 0; r < rows; r++) for (const live of [1, 4]) assert.equal(preGrad[r * dSae + live], 0);
  tape.release();
  const none = new Tape();
  assert.equal(auxKLoss(none, pre, residual, decoder, new Uint8Array(dSae), 2), null, 'no dead latents, no AuxK');
  none.release();
});

test('removeParallelGradient leaves each decoder row gradient orthogonal to its row', () => {
  const dSae = 6;
  const dIn = 5;
  const rng = new Random(4);
  const sae = SparseAutoencoder.random({ architecture: 'topk', dIn, dSae, k: 2, hookName: 'blocks.0.post' }, 3);
  const original = randomArray(rng, dSae * dIn);
  sae.decoderWeight.grad = Tensor.fromArray(original, [dSae, dIn]);
  removeParallelGradient(sae.decoderWeight, dSae, dIn);
  const w = sae.decoderWeight.data;
  const g = sae.decoderWeight.grad.data;
  for (let j = 0; j < dSae; j++) {
    let dot = 0;
    let removedDot = 0;
    for (let i = j * dIn; i < (j + 1) * dIn; i++) {
      dot += g[i] * w[i];
      removedDot += (original[i] - g[i]) * w[i];
    }
    assert.ok(Math.abs(dot) < 1e-6, `row ${j}: g·w = ${dot}`);
    // What was removed is (g·w) w: its norm equals |g·w|.
    const removedNorm = Math.hypot(...Array.from({ length: dIn }, (_, i) => original[j * dIn + i] - g[j * dIn + i]));
    assert.ok(Math.abs(removedNorm - Math.abs(removedDot)) < 1e-6, `row ${j}: the removed part must be parallel to the row`);
  }
});

test('geometric median: the 1-D median, and no better point on a fine grid in 2-D', () => {
  const line = Float32Array.of(5, -1, 100, 2, 3);
  assert.ok(Math.abs(geometricMedian(line, 5, 1)[0] - 3) < 1e-4, 'the median of 5 numbers');
  const rng = new Random(8);
  const n = 40;
  const points = new Float32Array(n * 2);
  for (let r = 0; r < n; r++) {
    points[2 * r] = rng.normal();
    points[2 * r + 1] = 0.5 * rng.normal() + 1;
  }
  // Outliers drag the mean far more than the median.
  points.set([40, 40, 35, 42, 38, 45], 0);
  const median = geometricMedian(points, n, 2);
  const atMedian = sumOfDistances(points, n, 2, median);
  let best = Infinity;
  let bestPoint = [0, 0];
  for (let x = -3; x <= 3; x += 0.01) {
    for (let y = -2; y <= 4; y += 0.01) {
      const d = sumOfDistances(points, n, 2, [x, y]);
      if (d < best) { best = d; bestPoint = [x, y]; }
    }
  }
  assert.ok(atMedian <= best + 1e-6, `Weiszfeld ${atMedian} vs grid ${best}`);
  assert.ok(Math.hypot(median[0] - bestPoint[0], median[1] - bestPoint[1]) < 0.02, `median (${median[0]}, ${median[1]}) vs grid (${bestPoint[0]}, ${bestPoint[1]})`);
  const mean = rowMean(points, n, 2);
  assert.ok(mean[0] > 2.5 && Math.abs(median[0]) < 0.8, 'the median resists the outliers that move the mean');
  // Starting on a data point (all points equal) stays finite.
  assert.deepEqual([...geometricMedian(Float32Array.of(1, 2, 1, 2), 2, 2)], [1, 2]);
});

test('learning-rate schedule: linear warm-up, then constant or cosine to minLr', () => {
  const s = { lr: 1, warmupSteps: 4, totalSteps: 14, decay: 'constant' as const, minLr: 0.1 };
  assert.deepEqual([0, 1, 2, 3, 4, 13].map((step) => saeLearningRate(step, s)), [0.25, 0.5, 0.75, 1, 1, 1]);
  const cosine = { ...s, decay: 'cosine' as const };
  assert.equal(saeLearningRate(4, cosine), 1);
  assertClose([saeLearningRate(13, cosine), saeLearningRate(8.5, cosine)], [0.1, 0.55], 1e-12, 'cosine');
});

test('dead latents: dead after deadAfterTokens tokens without firing, revived by one firing', () => {
  const tracker = new DeadLatentTracker(3, 10);
  tracker.observe(Float32Array.of(1, 0, 0, /**/ 0, 0, 0), 2);
  assert.deepEqual([...tracker.deadMask()], [0, 0, 0]);
  for (let i = 0; i < 4; i++) tracker.observe(Float32Array.of(0, 0, 0.5, /**/ 0, 0, 0), 2);
  assert.deepEqual([...tracker.deadMask()], [0, 1, 0], 'latent 0 last fired 8 tokens ago, latent 1 never in 10');
  tracker.observe(Float32Array.of(0, 2, 0, /**/ 0, 0, 0), 2);
  assert.deepEqual([...tracker.deadMask()], [1, 0, 0]);
  assert.equal(tracker.deadCount(), 1);
});

test('training from a stream: uneven chunks are re-batched; a short stream ends the run early', () => {
  const dIn = 8;
  const source = makeDictionary(dIn, 12, 5);
  const rows = sparseRows(source, 1000, 2, 6);
  function* chunks(): Generator<Float32Array> {
    let at = 0;
    let size = 1;
    while (at < 1000) {
      const take = Math.min(size, 1000 - at);
      yield rows.subarray(at * dIn, (at + take) * dIn);
      at += take;
      size = (size * 7) % 97 + 1;
    }
  }
  const batchRows: number[] = [];
  let previousTokens = 0;
  const config: SaeConfig = { architecture: 'topk', dIn, dSae: 16, k: 2, hookName: 'blocks.0.post' };
  const result = trainTopKSae(chunks(), config, {
    steps: 100, batchSize: 64, lr: 5e-3, seed: 1, bDecInit: 'mean', initRows: 300,
    onProgress: (p) => { batchRows.push(p.tokens - previousTokens); previousTokens = p.tokens; },
  });
  assert.equal(result.steps, 16);
  assert.equal(result.tokens, 1000);
  assert.deepEqual(batchRows, [...new Array(15).fill(64), 40]);
  assert.throws(() => trainTopKSae([new Float32Array(8), new Float32Array(5)], config, { steps: 2, batchSize: 2, lr: 1e-3, seed: 1 }),
    /activation chunk 1 must be a Float32Array of whole rows \(a multiple of dIn = 8 values\), got 5 values/);
});

test('trainTopKSae rejects bad options and non-TopK configs by name', () => {
  const config: SaeConfig = { architecture: 'topk', dIn: 4, dSae: 8, k: 2, hookName: 'blocks.0.post' };
  const data = new Float32Array(40).map((_, i) => Math.sin(i));
  const ok = { steps: 2, batchSize: 4, lr: 1e-3, seed: 1 };
  assert.throws(() => trainTopKSae(data, { ...config, architecture: 'relu' }, ok), /architecture must be 'topk', got 'relu'/);
  assert.throws(() => trainTopKSae(data, { ...config, normalizeActivations: 'layer_norm' }, ok), /normalizeActivations must be 'none'/);
  assert.throws(() => trainTopKSae(data, config, { ...ok, steps: 0 }), /steps must be a positive integer, got 0/);
  assert.throws(() => trainTopKSae(data, config, { ...ok, lr: -1 }), /lr must be a positive finite number/);
  assert.throws(() => trainTopKSae(data, config, { ...ok, auxK: 9 }), /auxK must be an integer in \[0, dSae=8\]/);
  assert.throws(() => trainTopKSae(data, config, { ...ok, bDecInit: 'median' as never }), /bDecInit must be/);
  assert.throws(() => trainTopKSae(new Float32Array(6), config, ok), /holds 6 values; expected a non-empty multiple of dIn = 4/);
  // The progress bar path runs (it writes one line to stderr when not on a terminal).
  assert.equal(trainTopKSae(data, config, { ...ok, progress: true }).steps, 2);
});

// ---- metrics ----

test('saeMetrics: explained variance, mean L0 and dead fraction match direct computation', () => {
  const config: SaeConfig = { architecture: 'relu', dIn: 5, dSae: 12, hookName: 'blocks.0.post' };
  const weights = randomWeights(config, 31);
  weights.encoderBias[3] = -100; // latent 3 can never fire
  const sae = new SparseAutoencoder(config, weights);
  const n = 700; // more than one internal chunk
  const x = randomArray(new Random(32), n * 5);
  const { latents, reconstruction } = naiveSae(config, weights, x, n);
  const mean = rowMean(x, n, 5);
  let residual = 0;
  let total = 0;
  x.forEach((v, i) => {
    residual += (v - reconstruction[i]) ** 2;
    total += (v - mean[i % 5]) ** 2;
  });
  const fired = new Set<number>();
  let active = 0;
  latents.forEach((z, i) => { if (z > 0) { active++; fired.add(i % 12); } });
  const m = saeMetrics(sae, x);
  assert.equal(m.rows, n);
  assertClose([m.explainedVariance, m.mse, m.meanL0], [1 - residual / total, residual / n, active / n], 1e-5, 'metrics');
  assert.equal(m.deadFraction, (12 - fired.size) / 12);
  assert.equal(m.firingCounts[3], 0);
  const identity = saeMetrics(identitySae('topk', 5, 'blocks.0.post'), x);
  assert.ok(Math.abs(identity.explainedVariance - 1) < 1e-6);
});

// ---- SAELens ----

test('SAELens round trip: save then load gives the same config and identical outputs', () => {
  const configs: SaeConfig[] = [
    { architecture: 'topk', dIn: 6, dSae: 10, k: 3, hookName: 'blocks.1.post', modelName: 'tiny-llama' },
    { architecture: 'jumprelu', dIn: 6, dSae: 10, hookName: 'blocks.0.hook_resid_pre', applyBDecToInput: false },
    { architecture: 'relu', dIn: 6, dSae: 10, hookName: 'blocks.2.post', normalizeActivations: 'layer_norm' },
  ];
  const x = randomArray(new Random(40), 4 * 6);
  configs.forEach((config, c) => {
    const sae = new SparseAutoencoder(config, randomWeights(config, 50 + c));
    const dir = freshDir();
    saveSaeLens(sae, dir);
    const cfg = JSON.parse(readFileSync(join(dir, 'cfg.json'), 'utf8'));
    assert.equal(cfg.architecture, { topk: 'topk', jumprelu: 'jumprelu', relu: 'standard' }[config.architecture]);
    assert.equal(cfg.d_in, 6);
    assert.equal(cfg.d_sae, 10);
    assert.equal(cfg.metadata.hook_name, config.hookName);
    assert.equal(cfg.hook_name, config.hookName);
    if (config.architecture === 'topk') {
      assert.equal(cfg.k, 3);
      assert.deepEqual(cfg.activation_fn_kwargs, { k: 3 });
    }
    const loaded = loadSaeLens(dir);
    assert.deepEqual(loaded.config, sae.config);
    assert.deepEqual(loaded.weights(), sae.weights());
    assert.deepEqual(loaded.encode(x, 4), sae.encode(x, 4));
    assert.deepEqual(loaded.reconstruct(x, 4), sae.reconstruct(x, 4));
  });
});

/** Writes a SAELens directory by hand: cfg as given, weights under SAELens' tensor names. */
function writeSaeLensDir(cfg: unknown, tensors: Record<string, { shape: number[]; data: Float32Array; dtype?: 'F32' | 'F16' }>): string {
  const dir = freshDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cfg.json'), typeof cfg === 'string' ? cfg : JSON.stringify(cfg));
  writeSafetensors(join(dir, 'sae_weights.safetensors'), Object.entries(tensors).map(([name, t]) => ({ name, ...t })));
  return dir;
}

function saeLensTensors(w: SaeWeights, dIn: number, dSae: number) {
  return {
    W_enc: { shape: [dIn, dSae], data: w.encoderWeight },
    W_dec: { shape: [dSae, dIn], data: w.decoderWeight },
    b_enc: { shape: [dSae], data: w.encoderBias },
    b_dec: { shape: [dIn], data: w.decoderBias },
    ...(w.threshold ? { threshold: { shape: [dSae], data: w.threshold } } : {}),
  };
}

test('hand-written SAELens configs load: the pre-6.0 layout (hook_point, activation_fn_kwargs) and the 6.x layout (metadata)', () => {
  const x = randomArray(new Random(60), 3 * 4);
  // A gpt2-small-res-jb style config (ReLU, SAELens 3-5).
  const relu: SaeConfig = { architecture: 'relu', dIn: 4, dSae: 8, hookName: 'blocks.0.hook_resid_pre' };
  const reluWeights = randomWeights(relu, 61);
  const legacyRelu = writeSaeLensDir({
    model_name: 'gpt2-small', hook_point: 'blocks.0.hook_resid_pre', hook_point_layer: 0, hook_point_head_index: null,
    d_in: 4, d_sae: 8, dtype: 'torch.float32', device: 'cuda', normalize_activations: false, apply_b_dec_to_input: true,
    activation_fn_str: 'relu', finetuning_scaling_factor: false, sae_lens_training_version: null, prepend_bos: true,
    dataset_path: 'Skylion007/openwebtext', context_size: 128,
  }, saeLensTensors(reluWeights, 4, 8));
  const a = loadSaeLens(legacyRelu);
  assert.deepEqual(a.config, { ...relu, modelName: 'gpt2-small', normalizeActivations: 'none', applyBDecToInput: true });
  assertClose(a.reconstruct(x, 3), naiveSae(relu, reluWeights, x, 3).reconstruction, 1e-5, 'legacy relu');

  // A pre-6.0 TopK: architecture 'standard' with activation_fn_str 'topk' and k in activation_fn_kwargs.
  const topk: SaeConfig = { architecture: 'topk', dIn: 4, dSae: 8, k: 2, hookName: 'blocks.1.hook_resid_post' };
  const topkWeights = randomWeights(topk, 62);
  const legacyTopK = writeSaeLensDir({
    architecture: 'standard', d_in: 4, d_sae: 8, dtype: 'float32', hook_name: 'blocks.1.hook_resid_post', hook_layer: 1,
    model_name: 'pythia-70m', activation_fn_str: 'topk', activation_fn_kwargs: { k: 2 }, apply_b_dec_to_input: true, normalize_activations: 'none',
  }, saeLensTensors(topkWeights, 4, 8));
  const b = loadSaeLens(legacyTopK);
  assert.equal(b.config.architecture, 'topk');
  assert.equal(b.config.k, 2);
  assertClose(b.encode(x, 3), naiveSae(topk, topkWeights, x, 3).latents, 1e-5, 'legacy topk');

  // SAELens 6.x: architecture-specific fields at the top, where it reads in metadata; one tensor stored as F16.
  const jump: SaeConfig = { architecture: 'jumprelu', dIn: 4, dSae: 8, hookName: 'blocks.12.hook_resid_post', applyBDecToInput: false };
  const jumpWeights = randomWeights(jump, 63);
  const halfThreshold = Float32Array.from(jumpWeights.threshold!, (v) => Math.round(v * 256) / 256); // exact in float16
  const v6 = writeSaeLensDir({
    d_in: 4, d_sae: 8, dtype: 'float32', device: 'cpu', apply_b_dec_to_input: false, normalize_activations: 'none', reshape_activations: 'none',
    metadata: { sae_lens_version: '6.5.1', sae_lens_training_version: '6.5.1', model_name: 'gemma-2-2b', hook_name: 'blocks.12.hook_resid_post', hook_head_index: null, prepend_bos: true },
    architecture: 'jumprelu',
  }, { ...saeLensTensors(jumpWeights, 4, 8), threshold: { shape: [8], data: halfThreshold, dtype: 'F16' } });
  const c = loadSaeLens(v6);
  assert.deepEqual(c.config, { ...jump, modelName: 'gemma-2-2b', normalizeActivations: 'none' });
  assertClose(c.encode(x, 3), naiveSae(jump, { ...jumpWeights, threshold: halfThreshold }, x, 3).latents, 1e-5, 'v6 jumprelu');
});

test('SAELens: expected_average_only_in needs its factor, which is folded into the weights; scaling_factor is folded into W_dec', () => {
  const relu: SaeConfig = { architecture: 'relu', dIn: 4, dSae: 8, hookName: 'blocks.0.post' };
  const w = randomWeights(relu, 70);
  const dir = writeSaeLensDir({ architecture: 'standard', d_in: 4, d_sae: 8, hook_name: 'blocks.0.post', normalize_activations: 'expected_average_only_in' }, saeLensTensors(w, 4, 8));
  assert.throws(() => loadSaeLens(dir), (e: Error) => e instanceof CheckpointFormatError && /cfg\.json: .*pass its value as normScalingFactor/.test(e.message));
  const factor = 2.5;
  const folded = loadSaeLens(dir, { normScalingFactor: factor });
  const x = randomArray(new Random(71), 2 * 4);
  // SAELens: encode factor * x, decode, divide by factor.
  const scaled = Float32Array.from(x, (v) => v * factor);
  const expected = naiveSae(relu, w, scaled, 2).reconstruction.map((v) => v / factor);
  assertClose(folded.reconstruct(x, 2), expected, 1e-5, 'folded normalisation');

  const scaling = Float32Array.from({ length: 8 }, (_, j) => 0.5 + j / 8);
  const withScale = writeSaeLensDir({ architecture: 'standard', d_in: 4, d_sae: 8, hook_name: 'blocks.0.post', finetuning_scaling_factor: true },
    { ...saeLensTensors(w, 4, 8), scaling_factor: { shape: [8], data: scaling } });
  const scaledDecoder = Float32Array.from(w.decoderWeight, (v, i) => v * scaling[Math.floor(i / 4)]);
  assertClose(loadSaeLens(withScale).reconstruct(x, 2), naiveSae(relu, { ...w, decoderWeight: scaledDecoder }, x, 2).reconstruction, 1e-5, 'scaling factor');
});

test('malformed SAELens directories fail with errors naming the file and the field', () => {
  const config: SaeConfig = { architecture: 'jumprelu', dIn: 4, dSae: 8, hookName: 'blocks.0.post' };
  const w = randomWeights(config, 80);
  const tensors = saeLensTensors(w, 4, 8);
  const good = { architecture: 'jumprelu', d_in: 4, d_sae: 8, hook_name: 'blocks.0.post' };
  const cases: Array<[string, unknown, Record<string, { shape: number[]; data: Float32Array }>, RegExp]> = [
    ['bad JSON', '{"d_in": 4, ', tensors, /cfg\.json: is not valid JSON/],
    ['not an object', '[1, 2]', tensors, /cfg\.json: expected a JSON object/],
    ['unknown architecture', { ...good, architecture: 'gated' }, tensors, /cfg\.json: architecture "gated" is not supported; expected 'standard' \(ReLU\), 'topk' or 'jumprelu'/],
    ['unknown activation', { ...good, architecture: 'standard', activation_fn_str: 'tanh-relu' }, tensors, /activation function "tanh-relu"/],
    ['missing d_sae', { ...good, d_sae: undefined }, tensors, /field 'd_sae' must be a positive integer, got undefined/],
    ['topk without k', { ...good, architecture: 'topk' }, tensors, /a TopK SAE needs an integer k/],
    ['no hook', { ...good, hook_name: undefined }, tensors, /no hook name/],
    ['bad normalisation', { ...good, normalize_activations: 'rms' }, tensors, /normalize_activations "rms" is not supported/],
    ['missing W_dec', good, { ...tensors, W_dec: undefined as never }, /sae_weights\.safetensors: missing tensor 'W_dec' \[8, 4\]/],
    ['wrong b_enc shape', good, { ...tensors, b_enc: { shape: [7], data: new Float32Array(7) } }, /tensor 'b_enc' has shape \[7\], expected \[8\]/],
    ['transposed W_enc', good, { ...tensors, W_enc: { shape: [8, 4], data: w.encoderWeight } }, /tensor 'W_enc' has shape \[8, 4\], expected \[4, 8\]/],
    ['no threshold', good, { ...tensors, threshold: undefined as never }, /missing tensor 'threshold' \[8\]/],
  ];
  for (const [label, cfg, t, pattern] of cases) {
    const present = Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined));
    const dir = writeSaeLensDir(cfg, present);
    assert.throws(() => loadSaeLens(dir), (e: Error) => e instanceof CheckpointFormatError && e.message.startsWith(dir) && pattern.test(e.message), label);
  }
  assert.throws(() => loadSaeLens(join(workDir, 'nowhere')), /cfg\.json: cannot read the SAE config/);
});

// ---- Gemma Scope ----

test('Gemma Scope params.npz loads as a JumpReLU SAE that encodes the raw input', () => {
  const config: SaeConfig = { architecture: 'jumprelu', dIn: 6, dSae: 12, hookName: 'blocks.3.hook_resid_post', applyBDecToInput: false };
  const w = randomWeights(config, 90);
  const x = randomArray(new Random(91), 5 * 6);
  const expected = naiveSae(config, w, x, 5);
  for (const compression of ['stored', 'deflate'] as const) {
    const path = join(workDir, `params-${compression}.npz`);
    writeNpz(path, {
      W_enc: { shape: [6, 12], data: w.encoderWeight }, W_dec: { shape: [12, 6], data: w.decoderWeight },
      b_enc: { shape: [12], data: w.encoderBias }, b_dec: { shape: [6], data: w.decoderBias }, threshold: { shape: [12], data: w.threshold! },
    }, { compression });
    const sae = loadGemmaScope(path, { hookName: 'blocks.3.hook_resid_post', modelName: 'gemma-2-2b' });
    assert.deepEqual(sae.config, { ...config, modelName: 'gemma-2-2b', normalizeActivations: 'none' });
    assertClose(sae.encode(x, 5), expected.latents, 1e-5, `${compression} latents`);
    assertClose(sae.reconstruct(x, 5), expected.reconstruction, 1e-5, `${compression} reconstruction`);
  }
  // Lower-case matrix names are accepted too.
  const lower = join(workDir, 'lower.npz');
  writeNpz(lower, {
    w_enc: { shape: [6, 12], data: w.encoderWeight }, w_dec: { shape: [12, 6], data: w.decoderWeight },
    b_enc: { shape: [12], data: w.encoderBias }, b_dec: { shape: [6], data: w.decoderBias }, threshold: { shape: [12], data: w.threshold! },
  });
  assertClose(loadGemmaScope(lower, { hookName: 'blocks.3.post' }).encode(x, 5), expected.latents, 1e-5, 'lower-case names');
});

test('malformed Gemma Scope archives fail naming the array', () => {
  const w = randomWeights({ architecture: 'jumprelu', dIn: 4, dSae: 8, hookName: 'x' }, 95);
  const full = {
    W_enc: { shape: [4, 8], data: w.encoderWeight }, W_dec: { shape: [8, 4], data: w.decoderWeight },
    b_enc: { shape: [8], data: w.encoderBias }, b_dec: { shape: [4], data: w.decoderBias }, threshold: { shape: [8], data: w.threshold! },
  };
  const path = join(workDir, 'bad.npz');
  const { threshold: _t, ...noThreshold } = full;
  writeNpz(path, noThreshold);
  assert.throws(() => loadGemmaScope(path, { hookName: 'blocks.0.post' }), (e: Error) => e instanceof CheckpointFormatError && /bad\.npz: missing array 'threshold'/.test(e.message));
  writeNpz(path, { ...full, b_dec: { shape: [5], data: new Float32Array(5) } });
  assert.throws(() => loadGemmaScope(path, { hookName: 'blocks.0.post' }), /array 'b_dec' has shape \(5\), expected \(4\) to match W_enc \(d_in=4, d_sae=8\)/);
  writeNpz(path, { ...full, W_enc: { shape: [32], data: w.encoderWeight } });
  assert.throws(() => loadGemmaScope(path, { hookName: 'blocks.0.post' }), /array 'W_enc' has shape \(32\), expected \(d_in, d_sae\)/);
});

// ---- spliced cross-entropy ----

const sequences = [[3, 17, 42, 8, 5, 29, 11], [1, 2, 3], [60, 7, 7, 7, 30, 22, 9, 14, 50], [4, 9]];

test('spliced CE: a perfect SAE recovers 100%, the zero SAE 0%, and clean CE matches nextTokenLogprobs', () => {
  const { model } = randomModel(tinyConfigs.llama, 12);
  const dIn = model.spec.hiddenSize;
  // Reference clean CE, one unpadded sequence at a time.
  let total = 0;
  let count = 0;
  for (const s of sequences) {
    const logprobs = nextTokenLogprobs(model, s);
    for (let t = 0; t + 1 < s.length; t++) { total -= logprobs[t][s[t + 1]]; count++; }
  }
  for (const hookName of ['blocks.0.post', 'blocks.1.hook_resid_pre']) {
    for (const architecture of ['relu', 'topk'] as const) {
      const perfect = splicedCrossEntropy(model, identitySae(architecture, dIn, hookName), sequences, { batchSize: 3 });
      assert.equal(perfect.tokens, count);
      assertClose([perfect.clean], [total / count], 1e-5, 'clean CE');
      assert.ok(Math.abs(perfect.spliced - perfect.clean) < 1e-4, `${hookName} ${architecture}: spliced ${perfect.spliced} vs clean ${perfect.clean}`);
      // An untrained model predicts worse than uniform, so zeroing can even help; it must change the loss.
      assert.ok(Math.abs(perfect.zeroAblation - perfect.clean) > 0.05, 'zeroing the stream must change the loss');
      assert.ok(Math.abs(perfect.recovered - 1) < 1e-3, `recovered ${perfect.recovered}`);
    }
    const zero = splicedCrossEntropy(model, SparseAutoencoder.zeros({ architecture: 'relu', dIn, dSae: 8, hookName }), sequences);
    assert.ok(Math.abs(zero.recovered) < 1e-6, `the zero SAE recovers ${zero.recovered}`);
    assert.ok(Math.abs(zero.spliced - zero.zeroAblation) < 1e-6);
  }
  const partial = splicedCrossEntropy(model, new SparseAutoencoder({ architecture: 'relu', dIn, dSae: 32, hookName: 'blocks.0.post' }, randomWeights({ architecture: 'relu', dIn, dSae: 32, hookName: 'x' }, 3)), sequences);
  assert.ok(Number.isFinite(partial.recovered) && partial.spliced !== partial.clean);
  assert.throws(() => splicedCrossEntropy(model, identitySae('relu', 8, 'blocks.0.post'), sequences), /hidden size is 16 but the SAE reads 8/);
  assert.throws(() => splicedCrossEntropy(model, identitySae('relu', dIn, 'blocks.5.post'), sequences), /names layer 5, but the model has 2 layers/);
  assert.throws(() => splicedCrossEntropy(model, identitySae('relu', dIn, 'blocks.0.post'), [[1]]), /needs at least one sequence of two or more tokens/);
});

test('the splice hook is differentiable: a training tape reaches the SAE weights through the model', () => {
  const { model } = randomModel(tinyConfigs.llama, 13);
  const sae = SparseAutoencoder.random({ architecture: 'topk', dIn: model.spec.hiddenSize, dSae: 24, k: 6, hookName: 'blocks.0.post' }, 2);
  const hooks = new ResidualHooks(model.spec.layers);
  hooks.on('blocks.0.post', saeSpliceHook(sae));
  const ids = Int32Array.from(sequences[0]);
  const tape = new Tape();
  const { logits } = model.forward(tape, ids, 1, ids.length, { hooks });
  tape.backward(crossEntropy(tape, reshape(tape, logits!, [ids.length, model.spec.vocabSize]), Int32Array.from([...sequences[0].slice(1), 0])));
  for (const p of sae.parameters()) assert.ok(p.grad !== null && p.grad.data.some((g) => g !== 0), `${p.name} must receive a gradient`);
  tape.release();
});
