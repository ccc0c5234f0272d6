import { Random } from '../../tensor/index.js';
import { generateCodingDialogue } from '../../world/coding/dialogue.js';
import { type CodingEnvironment, environmentReaction } from '../../world/coding/environments.js';
import { feedbackTextFor } from '../../world/coding/feedbackTexts.js';
import { type CodingAxis, codingAxisNames } from '../../world/coding/style.js';
import { generateHomeDialogue } from '../../world/home/dialogue.js';
import { type HomeAxis, corrections, homeAxisNames } from '../../world/home/styleStatements.js';
import { pick } from '../../world/randomChoice.js';
import { type HomeUser, userReaction } from '../../world/home/users.js';
import { judgeCodingReply } from '../../world/judges/coding.js';
import { judgeHomeReply } from '../../world/judges/home.js';
import { codingAxes, homeAxes, type ChatTurn, type Feedback } from '../../world/types.js';

// The other side of a benchmark interaction: who sends the requests, reacts to
// the replies, and whose hidden preferences the judges score replies against.
//   - a home user (world/home/users.ts): hidden preferences on style axes;
//   - a coding environment (world/coding/environments.ts): needs a role and a
//     syntax style, and reacts as its team or CI would;
//   - a garbage source (adversarial scenario): random text, contradictory
//     feedback, or corrections that ask for the opposite of what the real user
//     wants (the "conversation with someone stupid").
// Every reaction is decided from the reply TEXT by the world's judges, never
// from labels, so a method is rewarded for what its model wrote.

export type AgentKind = 'home' | 'coding';

export interface Agent {
  id: string;
  kind: AgentKind;
  /** The wanted value per axis the judges score (the hidden preferences or needs). */
  wants: Record<string, string>;
  /** The next request (the turns before the assistant's), drawn from `rng`. */
  request(rng: Random): ChatTurn[];
  /** The agent's reaction to a reply (null: none). */
  react(reply: string, rng: Random): Feedback | null;
}

/** The judges' confidence that a reply has each wanted value, per axis (null: the judge cannot tell, e.g. no code in the reply). */
export function wantedScores(kind: AgentKind, wants: Record<string, string>, reply: string): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  if (kind === 'home') {
    const judged = judgeHomeReply(reply);
    for (const [axis, wanted] of Object.entries(wants)) {
      const first = (homeAxes as Record<string, readonly string[]>)[axis][0];
      const score = judged[axis as keyof typeof judged].score;
      out[axis] = wanted === first ? score : 1 - score;
    }
    return out;
  }
  const judged = judgeCodingReply(reply);
  for (const [axis, wanted] of Object.entries(wants)) {
    const verdict = judged[axis as keyof typeof judged];
    if (verdict === null) {
      out[axis] = null;
      continue;
    }
    const others = (codingAxes as Record<string, readonly string[]>)[axis].length - 1;
    // Confidence in the judge's label; what is left is shared by the other values.
    out[axis] = verdict.label === wanted ? verdict.score : (1 - verdict.score) / others;
  }
  return out;
}

/** Mean over the axes the judge could score; null when it could score none. */
export function meanWantedScore(scores: Record<string, number | null>): number | null {
  const known = Object.values(scores).filter((s): s is number => s !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0) / known.length;
}

function homeRequest(rng: Random): ChatTurn[] {
  const d = generateHomeDialogue(rng, { stated: false, feedback: false });
  return d.turns.slice(0, d.turns.findIndex((t) => t.role === 'assistant'));
}

export function homeAgent(user: HomeUser): Agent {
  const wants = Object.fromEntries(homeAxisNames.filter((a) => user.preferences[a] !== undefined).map((a) => [a, user.preferences[a] as string]));
  return { id: user.id, kind: 'home', wants, request: homeRequest, react: (reply, rng) => userReaction(user, reply, rng) };
}

export function codingAgent(env: CodingEnvironment): Agent {
  const wants = Object.fromEntries(codingAxisNames.filter((a) => env.needs[a] !== undefined).map((a) => [a, env.needs[a] as string]));
  return {
    id: env.id, kind: 'coding', wants,
    // Unstated, and the buggy code in a random syntax, so the request does not give the needs away.
    request: (rng) => {
      const d = generateCodingDialogue(rng, { stated: false, requestSyntax: 'random', feedbackRate: 0 });
      return d.turns.slice(0, d.turns.findIndex((t) => t.role === 'assistant'));
    },
    react: (reply, rng) => environmentReaction(env, reply, rng),
  };
}

export type GarbageKind = 'random-text' | 'contradictory' | 'wrong-corrections';
export const GARBAGE_KINDS: readonly GarbageKind[] = ['random-text', 'contradictory', 'wrong-corrections'];

const garbageWords = ['blue', 'seven', 'under', 'quickly', 'lamp', 'xq', 'zzz', 'the', 'of', 'marble', 'gravity', 'ok', '!!', 'no', 'yes', 'banana', 'run'];

function randomText(rng: Random, words: number): string {
  return Array.from({ length: words }, () => garbageWords[rng.int(garbageWords.length)]).join(' ');
}

/**
 * One interaction that is garbage, in the honest agent's stream (a shared
 * account, a bot, a confused user):
 *   random-text        a request and reaction of random words;
 *   contradictory      the agent's own request, then a thumb the opposite of
 *                      what the honest agent would give;
 *   wrong-corrections  the agent's own request, then a correction asking for
 *                      the opposite of a wanted value ("be more hedging").
 */
export function garbageInteraction(kind: GarbageKind, honest: Agent, rng: Random): { request: ChatTurn[]; react: (reply: string) => Feedback | null } {
  if (kind === 'random-text') {
    return { request: [{ role: 'user', content: randomText(rng, 4 + rng.int(8)) }], react: () => ({ kind: 'correction', text: randomText(rng, 3 + rng.int(6)) }) };
  }
  const request = honest.request(rng);
  if (kind === 'contradictory') {
    return {
      request,
      // The opposite of what the judges say the honest agent would think of the reply (a coin when they cannot tell).
      react: (reply) => {
        const score = meanWantedScore(wantedScores(honest.kind, honest.wants, reply));
        return { kind: 'thumbs', up: score === null ? rng.uniform() < 0.5 : score < 0.5 };
      },
    };
  }
  return {
    request,
    react: () => {
      const axes = Object.keys(honest.wants);
      const axis = axes[rng.int(axes.length)];
      const values = (honest.kind === 'home' ? homeAxes : codingAxes) as Record<string, readonly string[]>;
      const choices = values[axis].filter((v) => v !== honest.wants[axis]);
      const wrong = choices[rng.int(choices.length)];
      // The world's own wording for that value, so only its direction is wrong.
      const text = honest.kind === 'home'
        ? pick(rng, (corrections[axis as HomeAxis] as Record<string, readonly string[]>)[wrong])
        : feedbackTextFor(axis as CodingAxis, wrong as never, rng);
      return { kind: 'correction', text };
    },
  };
}
