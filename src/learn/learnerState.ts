import type { StoredLearnerState, StoredTensor } from '../adapt/index.js';
import { Random, type RandomState, type Tensor } from '../tensor/index.js';
import { type BackgroundPoolState, type ReplayItem, type ReplayState, replayStateProblem } from './forgetting.js';

// The learner's resumable state: everything besides the adapter's weights and
// the learner's config that decides what its next steps do. A learner that
// restores it, on an adapter with the saved weights, continues bit for bit as
// the learner that saved it would have:
//   - AdamW's step count (its bias correction) and its moments m and v per
//     trainable adapter parameter, keyed by the parameter's name (the adapter
//     state's tensor name, the same on every load of a version);
//   - the replay buffer's items, ring position and generator;
//   - the generators of the student's samples, the background draws and the
//     adapters' dropout masks;
//   - the step counter that numbers the step logs.
// Not kept: `history` and the step logs (a record of what happened, not an
// input to what happens next).
//
// In a store (src/adapt/store/learnerFile.ts) the moments are tensors named
// adamw.m.NAME and adamw.v.NAME, and the rest is the JSON `meta`.

export const LEARNER_STATE_FORMAT = 'imprint.online-learner';
export const LEARNER_STATE_VERSION = 1;

export interface Moments {
  shape: number[];
  m: Float32Array;
  v: Float32Array;
}

export interface LearnerState {
  /** Steps taken (StepLog.step of the last one). */
  steps: number;
  optimiser: { stepCount: number; moments: Map<string, Moments> };
  replay: ReplayState;
  random: {
    /** The student's distillation samples. */
    learner: RandomState;
    /** Null when the learner has no background pool. */
    background: BackgroundPoolState | null;
    /** Per linear adapter, by its name. */
    dropout: Map<string, RandomState>;
  };
}

/** What a learner is, for checking that a state fits it. */
export interface RestoreTarget {
  params: readonly Tensor[];
  replayCapacity: number;
  /** Sequences in its background pool; null when it has none. */
  backgroundSequences: number | null;
  dropoutAdapters: readonly string[];
}

/** The parameters' names, which key their moments; a parameter without one, or a name used twice, cannot be keyed. */
export function parameterNames(params: readonly Tensor[]): string[] {
  const names = params.map((p, i) => {
    if (p.name === undefined || p.name === '') throw new RangeError(`learner state: trainable parameter ${i} [${p.shape.join(', ')}] has no name, so its optimiser moments cannot be saved by name`);
    return p.name;
  });
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new RangeError(`learner state: two trainable parameters are named ${name}; moments are saved by name, so names must be unique`);
    seen.add(name);
  }
  return names;
}

/** Throws a RangeError naming the first thing in `state` that does not fit `target`; checks everything before anything is restored. */
export function checkRestorable(state: LearnerState, target: RestoreTarget): void {
  const names = parameterNames(target.params);
  const saved = state.optimiser.moments;
  const missing = names.filter((n) => !saved.has(n));
  const extra = [...saved.keys()].filter((n) => !names.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    throw new RangeError(`learner state: its optimiser moments are for other parameters than this learner's adapter has (${[
      missing.length > 0 ? `missing: ${list(missing)}` : '', extra.length > 0 ? `not in the adapter: ${list(extra)}` : '',
    ].filter((s) => s !== '').join('; ')}); restore it into a learner on the adapter version it was saved with`);
  }
  target.params.forEach((p, i) => {
    const moments = saved.get(names[i])!;
    if (!sameShape(moments.shape, p.shape) || moments.m.length !== p.size || moments.v.length !== p.size) {
      throw new RangeError(`learner state: the moments of ${names[i]} are [${moments.shape.join(', ')}] (m ${moments.m.length}, v ${moments.v.length} values), but the parameter is [${p.shape.join(', ')}]`);
    }
  });
  const problem = replayStateProblem(state.replay, target.replayCapacity);
  if (problem !== null) throw new RangeError(`learner state: ${problem} (forgetting.replayCapacity)`);
  const background = state.random.background;
  if ((background === null) !== (target.backgroundSequences === null) || (background !== null && background.sequences !== target.backgroundSequences)) {
    const describe = (n: number | null) => (n === null ? 'no background pool' : `a background pool of ${n} sequences`);
    throw new RangeError(`learner state: it was saved by a learner with ${describe(background?.sequences ?? null)}, this one has ${describe(target.backgroundSequences)} (forgetting.backgroundWeight and the background sequences must be the same)`);
  }
  const dropout = [...state.random.dropout.keys()];
  if (!sameSet(dropout, target.dropoutAdapters)) {
    throw new RangeError(`learner state: it has dropout generators for the linear adapters ${list(dropout)}, this learner's adapter has ${list(target.dropoutAdapters)}`);
  }
  // Setting each generator state on a scratch generator checks it the way restoring will.
  const generators: [string, RandomState][] = [
    ['learner', state.random.learner], ['replay', state.replay.random], ...(background === null ? [] : [['background', background.random] as [string, RandomState]]),
    ...[...state.random.dropout].map(([name, s]): [string, RandomState] => [`dropout of ${name}`, s]),
  ];
  for (const [what, s] of generators) {
    try {
      new Random(0).setState(s);
    } catch (error) {
      throw new RangeError(`learner state: the ${what} generator: ${(error as Error).message}`);
    }
  }
}

/** The state as the adapter store keeps it. */
export function encodeLearnerState(state: LearnerState): StoredLearnerState {
  const tensors = new Map<string, StoredTensor>();
  for (const [name, { shape, m, v }] of state.optimiser.moments) {
    tensors.set(`adamw.m.${name}`, { shape: [...shape], data: m });
    tensors.set(`adamw.v.${name}`, { shape: [...shape], data: v });
  }
  return {
    tensors,
    meta: {
      format: LEARNER_STATE_FORMAT, version: LEARNER_STATE_VERSION,
      steps: state.steps,
      optimiser: { kind: 'adamw', stepCount: state.optimiser.stepCount, parameters: [...state.optimiser.moments.keys()] },
      replay: state.replay,
      random: { learner: state.random.learner, background: state.random.background, dropout: Object.fromEntries(state.random.dropout) },
    },
  };
}

/** Reads a stored state back, checking every field; `where` (the file) starts every message. */
export function decodeLearnerState(stored: StoredLearnerState, where: string): LearnerState {
  const fail = (field: string, expected: string, got: unknown): never => {
    const text = JSON.stringify(got) ?? String(got);
    throw new RangeError(`${where}: ${field}: expected ${expected}, got ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const meta = stored.meta;
  if (meta.format !== LEARNER_STATE_FORMAT) fail('format', `"${LEARNER_STATE_FORMAT}"`, meta.format);
  if (meta.version !== LEARNER_STATE_VERSION) fail('version', `${LEARNER_STATE_VERSION} (the version this build reads)`, meta.version);
  if (!count(meta.steps)) fail('steps', 'the number of steps taken (an integer >= 0)', meta.steps);

  const o = meta.optimiser;
  if (!isObject(o)) return fail('optimiser', '{ kind, stepCount, parameters }', o);
  if (o.kind !== 'adamw') fail('optimiser.kind', '"adamw"', o.kind);
  if (!count(o.stepCount)) fail('optimiser.stepCount', 'an integer >= 0', o.stepCount);
  if (!Array.isArray(o.parameters) || !o.parameters.every((n) => typeof n === 'string')) fail('optimiser.parameters', 'a list of parameter names', o.parameters);
  const moments = new Map<string, Moments>();
  for (const name of o.parameters as string[]) {
    const m = stored.tensors.get(`adamw.m.${name}`);
    const v = stored.tensors.get(`adamw.v.${name}`);
    if (m === undefined || v === undefined) fail(`tensor adamw.${m === undefined ? 'm' : 'v'}.${name}`, `the moment of parameter ${name}, which optimiser.parameters lists`, null);
    if (!sameShape(m!.shape, v!.shape)) fail(`tensor adamw.v.${name}`, `the shape of adamw.m.${name}, [${m!.shape.join(', ')}]`, v!.shape);
    moments.set(name, { shape: m!.shape, m: m!.data, v: v!.data });
  }
  const unlisted = [...stored.tensors.keys()].filter((t) => !/^adamw\.[mv]\./.test(t) || !moments.has(t.slice('adamw.m.'.length)));
  if (unlisted.length > 0) fail('tensors', 'only adamw.m.NAME and adamw.v.NAME for the names in optimiser.parameters', unlisted);

  const randomState = (v: unknown, field: string): RandomState => {
    if (!isObject(v) || !Array.isArray(v.words) || v.words.length !== 4 || !v.words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) ||
      !(v.spareNormal === null || (typeof v.spareNormal === 'number' && Number.isFinite(v.spareNormal)))) {
      fail(field, 'a generator state { words: four unsigned 32-bit integers, spareNormal: null or a number }', v);
    }
    return v as unknown as RandomState;
  };
  const r = meta.replay;
  if (!isObject(r)) return fail('replay', '{ capacity, items, next, random }', r);
  if (!count(r.capacity)) fail('replay.capacity', 'the replay buffer\'s capacity (an integer >= 0)', r.capacity);
  if (!Array.isArray(r.items)) fail('replay.items', 'a list', r.items);
  const ids = (v: unknown) => Array.isArray(v) && v.every((id) => Number.isSafeInteger(id) && id >= 0);
  const items = (r.items as unknown[]).map((item, i): ReplayItem => {
    if (!isObject(item) || !ids(item.prompt) || !ids(item.reply) || typeof item.weight !== 'number' || !Number.isFinite(item.weight) || typeof item.label !== 'string') {
      fail(`replay.items[${i}]`, '{ prompt: token ids, reply: token ids, weight: a number, label: a string }', item);
    }
    return item as unknown as ReplayItem;
  });
  if (!count(r.next)) fail('replay.next', 'the ring position (an integer >= 0)', r.next);
  const replay: ReplayState = { capacity: r.capacity as number, items, next: r.next as number, random: randomState(r.random, 'replay.random') };

  const g = meta.random;
  if (!isObject(g)) return fail('random', '{ learner, background, dropout }', g);
  let background: BackgroundPoolState | null = null;
  if (g.background !== null) {
    const b = g.background;
    if (!isObject(b) || !(Number.isSafeInteger(b.sequences) && (b.sequences as number) >= 1)) fail('random.background', 'null or { sequences: a count >= 1, random }', b);
    background = { sequences: (b as Record<string, unknown>).sequences as number, random: randomState((b as Record<string, unknown>).random, 'random.background.random') };
  }
  if (!isObject(g.dropout)) return fail('random.dropout', 'an object of generator states by adapter name', g.dropout);
  const dropout = new Map(Object.entries(g.dropout).map(([name, v]) => [name, randomState(v, `random.dropout.${name}`)]));
  return {
    steps: meta.steps as number,
    optimiser: { stepCount: o.stepCount as number, moments },
    replay,
    random: { learner: randomState(g.learner, 'random.learner'), background, dropout },
  };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function list(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  return `${names.slice(0, 4).join(', ')}${names.length > 4 ? `, ... (${names.length} in all)` : ''}`;
}
