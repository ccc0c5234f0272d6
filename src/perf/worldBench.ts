import { Random } from '../tensor/random.js';
import { generateCodingDialogue } from '../world/coding/dialogue.js';
import { generateHomeDialogue } from '../world/home/dialogue.js';
import { median, timeRepeated } from './stats.js';

// How fast the world generates dialogues: pretraining draws every document on the
// fly (100k+ per run), so generation must stay far below the cost of a step.

export interface WorldThroughput {
  home: number;
  coding: number;
}

/** Median dialogues per second over `repeats` runs of `count` dialogues, per domain. */
export function worldDialoguesPerSecond(count = 2000, repeats = 3): WorldThroughput {
  const rate = (generate: (rng: Random) => unknown) => {
    const rng = new Random(1);
    const times = timeRepeated(() => { for (let i = 0; i < count; i++) generate(rng); }, 1, repeats);
    return Math.round(count / (median(times) / 1000));
  };
  return { home: rate((rng) => generateHomeDialogue(rng)), coding: rate((rng) => generateCodingDialogue(rng)) };
}
