import { AdapterSet, type FeatureSpace, featureSpaceFromDirections } from '../../src/adapt/index.js';
import type { ChatEncoding } from '../../src/learn/index.js';
import type { CausalLm } from '../../src/model/causalLm.js';
import { Random } from '../../src/tensor/index.js';
import type { ChatTurn } from '../../src/world/types.js';
import { randomModel, tinyConfigs } from './randomModels.js';

// Fixtures for the learner's tests: a tiny random Llama (vocab 61, hidden 16,
// 2 layers, untied embeddings, 64 positions), a character-level chat encoding
// for it (so no tokenizer is needed), and a write-constrained FC-LoRA on every
// o_proj and down_proj, constrained to a random k-dimensional feature space at
// blocks.1.post.

export const TOKEN = { bos: 0, end: 1, system: 2, user: 3, assistant: 4 } as const;
const FIRST_CHAR = 5;

/** One token per character (folded into the vocabulary), world-like role tokens. */
export function charEncoding(vocab: number): ChatEncoding {
  const chars = (text: string) => Array.from(text, (c) => FIRST_CHAR + (c.charCodeAt(0) % (vocab - FIRST_CHAR)));
  const role = { system: TOKEN.system, user: TOKEN.user, assistant: TOKEN.assistant };
  return {
    prompt: (turns: readonly ChatTurn[]) => [TOKEN.bos, ...turns.flatMap((t) => [role[t.role], ...chars(t.content), TOKEN.end]), TOKEN.assistant],
    reply: (text: string) => [...chars(text), TOKEN.end],
    stopTokenIds: [TOKEN.end],
    decode: (ids) => ids.filter((id) => id >= FIRST_CHAR).map((id) => String.fromCharCode(id - FIRST_CHAR + 32)).join(''),
  };
}

export interface TinySetup {
  model: CausalLm;
  space: FeatureSpace;
  adapters: AdapterSet;
  encoding: ChatEncoding;
}

export function tinySetup(options: { seed?: number; features?: number; kind?: 'write' | 'lora'; rank?: number; dropout?: number } = {}): TinySetup {
  const seed = options.seed ?? 1;
  const { model } = randomModel(tinyConfigs.llama, seed);
  for (const p of model.parameters()) p.requiresGrad = false;
  const d = model.spec.hiddenSize;
  const k = options.features ?? 4;
  const rng = new Random(seed + 100);
  const directions = new Float32Array(k * d);
  rng.fillNormal(directions);
  const space = featureSpaceFromDirections({ name: 'test-features', hookPoint: 'blocks.1.post', width: d, ids: Array.from({ length: k }, (_, i) => `f${i}`), directions });
  const rank = options.rank ?? 4;
  const target = { modules: ['o_proj', 'down_proj'] };
  const adapters = AdapterSet.create(model, {
    seed, adapters: [{ kind: options.kind ?? 'write', rank, target, ...(options.dropout === undefined ? {} : { dropout: options.dropout }) }],
  }, space);
  return { model, space, adapters, encoding: charEncoding(model.spec.vocabSize) };
}

/** Gives every trainable adapter tensor random values, so the student differs from the base. */
export function randomiseAdapters(adapters: AdapterSet, seed: number, std = 0.3): void {
  const rng = new Random(seed);
  for (const p of adapters.parameters()) rng.fillNormal(p.data, std);
}

export function snapshot(tensors: { data: ArrayLike<number> }[]): Float32Array[] {
  return tensors.map((t) => Float32Array.from(t.data));
}

export function sameValues(a: Float32Array[], b: Float32Array[]): boolean {
  return a.length === b.length && a.every((x, i) => x.length === b[i].length && x.every((v, j) => Object.is(v, b[i][j])));
}
