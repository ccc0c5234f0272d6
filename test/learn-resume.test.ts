import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AdapterSet, AdapterStore } from '../src/adapt/index.js';
import { type Experience, type LearnerOptions, type LearnerState, OnlineLearner, decodeLearnerState, encodeLearnerState } from '../src/learn/index.js';
import { Random } from '../src/tensor/index.js';
import { TOKEN, sameValues, snapshot, tinySetup } from './support/learnFixtures.js';

// Resuming the learner from an adapter store: N steps, a commit with the
// learner's state, a new learner (new model objects, adapter loaded from the
// store) restoring it, and M more steps give bit for bit the adapter of N + M
// steps in one go; without the state they do not. A state that does not fit
// the learner is refused, naming what differs, and changes nothing.

const scratch = mkdtempSync(join(tmpdir(), 'imprint-learn-resume-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => join(scratch, `store-${dirCount++}`);

const background = [[TOKEN.bos, 20, 21, 22, 23, 24], [TOKEN.bos, 30, 31, 32], [TOKEN.bos, 40, 41, 42, 43]];

// Contexts make the student sample (the learner's generator), thumbs up and
// corrections fill the replay buffer past its capacity of 2 (its ring and
// generator), every step draws a background sequence (the pool's generator).
const experiences: Experience[] = [
  { prompt: 'tea?', reply: 'yes', reaction: { kind: 'thumbs', up: true }, context: { profile: 'brief' } },
  { prompt: 'lights', reply: 'on now', reaction: { kind: 'thumbs', up: true }, context: { memory: ['short'] } },
  { prompt: 'oven?', reply: 'hot', reaction: { kind: 'correction', text: 'say it kindly', correctedReply: 'it is hot' } },
  { prompt: 'time', reply: 'late', reaction: { kind: 'thumbs', up: true }, context: { profile: 'brief' } },
  { prompt: 'rain?', reply: 'no', reaction: { kind: 'none' }, context: { memory: ['short'] } },
  { prompt: 'door', reply: 'shut', reaction: { kind: 'thumbs', up: true }, context: { profile: 'brief' } },
];
const N = 3;

const config: LearnerOptions = { sampleTokens: 6, seed: 4, gate: { threshold: 0 }, forgetting: { replayCapacity: 2 } };
const setupOptions = { seed: 31, kind: 'lora' as const, dropout: 0.2 };

function learnerOn(setup: ReturnType<typeof tinySetup>, adapters = setup.adapters): OnlineLearner {
  return new OnlineLearner({ model: setup.model, adapters, encoding: setup.encoding, background, config });
}

/** N steps, a commit with (or without) the learner state, then a new learner from the store for the rest. */
function interrupted(withState: boolean): { learner: OnlineLearner; resumedFrom: number } {
  const first = tinySetup(setupOptions);
  const before = learnerOn(first);
  for (const e of experiences.slice(0, N)) before.step(e);
  const store = AdapterStore.open(freshDir());
  store.commit(first.adapters, withState ? { learner: encodeLearnerState(before.exportState()) } : {});

  const second = tinySetup(setupOptions);
  const adapters = AdapterSet.fromState(second.model, store.readState().state);
  const after = learnerOn(second, adapters);
  const saved = store.readLearnerState();
  assert.equal(saved === null, !withState);
  if (saved !== null) after.restoreState(decodeLearnerState(saved.state, saved.path));
  for (const e of experiences.slice(N)) after.step(e);
  return { learner: after, resumedFrom: store.current()! };
}

describe('resuming from a store version', () => {
  test('N steps, commit with the learner state, restore into a new learner, M more steps: the adapter of N + M steps in one go, bit for bit', () => {
    const whole = tinySetup(setupOptions);
    const straight = learnerOn(whole);
    const logs = experiences.map((e) => straight.step(e));
    assert.ok(logs.every((l) => l.trained), 'every step trained, so every step moves the adapter and the optimiser');
    assert.equal(straight.replay.size, 2);

    const { learner: resumed } = interrupted(true);
    assert.ok(sameValues(snapshot(resumed.adapters.parameters()), snapshot(whole.adapters.parameters())), 'adapter tensors are bit-identical');
    assert.deepEqual(resumed.exportState(), straight.exportState(), 'and so is everything the next step depends on');
    assert.equal(resumed.optimiser.stepCount, experiences.length);
  });

  test('without the learner state the resumed run differs (fresh moments, replay and generators)', () => {
    const whole = tinySetup(setupOptions);
    const straight = learnerOn(whole);
    for (const e of experiences) straight.step(e);
    const { learner: fresh } = interrupted(false);
    assert.ok(!sameValues(snapshot(fresh.adapters.parameters()), snapshot(whole.adapters.parameters())));
    assert.equal(fresh.optimiser.stepCount, experiences.length - N);
  });

  test('each step log counts on from the saved step counter', () => {
    const setup = tinySetup(setupOptions);
    const learner = learnerOn(setup);
    learner.step(experiences[0]);
    learner.step(experiences[1]);
    const next = learnerOn(tinySetup(setupOptions));
    next.restoreState(learner.exportState());
    assert.equal(next.step(experiences[2]).step, 3);
  });
});

describe('a state that does not fit', () => {
  function saved(): LearnerState {
    const setup = tinySetup(setupOptions);
    const learner = learnerOn(setup);
    learner.step(experiences[0]);
    learner.step(experiences[1]);
    return learner.exportState();
  }

  test('other parameter shapes, names, replay capacity or background pool: a RangeError naming it, and the learner unchanged', () => {
    const state = saved();
    const other = tinySetup({ ...setupOptions, rank: 2 });
    const learner = learnerOn(other);
    learner.step(experiences[3]);
    const before = learner.exportState();
    assert.throws(() => learner.restoreState(state), (error: Error) => error instanceof RangeError &&
      /learner state: the moments of model\.layers\.0\.self_attn\.o_proj\.lora\.lora_A are \[4, 16\] \(m 64, v 64 values\), but the parameter is \[2, 16\]/.test(error.message));
    assert.deepEqual(learner.exportState(), before, 'nothing was restored');

    const renamed = { ...state, optimiser: { ...state.optimiser, moments: new Map([...state.optimiser.moments].map(([k, v]) => [k.replace('layers.0', 'layers.9'), v])) } };
    assert.throws(() => learnerOn(tinySetup(setupOptions)).restoreState(renamed),
      /optimiser moments are for other parameters than this learner's adapter has \(missing: model\.layers\.0\.self_attn\.o_proj\.lora\.lora_A, .*; not in the adapter: model\.layers\.9\.self_attn\.o_proj/);

    const setup = tinySetup(setupOptions);
    const small = new OnlineLearner({ model: setup.model, adapters: setup.adapters, encoding: setup.encoding, background, config: { ...config, forgetting: { replayCapacity: 1 } } });
    assert.throws(() => small.restoreState(state), /the state was saved by a replay buffer of capacity 2, this one's is 1 \(forgetting\.replayCapacity\)/);

    const noPool = new OnlineLearner({ model: setup.model, adapters: setup.adapters, encoding: setup.encoding, background, config: { ...config, forgetting: { replayCapacity: 2, backgroundWeight: 0 } } });
    assert.throws(() => noPool.restoreState(state), /saved by a learner with a background pool of 3 sequences, this one has no background pool/);

    const badGenerator = { ...state, random: { ...state.random, learner: { words: [0, 0, 0, 0] as [number, number, number, number], spareNormal: null } } };
    assert.throws(() => learnerOn(tinySetup(setupOptions)).restoreState(badGenerator), /the learner generator: Random: state\.words are all zero/);
  });

  test('a stored state with a wrong field is refused naming the file and the field', () => {
    const stored = encodeLearnerState(saved());
    const where = '/store/versions/000002/learner.safetensors';
    assert.deepEqual(decodeLearnerState(stored, where), saved(), 'it round-trips');
    const broken = (change: (meta: any) => void) => {
      const meta = structuredClone(stored.meta);
      change(meta);
      return { tensors: stored.tensors, meta };
    };
    assert.throws(() => decodeLearnerState(broken((m) => { m.version = 9; }), where), /000002\/learner\.safetensors: version: expected 1 \(the version this build reads\), got 9/);
    assert.throws(() => decodeLearnerState(broken((m) => { m.replay.items[0].reply = ['a']; }), where), /replay\.items\[0\]: expected \{ prompt: token ids/);
    assert.throws(() => decodeLearnerState(broken((m) => { m.optimiser.parameters.push('ghost'); }), where), /tensor adamw\.m\.ghost: expected the moment of parameter ghost/);
    assert.throws(() => decodeLearnerState(broken((m) => { m.random.learner = { words: [1, 2] }; }), where), /random\.learner: expected a generator state/);
  });
});

describe('generator state', () => {
  test('a generator set to another\'s state draws what that one draws next, the cached normal included', () => {
    const a = new Random(12);
    a.uniform();
    a.normal(); // leaves the second Box–Muller value cached
    const b = new Random(999);
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    assert.deepEqual([b.normal(), b.normal(), b.uniform(), b.int(1000)], [a.normal(), a.normal(), a.uniform(), a.int(1000)]);
    assert.throws(() => b.setState({ words: [1, 2, 3, -4] as unknown as [number, number, number, number], spareNormal: null }), /state\.words must be four unsigned 32-bit integers, got \[1,2,3,-4\]/);
    assert.throws(() => b.setState({ words: [1, 2, 3, 4], spareNormal: Number.NaN }), /spareNormal must be null or a finite number/);
  });
});
