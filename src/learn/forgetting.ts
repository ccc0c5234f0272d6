import type { TextTokenizer } from '../io/tokenizer.js';
import { Random, type RandomState } from '../tensor/index.js';
import { corpusDocument } from '../world/corpus.js';

// Forgetting control, the two halves the learner mixes into its steps:
// - a fixed pool of background sequences (general text and world dialogues, the
//   pretraining mix) on which the adapted model is pulled toward the base model
//   (objectives/backgroundKl.ts); one is drawn per step;
// - a small replay buffer of past accepted replies that passed the gate, replayed
//   with SFT so that what was learned from early users is rehearsed.

/** `count` sequences of at most `maxTokens` tokens from the pretraining mix (seeded, so fixed). */
export function defaultBackgroundSequences(tokenizer: TextTokenizer, options: { count?: number; maxTokens?: number; seed?: number } = {}): number[][] {
  const count = options.count ?? 16;
  const maxTokens = options.maxTokens ?? 48;
  const seed = options.seed ?? 7919;
  return Array.from({ length: count }, (_, i) => tokenizer.encode(corpusDocument(seed, i).text, { addSpecialTokens: false }).slice(0, maxTokens))
    .filter((ids) => ids.length >= 2);
}

/** What a pool needs to continue drawing where it stopped (the sequences themselves are fixed, so only their count is kept, as a check). */
export interface BackgroundPoolState {
  sequences: number;
  random: RandomState;
}

export class BackgroundPool {
  private readonly rng: Random;

  constructor(readonly sequences: readonly (readonly number[])[], seed: number) {
    if (sequences.length === 0) throw new RangeError('background pool: needs at least one sequence');
    sequences.forEach((s, i) => {
      if (s.length < 2) throw new RangeError(`background pool: sequence ${i} has ${s.length} tokens; each needs at least 2`);
    });
    this.rng = new Random(seed);
  }

  next(): readonly number[] {
    return this.sequences[this.rng.int(this.sequences.length)];
  }

  exportState(): BackgroundPoolState {
    return { sequences: this.sequences.length, random: this.rng.getState() };
  }

  restoreState(state: BackgroundPoolState): void {
    if (state.sequences !== this.sequences.length) {
      throw new RangeError(`background pool: the state was saved by a pool of ${state.sequences} sequences, this one has ${this.sequences.length}; its draws would pick other sequences`);
    }
    this.rng.setState(state.random);
  }
}

export interface ReplayItem {
  /** Student prompt ids (no context). */
  prompt: number[];
  /** The accepted reply, closed by its end token. */
  reply: number[];
  /** The gate weight it was trained with. */
  weight: number;
  label: string;
}

/** What a replay buffer needs to continue exactly: its items, the ring position and its generator. */
export interface ReplayState {
  /** The capacity of the buffer it was saved from: the ring only continues exactly in a buffer of the same. */
  capacity: number;
  items: ReplayItem[];
  /** Where the next item goes once the buffer is full (the oldest item's index). */
  next: number;
  random: RandomState;
}

/** Why `state` cannot be restored into a buffer of `capacity`, or null when it can. */
export function replayStateProblem(state: ReplayState, capacity: number): string | null {
  const { items, next } = state;
  if (state.capacity !== capacity) return `the state was saved by a replay buffer of capacity ${state.capacity}, this one's is ${capacity}`;
  if (items.length > capacity) return `the state holds ${items.length} replay items, more than its capacity of ${capacity}`;
  // While the buffer fills up, items are pushed and `next` follows them; once full, it goes round the ring.
  const full = capacity > 0 && items.length === capacity;
  const valid = full ? Number.isInteger(next) && next >= 0 && next < capacity : next === items.length;
  if (!valid) return `the replay ring position ${next} does not fit ${items.length} items in a buffer of capacity ${capacity} (expected ${full ? `0..${capacity - 1}` : items.length})`;
  return null;
}

/** The most recent `capacity` items; draws are uniform over them. */
export class ReplayBuffer {
  private readonly items: ReplayItem[] = [];
  private next = 0;
  private readonly rng: Random;

  constructor(readonly capacity: number, seed: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`replay buffer: capacity must be an integer >= 0, got ${capacity}`);
    this.rng = new Random(seed);
  }

  get size(): number {
    return this.items.length;
  }

  add(item: ReplayItem): void {
    if (this.capacity === 0) return;
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** A copy: later adds do not change it. */
  exportState(): ReplayState {
    return { capacity: this.capacity, items: this.items.map(copyItem), next: this.next, random: this.rng.getState() };
  }

  restoreState(state: ReplayState): void {
    const problem = replayStateProblem(state, this.capacity);
    if (problem !== null) throw new RangeError(`replay buffer: ${problem}`);
    this.rng.setState(state.random);
    this.items.splice(0, this.items.length, ...state.items.map(copyItem));
    this.next = state.next;
  }

  /** Up to `count` distinct items, drawn uniformly. */
  draw(count: number): ReplayItem[] {
    const indices = this.items.map((_, i) => i);
    const out: ReplayItem[] = [];
    while (out.length < count && indices.length > 0) out.push(this.items[indices.splice(this.rng.int(indices.length), 1)[0]]);
    return out;
  }
}

function copyItem(item: ReplayItem): ReplayItem {
  return { prompt: [...item.prompt], reply: [...item.reply], weight: item.weight, label: item.label };
}
