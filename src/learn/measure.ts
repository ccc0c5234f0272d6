import type { TextTokenizer } from '../io/tokenizer.js';
import type { CausalLm } from '../model/causalLm.js';
import { generateFromIds } from '../model/generate.js';
import { meanNextTokenLoss } from '../model/score.js';
import { withInferenceTape } from '../model/inference.js';
import { Random, klDivergence } from '../tensor/index.js';
import { specialTokens } from '../world/chatFormat.js';
import { generalTextPassages } from '../world/generalText.js';
import { generateHomeDialogue } from '../world/home/dialogue.js';
import type { HomeAxis } from '../world/home/styleStatements.js';
import { judgeHomeReply } from '../world/judges/home.js';
import { type ChatTurn, homeAxes } from '../world/types.js';
import type { ChatEncoding } from './chatEncoding.js';
import { type StudentForward, referenceRows, studentRows } from './objectives/policy.js';
import { sampleReply } from './sampleReply.js';

// What a learning run is judged by, with the adapter on and NO context in the
// prompt: the home judge's score for one axis on a fixed set of held-out,
// unstated home requests, and the mean next-token loss on held-out general text
// (the forgetting probe of the base suite: State of the Union passages from
// years ending in 7); and, as an uncapped measure of how far the adapter has
// gone, the KL from the in-context teacher on held-out requests (teacherGap).

export interface AxisTarget {
  axis: HomeAxis;
  /** The value the user wants on that axis (e.g. 'direct'). */
  wanted: string;
}

export function checkAxisTarget(target: AxisTarget): void {
  const values = (homeAxes as Record<string, readonly string[]>)[target.axis];
  if (values === undefined) throw new RangeError(`axis "${target.axis}" is not a home axis (${Object.keys(homeAxes).join(', ')})`);
  if (!values.includes(target.wanted)) throw new RangeError(`axis ${target.axis} has values ${values.join(' and ')}, not "${target.wanted}"`);
}

/** The judge's confidence that `reply` has the wanted value of the axis, in [0, 1]. */
export function wantedScore(reply: string, target: AxisTarget): number {
  const judged = judgeHomeReply(reply)[target.axis];
  return target.wanted === homeAxes[target.axis][0] ? judged.score : 1 - judged.score;
}

/** `count` unstated home requests (the turns before the assistant's), fixed by the seed. */
export function heldOutHomeRequests(seed: number, count: number): ChatTurn[][] {
  const rng = new Random(seed);
  return Array.from({ length: count }, () => {
    const d = generateHomeDialogue(rng, { stated: false, feedback: false });
    return d.turns.slice(0, d.turns.findIndex((t) => t.role === 'assistant'));
  });
}

/** The same requests as student prompts (no system turn). */
export function heldOutHomePrompts(encoding: ChatEncoding, seed: number, count: number): number[][] {
  return heldOutHomeRequests(seed, count).map((turns) => encoding.prompt(turns));
}

export interface TeacherSample {
  student: number[];
  teacher: number[];
  /** A reply the teacher (base model with the context) sampled once; fixed from then on. */
  reply: number[];
}

/** For each request, the teacher's own reply with `context` as a system turn (base model, seeded). */
export function teacherSamples(
  model: CausalLm, encoding: ChatEncoding, requests: readonly ChatTurn[][], context: string, options: { maxTokens: number; seed: number },
): TeacherSample[] {
  const rng = new Random(options.seed);
  return requests.map((turns) => {
    const student = encoding.prompt(turns);
    const teacher = encoding.prompt([{ role: 'system', content: context }, ...turns]);
    const reply = sampleReply(model, teacher, { maxTokens: options.maxTokens, temperature: 1, rng, stopTokenIds: encoding.stopTokenIds }).tokens;
    return { student, teacher, reply };
  });
}

/**
 * How far the adapted model, without the context, still is from the base model
 * with it: the mean over requests of the per-token KL(teacher ‖ student) on the
 * teacher's fixed replies. Unlike a judge score it has no ceiling, so it can
 * say how far an adapter has gone (used as the adaptation level).
 */
export function teacherGap(model: CausalLm, forward: StudentForward, samples: readonly TeacherSample[]): number {
  const policy = { model, student: forward };
  return withInferenceTape((tape) => samples.reduce((sum, s) => {
    const teacher = referenceRows(tape, model, s.teacher, s.reply);
    const student = studentRows(tape, policy, s.student, s.reply);
    return sum + klDivergence(tape, student, teacher, { direction: 'forward' }).item();
  }, 0) / samples.length);
}

/** The first `count` held-out general-text passages, as the base suite encodes them. */
export function generalTextProbe(tokenizer: TextTokenizer, count: number): number[][] {
  return generalTextPassages().heldOut.slice(0, count).map((p) => tokenizer.encode(`${specialTokens.bos}${p.text}`, { addSpecialTokens: false }));
}

export interface AxisMeasurement {
  /** Mean of wantedScore over the replies. */
  meanScore: number;
  /** Share of replies the judge labels with the wanted value. */
  rate: number;
  scores: number[];
  replies: string[];
}

export interface MeasureOptions {
  maxTokens: number;
  temperature: number;
  /** Sampling seed: the same seed gives before/after replies that differ only by the adapter. */
  seed: number;
  batch?: number;
}

export async function measureAxis(
  model: CausalLm, forward: StudentForward, encoding: ChatEncoding, prompts: readonly number[][], target: AxisTarget, options: MeasureOptions,
): Promise<AxisMeasurement> {
  const batch = options.batch ?? 16;
  const replies: string[] = [];
  for (let i = 0; i < prompts.length; i += batch) {
    const run = await generateFromIds(model, prompts.slice(i, i + batch), {
      maxTokens: options.maxTokens, temperature: options.temperature, seed: options.seed + i,
      stopTokenIds: [...encoding.stopTokenIds], hooks: forward.hooks, linearHook: forward.linearHook,
    });
    for (const r of run.results) replies.push(encoding.decode(r.tokenIds));
  }
  const scores = replies.map((r) => wantedScore(r, target));
  const labelled = replies.filter((r) => judgeHomeReply(r)[target.axis].label === target.wanted).length;
  return { meanScore: scores.reduce((a, b) => a + b, 0) / scores.length, rate: labelled / replies.length, scores, replies };
}

export function generalTextLoss(model: CausalLm, forward: StudentForward, passages: readonly number[][]): number {
  return meanNextTokenLoss(model, passages, forward);
}
