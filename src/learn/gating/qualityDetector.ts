import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import type { TextTokenizer } from '../../io/tokenizer.js';
import type { CausalLm } from '../../model/causalLm.js';
import { type HookPointName, ResidualHooks, parseHookPoint } from '../../model/hooks.js';
import { withInferenceTape } from '../../model/inference.js';
import { Random } from '../../tensor/index.js';
import { generateCodingDialogue } from '../../world/coding/dialogue.js';
import { generalTextPassages } from '../../world/generalText.js';
import { generateHomeDialogue } from '../../world/home/dialogue.js';

// A feature-based quality detector: one direction in the residual stream at the
// bundle's hook point that separates coherent text from garbage, found by
// difference of means (the same recipe as the bundles' contrastive features):
//
//   d = mean_{coherent} a(text) − mean_{garbage} a(text),   a(text) = mean over positions of h_t
//
// with h_t the stream at the hook point (the first position, BOS, is the same for
// every text and is left out). Coherent: user requests, assistant replies and
// context turns (profile, memory notes, corrections) of world dialogues, and
// general-text passages. Garbage: keyboard mash (random
// characters) and random token ids decoded, each as long as a coherent text. A
// text's score is its mean projection on d̂ through a logistic calibrated so
// that the coherent mean scores 0.9 and the garbage mean 0.1. The direction is
// computed once per model and hook point; loadOrBuildQualityDetector caches it.
//
// What it does not see: fluent text that is wrong, and word salad made of real
// words. On the shipped model (blocks.3.post) shuffled sentences and one word
// repeated project like coherent text (a mean over positions is close to a bag
// of words), and a direction trained on them separates nothing on fresh texts,
// so they are not in the garbage set. Fluent but misleading input is left to
// the other signals: trust, teacher–student agreement and the subspace fraction.

export interface QualityDetector {
  format: 'imprint.quality-detector';
  version: 1;
  point: HookPointName;
  /** The model's shape, to refuse a detector made for another model. */
  model: { hiddenSize: number; layers: number; vocabSize: number };
  /** Unit direction d̂, length hiddenSize. */
  direction: number[];
  coherentMean: number;
  garbageMean: number;
  /** Accuracy of score >= 0.5 on fresh coherent and garbage texts (not used to build it). */
  heldOutAccuracy: number;
  counts: { coherent: number; garbage: number };
}

export interface QualityDetectorOptions {
  /** Coherent texts per source (world requests, replies, contexts, general text); default 32. */
  perSource?: number;
  seed?: number;
  /** Texts are cut to this many tokens (default 64). */
  maxTokens?: number;
}

/** [BOS] + the text's tokens, cut to maxTokens. */
export function textIds(model: CausalLm, tokenizer: TextTokenizer, text: string, maxTokens = 64): number[] {
  const bos = model.spec.bosTokenId;
  const ids = tokenizer.encode(text, { addSpecialTokens: false }).slice(0, maxTokens);
  return bos === null ? ids : [bos, ...ids];
}

/** Coherent texts: world requests, replies and context turns (profiles, memory notes, corrections), and general-text passages (training split). */
export function coherentTexts(seed: number, perSource: number): string[] {
  const rng = new Random(seed);
  const requests: string[] = [];
  const replies: string[] = [];
  const contexts: string[] = [];
  for (let i = 0; i < perSource; i++) {
    const d = i % 3 === 2 ? generateCodingDialogue(rng, { stated: true }) : generateHomeDialogue(rng, { stated: true, feedback: false });
    requests.push(d.turns.find((t) => t.role === 'user')!.content);
    replies.push(d.turns.find((t) => t.role === 'assistant')!.content);
    contexts.push(d.turns.find((t) => t.role === 'system')!.content);
  }
  const passages = generalTextPassages().train;
  const general = Array.from({ length: perSource }, () => passages[rng.int(passages.length)].text.slice(0, 300));
  return [...requests, ...replies, ...contexts, ...general];
}

/** Garbage as long as each coherent text: keyboard mash (even indices) or random tokens decoded (odd). */
export function garbageTexts(texts: readonly string[], tokenizer: TextTokenizer, seed: number): string[] {
  const rng = new Random(seed);
  const letters = 'abcdefghijklmnopqrstuvwxyz      ,.;!?0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ#@%&*';
  return texts.map((text, i) => {
    if (i % 2 === 0) return Array.from({ length: Math.max(8, Math.min(text.length, 200)) }, () => letters[rng.int(letters.length)]).join('');
    const count = Math.max(4, Math.min(48, tokenizer.encode(text, { addSpecialTokens: false }).length));
    return tokenizer.decode(Array.from({ length: count }, () => rng.int(tokenizer.vocabSize)), { skipSpecialTokens: true });
  });
}

/** Mean residual stream at `point` over the positions after the first. */
export function meanActivation(model: CausalLm, point: HookPointName, ids: readonly number[]): Float64Array {
  const d = model.spec.hiddenSize;
  const mean = new Float64Array(d);
  const hooks = new ResidualHooks(model.spec.layers);
  hooks.on(point, (hidden) => {
    const data = hidden.data;
    const seq = data.length / d;
    const first = seq > 1 ? 1 : 0;
    for (let t = first; t < seq; t++) for (let i = 0; i < d; i++) mean[i] += data[t * d + i];
    for (let i = 0; i < d; i++) mean[i] /= seq - first;
  });
  withInferenceTape((tape) => model.forward(tape, Int32Array.from(ids), 1, ids.length, { hooks, logits: 'none' }));
  return mean;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function buildQualityDetector(model: CausalLm, tokenizer: TextTokenizer, point: HookPointName, options: QualityDetectorOptions = {}): QualityDetector {
  parseHookPoint(point, model.spec.layers);
  const perSource = options.perSource ?? 32;
  const seed = options.seed ?? 0;
  const maxTokens = options.maxTokens ?? 64;
  const d = model.spec.hiddenSize;
  const activations = (texts: readonly string[]) => texts.map((t) => meanActivation(model, point, textIds(model, tokenizer, t, maxTokens)));
  const coherent = coherentTexts(seed, perSource);
  const garbage = garbageTexts(coherent, tokenizer, seed + 1);
  const good = activations(coherent);
  const bad = activations(garbage);
  const direction = new Float64Array(d);
  for (const a of good) for (let i = 0; i < d; i++) direction[i] += a[i] / good.length;
  for (const a of bad) for (let i = 0; i < d; i++) direction[i] -= a[i] / bad.length;
  const norm = Math.sqrt(dot(direction, direction));
  if (!(norm > 0) || !Number.isFinite(norm)) throw new Error(`quality detector: coherent and garbage texts have the same mean activation at ${point}; no direction separates them`);
  for (let i = 0; i < d; i++) direction[i] /= norm;
  const mean = (xs: Float64Array[]) => xs.reduce((s, a) => s + dot(a, direction), 0) / xs.length;
  const detector: QualityDetector = {
    format: 'imprint.quality-detector', version: 1, point,
    model: { hiddenSize: d, layers: model.spec.layers, vocabSize: model.spec.vocabSize },
    direction: Array.from(direction), coherentMean: mean(good), garbageMean: mean(bad), heldOutAccuracy: 0,
    counts: { coherent: good.length, garbage: bad.length },
  };
  // Fresh texts (another seed) measure how well it generalises.
  const freshCoherent = coherentTexts(seed + 1000, Math.max(4, Math.floor(perSource / 4)));
  const freshGarbage = garbageTexts(freshCoherent, tokenizer, seed + 1001);
  let right = 0;
  for (const t of freshCoherent) if (scoreProjection(detector, dot(meanActivation(model, point, textIds(model, tokenizer, t, maxTokens)), direction)) >= 0.5) right++;
  for (const t of freshGarbage) if (scoreProjection(detector, dot(meanActivation(model, point, textIds(model, tokenizer, t, maxTokens)), direction)) < 0.5) right++;
  detector.heldOutAccuracy = right / (freshCoherent.length + freshGarbage.length);
  return detector;
}

/** Logistic calibration: the coherent mean maps to 0.9, the garbage mean to 0.1. */
export function scoreProjection(detector: QualityDetector, projection: number): number {
  const mid = (detector.coherentMean + detector.garbageMean) / 2;
  const half = (detector.coherentMean - detector.garbageMean) / 2;
  const x = (Math.log(9) * (projection - mid)) / half;
  return 1 / (1 + Math.exp(-x));
}

export interface QualityScore {
  projection: number;
  /** In (0, 1): about 0.9 for text like the world's, about 0.1 for garbage. */
  score: number;
}

/** Scores token ids (a text as textIds gives it) with the base model. */
export function qualityOfIds(model: CausalLm, detector: QualityDetector, ids: readonly number[]): QualityScore {
  checkDetectorFits(detector, model);
  const projection = dot(meanActivation(model, detector.point, ids), detector.direction);
  return { projection, score: scoreProjection(detector, projection) };
}

export function checkDetectorFits(detector: QualityDetector, model: CausalLm): void {
  const m = detector.model;
  if (m.hiddenSize !== model.spec.hiddenSize || m.layers !== model.spec.layers || m.vocabSize !== model.spec.vocabSize) {
    throw new RangeError(`quality detector was built for a model with hidden size ${m.hiddenSize}, ${m.layers} layers, vocabulary ${m.vocabSize}; this model has ${model.spec.hiddenSize}, ${model.spec.layers}, ${model.spec.vocabSize}`);
  }
}

export function saveQualityDetector(path: string, detector: QualityDetector): void {
  // A cache path in a folder that does not exist yet (a new store) is created.
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, [new TextEncoder().encode(`${JSON.stringify(detector)}\n`)]);
}

export function loadQualityDetector(path: string): QualityDetector {
  const json = JSON.parse(readFileSync(path, 'utf8')) as QualityDetector;
  if (json.format !== 'imprint.quality-detector' || json.version !== 1) throw new Error(`${path}: not an imprint quality detector (format ${String(json.format)}, version ${String(json.version)})`);
  if (!Array.isArray(json.direction) || json.direction.length !== json.model?.hiddenSize) throw new Error(`${path}: its direction does not have hiddenSize ${json.model?.hiddenSize} values`);
  return json;
}

/** The detector cached at `path` when it fits the model and point; else builds it and writes it there. */
export function loadOrBuildQualityDetector(
  path: string, model: CausalLm, tokenizer: TextTokenizer, point: HookPointName, options: QualityDetectorOptions = {},
): QualityDetector {
  if (existsSync(path)) {
    try {
      const cached = loadQualityDetector(path);
      checkDetectorFits(cached, model);
      if (cached.point === point) return cached;
    } catch {
      // A stale or foreign cache is rebuilt below.
    }
  }
  const detector = buildQualityDetector(model, tokenizer, point, options);
  saveQualityDetector(path, detector);
  return detector;
}
