import { Random } from '../../tensor/random.js';
import { judgeHomeReply } from '../judges/home.js';
import type { Feedback, HomeStyle } from '../types.js';
import { homeAxes } from '../types.js';
import { chance, pick, shuffled } from '../randomChoice.js';
import { corrections, homeAxisNames, preferences, type HomeAxis } from './styleStatements.js';

// Simulated users for the learning benchmark. Each has hidden preferences on
// some axes and reacts to a reply the way a person would: by reading it. The
// reaction is decided by the judges on the reply TEXT (never on the generator's
// labels), so a model that learned the style is rewarded for what it wrote.

export interface HomeUser {
  id: string;
  /** The axes this user cares about, and the value wanted on each. */
  preferences: Partial<HomeStyle>;
  /** How readily the user puts a preference into words (a correction or a preference statement) instead of a thumb. */
  statesPreferenceRate: number;
}

/** `count` users with preferences on one to four axes; a pure function of the seed. */
export function createHomeUsers(seed: number, count: number): HomeUser[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`createHomeUsers: count must be a non-negative integer, got ${count}`);
  const rng = new Random(seed);
  const users: HomeUser[] = [];
  for (let i = 0; i < count; i++) {
    // Weighted toward users who care about several axes: they make adaptation visible.
    const axisCount = pick(rng, [1, 2, 2, 3, 3, 4, 4, 4]);
    const axes = shuffled(rng, homeAxisNames).slice(0, axisCount);
    const preferencesOf: Partial<Record<HomeAxis, string>> = {};
    for (const axis of homeAxisNames) if (axes.includes(axis)) preferencesOf[axis] = homeAxes[axis][rng.int(2)];
    users.push({ id: `home-user-${seed}-${i}`, preferences: preferencesOf as Partial<HomeStyle>, statesPreferenceRate: 0.1 + 0.5 * rng.uniform() });
  }
  return users;
}

/** The user's preferred axes that the reply, as judged from its text, gets wrong. */
export function violatedAxes(user: HomeUser, reply: string): HomeAxis[] {
  const judged = judgeHomeReply(reply);
  return homeAxisNames.filter((axis) => user.preferences[axis] !== undefined && judged[axis].label !== user.preferences[axis]);
}

function statement(table: typeof corrections, axis: HomeAxis, value: string, rng: Random): string {
  return pick(rng, (table[axis] as Record<string, readonly string[]>)[value]);
}

/**
 * How the user reacts to a reply. A reply that matches every preferred axis gets
 * a thumbs up, now and then an unprompted preference statement, or nothing; it
 * is never thumbed down or corrected. A reply that violates a preferred axis
 * mostly gets a thumbs down or a correction naming one violated axis (words
 * more often for users with a high statesPreferenceRate), and rarely nothing.
 */
export function userReaction(user: HomeUser, reply: string, rng: Random): Feedback | null {
  const violated = violatedAxes(user, reply);
  const rate = user.statesPreferenceRate;
  if (violated.length === 0) {
    const preferred = homeAxisNames.filter((a) => user.preferences[a] !== undefined);
    const roll = rng.uniform();
    if (roll < 0.6) return { kind: 'thumbs', up: true };
    if (roll < 0.6 + 0.2 * rate && preferred.length > 0) {
      const axis = pick(rng, preferred);
      return { kind: 'preference', text: statement(preferences, axis, user.preferences[axis] as string, rng) };
    }
    return null;
  }
  if (chance(rng, 0.08)) return null;
  const axis = pick(rng, violated);
  const wanted = user.preferences[axis] as string;
  const roll = rng.uniform();
  if (roll < rate) return { kind: 'correction', text: statement(corrections, axis, wanted, rng) };
  if (roll < rate + 0.1) return { kind: 'preference', text: statement(preferences, axis, wanted, rng) };
  return { kind: 'thumbs', up: false };
}
