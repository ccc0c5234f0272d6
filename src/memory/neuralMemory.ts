import { captureResidualRows } from '../features/activations/captureRows.js';
import type { ChatEncoding } from '../learn/chatEncoding.js';
import { encodeExperience } from '../learn/encodeExperience.js';
import type { Experience } from '../learn/experience.js';
import type { CausalLm, ForwardOptions } from '../model/causalLm.js';
import { type HookPointName, type ResidualHook, ResidualHooks, parseHookPoint } from '../model/hooks.js';
import { Random, Tape, Tensor, add, contiguous, linear, mul, rmsNorm, scale, silu, sub, sum } from '../tensor/index.js';

// The Titans-style neural memory baseline (Behrouz et al. 2025, "Titans:
// Learning to Memorize at Test Time"), built on our own tensor core so that the
// benchmark compares it with the feature-constrained adapters on equal terms:
// same frozen base, same interactions, same teacher signal.
//
// Memory. M is a 2-layer MLP d → h → d without biases, M(x) = W2 · silu(W1 · n(x)),
// W1 [h, d], W2 [d, h], h = 2·d by default. SiLU because the tensor core has it
// with a checked backward (it is the Llama MLP's activation); no biases so that
// M(0) = 0 and the whole memory is two matrices. W1 starts normal(0, 1/d), so its
// pre-activations are about unit-scale on a normalised key (see Read); W2 starts at exactly 0, so a
// fresh memory reads 0 and the model is bit-for-bit the base model (h + 0 = h).
//
// Read. At one hook point P (e.g. "blocks.3.post") the memory's output is added
// to the residual stream: h ← h + M(n(h)), with h the raw stream (none of the
// model's norms, no learned gain) and n(h) = h / rms(h) by default. That
// parameter-free normalisation is Titans' own choice (it ℓ2-normalises keys) and
// it is what makes one step size fit every model and layer: without it the
// gradient scales with rms(h)², which on the shipped model is 12 at blocks.3.post
// and 37 at blocks.5.post, so a θ that learns at one point diverges at the other
// (measured: θ = 0.001 diverges at blocks.5.post). keyNorm: 'none' reads the raw
// stream for ablations. The read is an ordinary ResidualHook, so it composes with
// adapters: `model.forward(tape, ids, b, s, memory.forwardOptions())`.
//
// Write. One interaction gives pairs (k_t, v_t) over the reply positions, paired
// as src/learn/featureSelection.ts pairs them (the last prompt token, which
// predicts the reply's first token, then every reply token):
//   k_t = the base model's stream at P on  student prompt + reply
//   v_t = the base model's stream at P on  teacher prompt + reply  −  k_t
// The teacher prompt carries the user's context; the student's does not. The
// associative loss ℓ = mean_t ‖M(k_t) − v_t‖² (summed over the d coordinates)
// teaches the memory, in activation space, what the context would have done to
// the stream: the fair analogue of our context distillation. At P = the last
// block's post the residual stream feeds only the final norm and the head, so a
// memory with M(k_t) = v_t reproduces the teacher's next-token distribution
// exactly at those positions; at earlier points later attention still reads
// the student's own prompt positions, so the match is approximate.
//
// Why keys come from the base stream, not base + memory: the read hook runs at P
// itself, so the stream it reads at P is the base model's stream at P (nothing
// upstream of P changes). Taking keys from the base stream is therefore exactly
// what the memory will see when it reads; and keys do not move as the memory
// learns, so repeated writes regress onto a fixed target instead of chasing
// their own tail.
//
// Update (Titans eq. 13–14), per write t:
//   S ← η·S − θ_t·∇ℓ          (surprise with momentum η: past surprise carries on)
//   M ← (1 − α)·M + S         (forgetting gate α: α = 0 keeps everything,
//                              α = 1 drops the old memory, M becomes S alone)
// Titans learns data-dependent η_t, θ_t, α_t; a baseline that trains nothing
// but the memory keeps η and α fixed and gates only the step by surprise:
//   θ_t = θ · min(1, ℓ_t / ℓ_ref)
// with ℓ_t the loss of the current memory on this interaction (before the
// update) and ℓ_ref an exponential moving average of the pre-update losses of
// earlier accepted writes (ℓ_ref ← ρ·ℓ_ref + (1−ρ)·ℓ_t, ρ = 0.9; the first write
// sets it and steps with θ). An interaction that the memory already predicts
// better than usual writes proportionally less; a surprising one writes the full
// θ, never more, so θ stays a hard cap on the step (a single outlier cannot blow
// the memory up). The gradient itself is Titans' "momentary surprise"; the loss
// ratio only sets how much of it is written.
//
// Safety. Keys or values with NaN/Inf, a non-finite loss or gradient, or an
// update that would overflow float32 skip the write: the memory (weights,
// surprise, ℓ_ref) is left bit-identical and the log says why. The base model's
// parameters are never written: keys and values are read on inference tapes,
// and gradients flow into copies of W1 and W2 only.
//
// Step size. With normalised keys, silu(W1 n(k)) has about 0.36·h squared norm
// whatever the model, so one step moves M(k) by about 0.7·θ·h times the error on
// similar keys: the default θ = 1/h closes a good share of the error per write
// and stays stable under η = 0.9. Measured over 10 writes of one interaction
// (loss before → after): tiny test model 131 → 28, shipped model at
// blocks.3.post 157 → 33, at blocks.5.post 1960 → 357. With keyNorm 'none' a
// good θ depends on rms(k)² and has to be tuned per model and point.

export const NEURAL_MEMORY_STATE_FORMAT = 'imprint.neural-memory';
export const NEURAL_MEMORY_STATE_VERSION = 1;

/** A write is refused when the memory would read more than this many times the size of the values it stores. */
export const MAX_READ_GROWTH = 10;
/** Keeps n(x) = x / rms(x) finite on an all-zero row (it reads 0 there). */
const KEY_NORM_EPS = 1e-6;

export interface NeuralMemoryOptions {
  /** The residual hook point the memory reads at and writes for, e.g. "blocks.3.post". */
  point: string;
  /** Width of the MLP's hidden layer; default 2·d. */
  hidden?: number;
  /** θ, the largest step on the surprise (default 1 / hidden, see "Step size" above). */
  lr?: number;
  /** η, momentum of the surprise, in [0, 1) (default 0.9). */
  momentum?: number;
  /** α, forgetting gate, in [0, 1] (default 0.01). */
  forget?: number;
  /** Seed of W1's initialisation (default 0). */
  seed?: number;
  /** How the memory sees its input: 'rms' = h / rms(h) (default), 'none' = the raw stream. */
  keyNorm?: KeyNorm;
  /** Scale θ by min(1, ℓ_t / ℓ_ref) (default true); false = every write steps with θ. */
  surpriseGate?: boolean;
  /** ρ, decay of ℓ_ref's moving average, in [0, 1) (default 0.9). */
  referenceDecay?: number;
}

/** The options with every default filled in (what a state records). */
export interface NeuralMemoryConfig {
  point: HookPointName;
  width: number;
  hidden: number;
  lr: number;
  momentum: number;
  forget: number;
  seed: number;
  keyNorm: KeyNorm;
  surpriseGate: boolean;
  referenceDecay: number;
}

/** Associative pairs from one interaction: `rows` keys and values, each [rows, width] row-major. */
export interface AssociativePairs {
  keys: Float32Array;
  values: Float32Array;
  rows: number;
}

export interface MemoryWriteLog {
  /** ℓ_t, the associative loss of the memory before this write (NaN when it could not be computed). */
  loss: number;
  /** θ_t, the step used (0 when skipped). */
  theta: number;
  /** ‖∇ℓ‖ over W1 and W2 together (NaN when not computed). */
  gradNorm: number;
  skipped: boolean;
  /** Why the write was skipped, else null. */
  reason: string | null;
  wallMs: number;
  /** Pairs written. */
  rows: number;
  /** ℓ_ref after this write (null until a first write is accepted). */
  reference: number | null;
}

export interface NeuralMemoryState {
  format: typeof NEURAL_MEMORY_STATE_FORMAT;
  version: typeof NEURAL_MEMORY_STATE_VERSION;
  config: NeuralMemoryConfig;
  /** ℓ_ref, or null before the first accepted write. */
  reference: number | null;
  /** Accepted writes so far. */
  writes: number;
  /** W1 [hidden, width], W2 [width, hidden], and their surprise (momentum) buffers S1, S2. */
  w1: Float32Array;
  w2: Float32Array;
  s1: Float32Array;
  s2: Float32Array;
}

export type KeyNorm = 'rms' | 'none';

/** M(x) = W2 · silu(W1 · n(x)) over the last dimension of x, n = x / rms(x) ('rms') or the identity ('none'). */
export function memoryForward(tape: Tape, x: Tensor, w1: Tensor, w2: Tensor, keyNorm: KeyNorm = 'rms'): Tensor {
  let input = contiguous(tape, x);
  if (keyNorm === 'rms') input = rmsNorm(tape, input, null, { eps: KEY_NORM_EPS });
  return linear(tape, silu(tape, linear(tape, input, w1)), w2);
}

/** ℓ = (1/T) Σ_t ‖M(k_t) − v_t‖², keys and values [T, d]. */
export function associativeLoss(tape: Tape, w1: Tensor, w2: Tensor, keys: Tensor, values: Tensor, keyNorm: KeyNorm = 'rms'): Tensor {
  const rows = keys.shape[0];
  if (rows < 1) throw new RangeError(`associativeLoss: keys [${keys.shape.join(', ')}] must hold at least one row`);
  const error = sub(tape, memoryForward(tape, keys, w1, w2, keyNorm), values);
  return scale(tape, sum(tape, mul(tape, error, error)), 1 / rows);
}

/** Fills defaults and checks every option; `width` is the model's hidden size. */
export function neuralMemoryConfig(options: NeuralMemoryOptions, width: number, layers: number): NeuralMemoryConfig {
  if (typeof options?.point !== 'string') throw new RangeError(`neural memory: point must be a hook point name such as "blocks.1.post", got ${JSON.stringify(options?.point)}`);
  parseHookPoint(options.point, layers);
  const config: NeuralMemoryConfig = {
    point: options.point as HookPointName,
    width,
    hidden: options.hidden ?? 2 * width,
    lr: options.lr ?? 1 / (options.hidden ?? 2 * width),
    momentum: options.momentum ?? 0.9,
    forget: options.forget ?? 0.01,
    seed: options.seed ?? 0,
    keyNorm: options.keyNorm ?? 'rms',
    surpriseGate: options.surpriseGate ?? true,
    referenceDecay: options.referenceDecay ?? 0.9,
  };
  checkConfig(config, 'neural memory');
  return config;
}

function checkConfig(c: NeuralMemoryConfig, where: string): void {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new RangeError(`${where}: ${field} must be ${expected}, got ${JSON.stringify(got)}`);
  };
  if (!Number.isSafeInteger(c.width) || c.width < 1) fail('width', 'an integer >= 1', c.width);
  if (!Number.isSafeInteger(c.hidden) || c.hidden < 1) fail('hidden', 'an integer >= 1', c.hidden);
  if (!(typeof c.lr === 'number' && Number.isFinite(c.lr) && c.lr > 0)) fail('lr', 'a finite number > 0', c.lr);
  if (!(typeof c.momentum === 'number' && c.momentum >= 0 && c.momentum < 1)) fail('momentum', 'in [0, 1)', c.momentum);
  if (!(typeof c.forget === 'number' && c.forget >= 0 && c.forget <= 1)) fail('forget', 'in [0, 1]', c.forget);
  if (!(typeof c.seed === 'number' && Number.isFinite(c.seed))) fail('seed', 'a finite number', c.seed);
  if (c.keyNorm !== 'rms' && c.keyNorm !== 'none') fail('keyNorm', '"rms" or "none"', c.keyNorm);
  if (typeof c.surpriseGate !== 'boolean') fail('surpriseGate', 'true or false', c.surpriseGate);
  if (!(typeof c.referenceDecay === 'number' && c.referenceDecay >= 0 && c.referenceDecay < 1)) fail('referenceDecay', 'in [0, 1)', c.referenceDecay);
}

/**
 * The associative pairs of one interaction at `point`, from token ids: keys are
 * the base model's stream on student prompt + reply, values the teacher's stream
 * minus it, at the last prompt token and every reply token. The reply is cut so
 * that the teacher's sequence fits the model's context.
 */
export function associativePairs(
  model: CausalLm, point: string, studentPrompt: readonly number[], teacherPrompt: readonly number[], reply: readonly number[],
): AssociativePairs {
  if (studentPrompt.length === 0 || teacherPrompt.length === 0) {
    throw new RangeError(`associativePairs: the student prompt (${studentPrompt.length} tokens) and the teacher prompt (${teacherPrompt.length} tokens) must both be non-empty`);
  }
  const room = model.spec.maxPositions - Math.max(studentPrompt.length, teacherPrompt.length);
  if (room < 0) throw new RangeError(`associativePairs: a prompt of ${Math.max(studentPrompt.length, teacherPrompt.length)} tokens exceeds the model's ${model.spec.maxPositions} positions`);
  const kept = reply.slice(0, room);
  const width = model.spec.hiddenSize;
  const stream = captureResidualRows(model, [[...studentPrompt, ...kept], [...teacherPrompt, ...kept]], [point]).get(point)!;
  const rows = kept.length + 1;
  const studentEnd = studentPrompt.length + kept.length;
  const teacherEnd = studentEnd + teacherPrompt.length + kept.length;
  const keys = new Float32Array(rows * width);
  const values = new Float32Array(rows * width);
  for (let t = 0; t < rows; t++) {
    const s = (studentEnd - rows + t) * width;
    const te = (teacherEnd - rows + t) * width;
    for (let i = 0; i < width; i++) {
      keys[t * width + i] = stream[s + i];
      values[t * width + i] = stream[te + i] - stream[s + i];
    }
  }
  return { keys, values, rows };
}

/** The associative pairs of an experience, or null when it carries no context (the teacher would see the student's prompt). */
export function experiencePairs(model: CausalLm, encoding: ChatEncoding, experience: Experience, point: string): AssociativePairs | null {
  // 64 sample tokens, as feature selection encodes experiences: only the
  // teacher-fits check matters here, the reply is the one given.
  const encoded = encodeExperience(encoding, experience, model.spec.maxPositions, 64);
  if (encoded.teacher === null) return null;
  return associativePairs(model, point, encoded.student, encoded.teacher, encoded.reply);
}

/** First non-finite entry of a buffer as "[row, column] = value", or null. */
function firstNonFinite(values: ArrayLike<number>, width: number): string | null {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return `[${Math.floor(i / width)}, ${i % width}] = ${values[i]}`;
  }
  return null;
}

export class NeuralMemory {
  readonly config: NeuralMemoryConfig;
  /** W1 [hidden, width], W2 [width, hidden]: the read uses these tensors directly; writes update them in place. */
  private readonly w1: Tensor;
  private readonly w2: Tensor;
  private readonly s1: Float32Array;
  private readonly s2: Float32Array;
  private referenceLoss: number | null = null;
  private acceptedWrites = 0;
  private hooks: ResidualHooks | null = null;

  constructor(readonly model: CausalLm, options: NeuralMemoryOptions) {
    this.config = neuralMemoryConfig(options, model.spec.hiddenSize, model.spec.layers);
    const { width: d, hidden: h, seed } = this.config;
    this.w1 = Tensor.randn([h, d], new Random(seed), 1 / Math.sqrt(d));
    this.w2 = Tensor.zeros([d, h]);
    this.s1 = new Float32Array(h * d);
    this.s2 = new Float32Array(d * h);
    this.w1.name = 'memory.w1';
    this.w2.name = 'memory.w2';
  }

  get point(): HookPointName {
    return this.config.point;
  }

  /** Accepted writes so far. */
  get writes(): number {
    return this.acceptedWrites;
  }

  /** ℓ_ref, the moving average of pre-update losses (null before the first accepted write). */
  get reference(): number | null {
    return this.referenceLoss;
  }

  /** The read: h ← h + M(h) at the memory's point. Differentiable in h (the memory's own weights take no gradient here). */
  readonly readHook: ResidualHook = (hidden, context) => add(context.tape, hidden, memoryForward(context.tape, hidden, this.w1, this.w2, this.config.keyNorm));

  /** Registers the read on `into` when given, else on (and returns) the memory's own hooks. */
  residualHooks(into?: ResidualHooks): ResidualHooks {
    if (into === undefined && this.hooks !== null) return this.hooks;
    const hooks = into ?? new ResidualHooks(this.model.spec.layers);
    hooks.on(this.config.point, this.readHook);
    if (into === undefined) this.hooks = hooks;
    return hooks;
  }

  /** Options for `model.forward` that read the memory. */
  forwardOptions(): { hooks: ResidualHooks } & ForwardOptions {
    return { hooks: this.residualHooks() };
  }

  /** M(k) for keys [rows, width], as a new array. */
  read(keys: Float32Array, rows: number): Float32Array {
    this.checkPairsShape('read', keys, keys, rows);
    const tape = new Tape({ grad: false });
    try {
      const input = tape.allocate([rows, this.config.width]);
      input.data.set(keys);
      return Float32Array.from(memoryForward(tape, input, this.w1, this.w2, this.config.keyNorm).data);
    } finally {
      tape.release();
    }
  }

  /** RMS of what weights (w1, w2) would read on the pairs' keys, over the RMS of the pairs' values. */
  private readGrowth(w1: Float32Array, w2: Float32Array, pairs: AssociativePairs): number {
    const tape = new Tape({ grad: false });
    try {
      const input = tape.allocate([pairs.rows, this.config.width]);
      input.data.set(pairs.keys);
      const out = memoryForward(tape, input, Tensor.fromArray(w1, this.w1.shape), Tensor.fromArray(w2, this.w2.shape), this.config.keyNorm).data;
      const rms = (xs: ArrayLike<number>) => {
        let sum = 0;
        for (let i = 0; i < xs.length; i++) sum += xs[i] * xs[i];
        return Math.sqrt(sum / Math.max(1, xs.length));
      };
      return rms(out) / Math.max(rms(pairs.values), 1e-6);
    } finally {
      tape.release();
    }
  }

  /** ℓ of the current memory on these pairs, without writing. */
  loss(pairs: AssociativePairs): number {
    this.checkPairsShape('loss', pairs.keys, pairs.values, pairs.rows);
    const tape = new Tape({ grad: false });
    try {
      const [keys, values] = this.pairTensors(tape, pairs);
      return associativeLoss(tape, this.w1, this.w2, keys, values, this.config.keyNorm).item();
    } finally {
      tape.release();
    }
  }

  /** Reads an interaction's pairs with the base model and writes them (a skipped log when it has no context). */
  writeExperience(encoding: ChatEncoding, experience: Experience): MemoryWriteLog {
    const start = performance.now();
    const pairs = experiencePairs(this.model, encoding, experience, this.config.point);
    if (pairs === null) {
      return this.skip(start, NaN, NaN, 0, 'the experience has no context (profile, memory notes, correction or preference): the teacher would see the student\'s prompt, so there is nothing to write');
    }
    const log = this.write(pairs);
    return { ...log, wallMs: performance.now() - start };
  }

  /** One test-time update on associative pairs (see the top of this file). */
  write(pairs: AssociativePairs): MemoryWriteLog {
    const start = performance.now();
    const { rows } = pairs;
    this.checkPairsShape('write', pairs.keys, pairs.values, rows);
    const { width: d, hidden: h } = this.config;
    const badKey = firstNonFinite(pairs.keys, d);
    if (badKey !== null) return this.skip(start, NaN, NaN, rows, `keys have a non-finite entry at ${badKey}`);
    const badValue = firstNonFinite(pairs.values, d);
    if (badValue !== null) return this.skip(start, NaN, NaN, rows, `values have a non-finite entry at ${badValue}`);

    const tape = new Tape();
    // Gradients go into copies, so the read tensors never carry requiresGrad
    // (a forward on a training tape must not push gradients into the memory).
    const w1 = Tensor.parameter(Tensor.fromArray(this.w1.data, this.w1.shape), 'memory.w1');
    const w2 = Tensor.parameter(Tensor.fromArray(this.w2.data, this.w2.shape), 'memory.w2');
    try {
      const [keys, values] = this.pairTensors(tape, pairs);
      const lossTensor = associativeLoss(tape, w1, w2, keys, values, this.config.keyNorm);
      const loss = lossTensor.item();
      if (!Number.isFinite(loss)) return this.skip(start, loss, NaN, rows, `the associative loss is ${loss}`);
      tape.backward(lossTensor);
      const g1 = w1.grad!.data;
      const g2 = w2.grad!.data;
      let squares = 0;
      for (let i = 0; i < g1.length; i++) squares += g1[i] * g1[i];
      for (let i = 0; i < g2.length; i++) squares += g2[i] * g2[i];
      const gradNorm = Math.sqrt(squares);
      if (!Number.isFinite(gradNorm)) {
        const where = firstNonFinite(g1, d) !== null ? `∇W1 at ${firstNonFinite(g1, d)}` : firstNonFinite(g2, h) !== null ? `∇W2 at ${firstNonFinite(g2, h)}` : `its norm (${gradNorm})`;
        return this.skip(start, loss, gradNorm, rows, `the gradient is not finite: ${where}`);
      }
      const { lr, momentum, forget, surpriseGate } = this.config;
      const reference = this.referenceLoss;
      const theta = surpriseGate && reference !== null && reference > 0 ? lr * Math.min(1, loss / reference) : lr;
      // Compute the whole update aside and commit it only if every number is
      // finite in float32, so a skipped write leaves the memory bit-identical.
      const next = [
        this.step(this.w1.data, this.s1, g1, theta, momentum, forget),
        this.step(this.w2.data, this.s2, g2, theta, momentum, forget),
      ];
      for (const [name, part] of [['W1', next[0]], ['W2', next[1]]] as const) {
        const bad = firstNonFinite(part.weights, name === 'W1' ? d : h) ?? firstNonFinite(part.surprise, name === 'W1' ? d : h);
        if (bad !== null) return this.skip(start, loss, gradNorm, rows, `the update overflows: ${name} or its surprise would hold ${bad}`);
      }
      // Finite is not enough: momentum can carry the weights far past what they are asked to store, and a
      // read that dwarfs the residual stream makes the model's logits overflow on the next reply.
      const growth = this.readGrowth(next[0].weights, next[1].weights, pairs);
      if (!(growth <= MAX_READ_GROWTH)) {
        return this.skip(start, loss, gradNorm, rows, `the update diverges: the memory would read ${Number.isFinite(growth) ? `${growth.toFixed(0)}×` : 'non-finite values,'} the size of the values it stores (limit ${MAX_READ_GROWTH}×)`);
      }
      this.w1.data.set(next[0].weights);
      this.s1.set(next[0].surprise);
      this.w2.data.set(next[1].weights);
      this.s2.set(next[1].surprise);
      const decay = this.config.referenceDecay;
      this.referenceLoss = reference === null ? loss : decay * reference + (1 - decay) * loss;
      this.acceptedWrites++;
      return { loss, theta, gradNorm, skipped: false, reason: null, wallMs: performance.now() - start, rows, reference: this.referenceLoss };
    } finally {
      tape.release();
      for (const p of [w1, w2]) {
        p.grad?.dispose();
        p.grad = null;
        p.dispose();
      }
    }
  }

  /** Learned numbers: W1 and W2. */
  parameterCount(): number {
    return 2 * this.config.width * this.config.hidden;
  }

  /** Bytes the memory holds as it is stored: W1, W2 and the surprise buffers S1, S2 in float32 (two scalars aside). */
  bytes(): number {
    return 2 * this.parameterCount() * Float32Array.BYTES_PER_ELEMENT;
  }

  toState(): NeuralMemoryState {
    return {
      format: NEURAL_MEMORY_STATE_FORMAT,
      version: NEURAL_MEMORY_STATE_VERSION,
      config: { ...this.config },
      reference: this.referenceLoss,
      writes: this.acceptedWrites,
      w1: Float32Array.from(this.w1.data),
      w2: Float32Array.from(this.w2.data),
      s1: Float32Array.from(this.s1),
      s2: Float32Array.from(this.s2),
    };
  }

  /** A memory from toState()'s object, for this model; every field is checked and a bad one is named. */
  static fromState(model: CausalLm, state: NeuralMemoryState): NeuralMemory {
    const fail = (detail: string): never => { throw new RangeError(`neural memory state: ${detail}`); };
    if (state === null || typeof state !== 'object') fail(`expected an object, got ${JSON.stringify(state)}`);
    if (state.format !== NEURAL_MEMORY_STATE_FORMAT) fail(`format is ${JSON.stringify(state.format)}, expected "${NEURAL_MEMORY_STATE_FORMAT}"`);
    if (state.version !== NEURAL_MEMORY_STATE_VERSION) fail(`version ${JSON.stringify(state.version)} is not supported (this build reads version ${NEURAL_MEMORY_STATE_VERSION})`);
    const c = state.config;
    if (c === null || typeof c !== 'object') fail(`config must be an object, got ${JSON.stringify(c)}`);
    if (c.width !== model.spec.hiddenSize) fail(`config.width is ${JSON.stringify(c.width)}, but the model's hidden size is ${model.spec.hiddenSize}`);
    try {
      parseHookPoint(String(c.point), model.spec.layers);
    } catch (error) {
      fail(`config.point: ${(error as Error).message}`);
    }
    checkConfig(c, 'neural memory state: config');
    if (!(state.reference === null || (typeof state.reference === 'number' && Number.isFinite(state.reference) && state.reference >= 0))) {
      fail(`reference must be null or a finite number >= 0, got ${JSON.stringify(state.reference)}`);
    }
    if (!Number.isSafeInteger(state.writes) || state.writes < 0) fail(`writes must be an integer >= 0, got ${JSON.stringify(state.writes)}`);
    const shapes = { w1: [c.hidden, c.width], w2: [c.width, c.hidden], s1: [c.hidden, c.width], s2: [c.width, c.hidden] } as const;
    for (const [field, shape] of Object.entries(shapes) as [keyof typeof shapes, readonly number[]][]) {
      const values: unknown = state[field];
      if (!(values instanceof Float32Array)) fail(`${field} must be a Float32Array, got ${values === null ? 'null' : typeof values === 'object' ? (values as object).constructor?.name ?? 'an object' : typeof values}`);
      const array = values as Float32Array;
      if (array.length !== shape[0] * shape[1]) fail(`${field} has ${array.length} values, its shape [${shape.join(', ')}] needs ${shape[0] * shape[1]}`);
      const bad = firstNonFinite(array, shape[1]);
      if (bad !== null) fail(`${field} has a non-finite entry at ${bad}`);
    }
    const memory = new NeuralMemory(model, c);
    memory.w1.data.set(state.w1);
    memory.w2.data.set(state.w2);
    memory.s1.set(state.s1);
    memory.s2.set(state.s2);
    memory.referenceLoss = state.reference;
    memory.acceptedWrites = state.writes;
    return memory;
  }

  /** S ← η·S − θ·g; W ← (1 − α)·W + S, into new float32 arrays. */
  private step(weights: ArrayLike<number>, surprise: Float32Array, grad: ArrayLike<number>, theta: number, momentum: number, forget: number): { weights: Float32Array; surprise: Float32Array } {
    const nextSurprise = new Float32Array(surprise.length);
    const nextWeights = new Float32Array(surprise.length);
    for (let i = 0; i < surprise.length; i++) {
      nextSurprise[i] = momentum * surprise[i] - theta * grad[i];
      nextWeights[i] = (1 - forget) * weights[i] + nextSurprise[i];
    }
    return { weights: nextWeights, surprise: nextSurprise };
  }

  private pairTensors(tape: Tape, pairs: AssociativePairs): [Tensor, Tensor] {
    const keys = tape.allocate([pairs.rows, this.config.width]);
    const values = tape.allocate([pairs.rows, this.config.width]);
    keys.data.set(pairs.keys);
    values.data.set(pairs.values);
    return [keys, values];
  }

  private checkPairsShape(op: string, keys: Float32Array, values: Float32Array, rows: number): void {
    const d = this.config.width;
    if (!Number.isSafeInteger(rows) || rows < 1) throw new RangeError(`neural memory ${op}: rows must be an integer >= 1, got ${rows}`);
    if (keys.length !== rows * d) throw new RangeError(`neural memory ${op}: keys have ${keys.length} values, expected rows × width = ${rows} × ${d} = ${rows * d}`);
    if (values.length !== rows * d) throw new RangeError(`neural memory ${op}: values have ${values.length} values, expected rows × width = ${rows} × ${d} = ${rows * d}`);
  }

  private skip(start: number, loss: number, gradNorm: number, rows: number, reason: string): MemoryWriteLog {
    return { loss, theta: 0, gradNorm, skipped: true, reason, wallMs: performance.now() - start, rows, reference: this.referenceLoss };
  }
}
