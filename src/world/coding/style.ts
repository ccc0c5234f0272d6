import type { Random } from '../../tensor/random.js';
import { codingAxes, type CodingRole, type CodingStyle } from '../types.js';
import { pick } from '../randomChoice.js';

export type CodingAxis = keyof CodingStyle;

export const codingAxisNames: readonly CodingAxis[] = ['role', 'naming', 'semicolons', 'comments'];

/** Role uniform over the four, every other axis a fair coin, all independent. */
export function randomCodingStyle(rng: Random): CodingStyle {
  return {
    role: pick(rng, codingAxes.role),
    naming: pick(rng, codingAxes.naming),
    semicolons: pick(rng, codingAxes.semicolons),
    comments: pick(rng, codingAxes.comments),
  };
}

/**
 * The axes a reply of this role shows in its text. The architect's stub is one
 * signature line and the tech lead writes no code, so only their naming shows
 * (through the names they mention); fixer diffs and machine functions show all.
 */
export function observableAxes(role: CodingRole): CodingAxis[] {
  return role === 'fixer' || role === 'machine' ? ['role', 'naming', 'semicolons', 'comments'] : ['role', 'naming'];
}

/** The other value of a binary axis, or a different role chosen at random. */
export function otherValue<A extends CodingAxis>(axis: A, value: CodingStyle[A], rng: Random): CodingStyle[A] {
  const values = codingAxes[axis] as unknown as readonly CodingStyle[A][];
  const others = values.filter((candidate) => candidate !== value);
  if (others.length === values.length) throw new RangeError(`otherValue: "${String(value)}" is not a value of axis ${axis}`);
  return pick(rng, others);
}
