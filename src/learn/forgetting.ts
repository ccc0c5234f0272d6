import type { TextTokenizer } from '../io/tokenizer.js';
import { Random } from '../tensor/index.js';
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

  /** Up to `count` distinct items, drawn uniformly. */
  draw(count: number): ReplayItem[] {
    const indices = this.items.map((_, i) => i);
    const out: ReplayItem[] = [];
    while (out.length < count && indices.length > 0) out.push(this.items[indices.splice(this.rng.int(indices.length), 1)[0]]);
    return out;
  }
}
