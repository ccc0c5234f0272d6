import { Random } from '../../tensor/random.js';
import { judgeCodingReply } from '../judges/coding.js';
import type { CodingStyle, Feedback } from '../types.js';
import { feedbackTextFor } from './feedbackTexts.js';
import { chance, pick } from '../randomChoice.js';
import { codingAxisNames, randomCodingStyle, type CodingAxis } from './style.js';

// The places a coding agent works in. Each environment needs some axes of the style
// (a CI that enforces naming and semicolons, a team that wants plans, ...) and reacts
// to a reply by judging its text, exactly as it would react to a model's reply.

export interface CodingEnvironment {
  id: string;
  needs: Partial<CodingStyle>;
}

/** How often each axis is among an environment's needs: the role most often, as teams care most about it. */
const needRate: Record<CodingAxis, number> = { role: 0.75, naming: 0.5, semicolons: 0.5, comments: 0.5 };

/** `count` environments, reproducible from `seed`, each with at least one need. */
export function createCodingEnvironments(seed: number, count: number): CodingEnvironment[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`createCodingEnvironments: count must be a non-negative integer, got ${count}`);
  const rng = new Random(seed);
  const environments: CodingEnvironment[] = [];
  for (let index = 0; index < count; index++) {
    const style = randomCodingStyle(rng);
    let axes = codingAxisNames.filter((axis) => chance(rng, needRate[axis]));
    if (axes.length === 0) axes = [pick(rng, codingAxisNames)];
    const needs: Partial<CodingStyle> = {};
    for (const axis of axes) (needs as Record<string, string>)[axis] = style[axis];
    environments.push({ id: `coding-env-${index}-${axes.map((axis) => style[axis]).join('-')}`, needs });
  }
  return environments;
}

/** Below this judge confidence the environment is unsure and says nothing. */
const sureScore = 0.6;
/** A violated need is met with silence this often (busy reviewers)... */
const silentRate = 0.04;
/** ...and with a bare thumbs-down this often; otherwise with a correction naming what was wanted. */
const thumbsDownRate = 0.12;

/**
 * The environment's reaction to a reply, from the reply text alone: a correction
 * (or, sometimes, a thumbs-down) when a need it can see is violated, a thumbs-up
 * when every need it can see is met, and null when it has nothing to go on
 * (no need observable in the reply, or the judges are unsure).
 */
export function environmentReaction(env: CodingEnvironment, reply: string, rng: Random): Feedback | null {
  const judged = judgeCodingReply(reply);
  const violated: CodingAxis[] = [];
  let checked = 0;
  let unsure = false;
  for (const axis of codingAxisNames) {
    const wanted = env.needs[axis];
    if (wanted === undefined) continue;
    const verdict = judged[axis];
    if (verdict === null) continue; // a CI cannot lint code that is not there
    if (verdict.score < sureScore) { unsure = true; continue; }
    checked++;
    if (verdict.label !== wanted) violated.push(axis);
  }
  if (violated.length > 0) {
    const roll = rng.uniform();
    if (roll < silentRate) return null;
    if (roll < silentRate + thumbsDownRate) return { kind: 'thumbs', up: false };
    const axis = pick(rng, violated);
    return { kind: 'correction', text: feedbackTextFor(axis, env.needs[axis]!, rng) };
  }
  if (unsure || checked === 0) return null;
  return { kind: 'thumbs', up: true };
}
