import { type Experience, type ExperienceContext, promptTurns, teacherPromptTurns } from '../../../learn/index.js';
import { NeuralMemory, StructuredMemory } from '../../../memory/index.js';
import type { ChatTurn } from '../../../world/types.js';
import type { BenchMethod, MethodState } from './method.js';

// The methods that learn nothing into weights: the base model ("none"), the
// in-context structured memory (the common approach today), and the
// Titans-style neural memory (weights of its own, the base frozen).
//
// The notes: extracted from every interaction (src/memory/noteExtraction.ts),
// retrieved per request by BM25 (Okapi, k1 1.2, b 0.75), with the user's stated
// preferences and corrections always included (a style preference shares no
// words with "remind me to water the ferns", so BM25 alone would never surface
// it; real assistants pin the user's profile the same way). At most MAX_NOTES
// go into the prompt, best first, so it fits the shipped model's 320 positions.
// The same notes are the context the learning methods' teacher sees
// (runCell.ts), so every method is taught from the same memory.

export const MAX_NOTES = 6;
const BM25_NOTES = 4;

export function newUserMemory(): StructuredMemory {
  return new StructuredMemory({ alwaysInclude: ['preference', 'correction'], capacity: 64 });
}

/** The notes for a request, as an experience context (undefined when there are none). */
export function memoryContext(memory: StructuredMemory, turns: ChatTurn[]): ExperienceContext | undefined {
  const notes = memory.retrieve(turns[turns.length - 1].content, BM25_NOTES).slice(0, MAX_NOTES).map((r) => r.note.text);
  return notes.length === 0 ? undefined : { memory: notes };
}

/** The request with the notes in a system turn, rendered exactly as the teacher's context is. */
export function withNotes(memory: StructuredMemory, turns: ChatTurn[]): ChatTurn[] {
  const context = memoryContext(memory, turns);
  if (context === undefined) return turns;
  const experience: Experience = { prompt: turns, reply: '', reaction: { kind: 'none' }, context };
  return teacherPromptTurns(experience) ?? promptTurns(experience);
}

export const noneMethod: BenchMethod = {
  name: 'none',
  description: 'the base model, learning nothing',
  memoryInPrompt: false,
  unavailable: () => null,
  create: (ctx) => ({ model: ctx.model, forward: () => ({}), prompt: (turns) => turns, learn: () => ({ ms: 0, updated: false }), bytes: () => 0 }),
};

export const structuredMemoryMethod: BenchMethod = {
  name: 'memory',
  description: `in-context structured memory: notes per interaction, BM25 top ${BM25_NOTES} plus pinned preferences and corrections, at most ${MAX_NOTES} in the prompt`,
  memoryInPrompt: true,
  unavailable: () => null,
  create: (ctx) => {
    const memory = newUserMemory();
    let index = 0;
    const state: MethodState = {
      model: ctx.model,
      forward: () => ({}),
      prompt: (turns, withMemory) => (withMemory ? withNotes(memory, turns) : turns),
      learn: (experience) => {
        const started = performance.now();
        const added = memory.add({ ...experience, context: undefined }, index++);
        return { ms: performance.now() - started, updated: added.length > 0 };
      },
      bytes: () => memory.bytes(),
    };
    return state;
  },
};

/** `lr`: θ, the memory's largest step on the surprise (tunedRates.ts). */
export function titansMethod(lr: number): BenchMethod {
  return {
    name: 'titans',
    description: `Titans-style neural memory: an MLP read into the residual stream at the bundle's hook point, written at test time by surprise-gated momentum steps (θ ${lr}) with a forgetting gate`,
    memoryInPrompt: false,
    unavailable: () => null,
    create: (ctx) => {
      const memory = new NeuralMemory(ctx.model, { point: ctx.space.hookPoint, seed: ctx.seed, lr });
      return {
        model: ctx.model,
        forward: () => memory.forwardOptions(),
        prompt: (turns) => turns,
        learn: (experience) => {
          const log = memory.writeExperience(ctx.encoding, experience);
          return { ms: log.wallMs, updated: !log.skipped };
        },
        bytes: () => memory.bytes(),
      };
    },
  };
}
