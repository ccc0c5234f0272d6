import type { Random } from '../tensor/random.js';

// Seeded choices for the world generators: every draw goes through the caller's
// Random, so a dialogue is a pure function of the seed.

/** One element of a non-empty list, uniformly. */
export function pick<T>(rng: Random, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick: the list to choose from is empty');
  return items[rng.int(items.length)];
}

/** True with probability p. */
export function chance(rng: Random, p: number): boolean {
  return rng.uniform() < p;
}

/** A shuffled copy (Fisher–Yates). */
export function shuffled<T>(rng: Random, items: readonly T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** `count` distinct elements, in random order. */
export function sample<T>(rng: Random, items: readonly T[], count: number): T[] {
  if (count > items.length) throw new RangeError(`sample: asked for ${count} of ${items.length} items`);
  return shuffled(rng, items).slice(0, count);
}

/** Fill `{name}` slots; throws naming the slot when a value is missing, so template typos surface at once. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new RangeError(`fill: template "${template}" needs a value for {${key}}`);
    return value;
  });
}
