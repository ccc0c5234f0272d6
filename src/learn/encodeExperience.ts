import type { ChatEncoding } from './chatEncoding.js';
import { type Experience, acceptedReply, promptTurns, teacherPromptTurns } from './experience.js';

// An experience as the token ids each objective needs, and which objectives it
// supports at all (see experience.ts for what each reaction gives):
//   thumbs up                     → SFT on the reply, KTO desirable
//   thumbs down                   → KTO undesirable
//   correction + correctedReply   → SFT on the corrected reply, DPO (corrected ≻ reply)
//   correction without it        → KTO undesirable on the reply
//   any teacher context (profile, memory, correction or preference text) → distillation
// Whatever does not fit the model's context is dropped here, with a note.

export type PreferenceData =
  | { kind: 'pair'; chosen: number[]; rejected: number[] }
  | { kind: 'unpaired'; reply: number[]; desirable: boolean };

export interface EncodedExperience {
  /** The student's prompt: no context. */
  student: number[];
  /** The teacher's prompt (context included), or null when there is nothing to distill. */
  teacher: number[] | null;
  /** Longest reply the student may sample so that both prompts still fit. */
  sampleBudget: number;
  reply: number[];
  accepted: number[] | null;
  preference: PreferenceData | null;
  /** Why an objective this experience would support was left out. */
  notes: string[];
}

/** Fewer sampled positions than this make no useful distillation signal. */
const MIN_SAMPLE = 4;

export function encodeExperience(encoding: ChatEncoding, experience: Experience, maxPositions: number, sampleTokens: number): EncodedExperience {
  const notes: string[] = [];
  const student = encoding.prompt(promptTurns(experience));
  const fits = (prompt: number[], reply: number[], what: string): boolean => {
    if (prompt.length + reply.length - 1 <= maxPositions) return true;
    notes.push(`${what}: prompt (${prompt.length}) and reply (${reply.length}) tokens exceed the model's context of ${maxPositions}`);
    return false;
  };
  const teacherTurns = teacherPromptTurns(experience);
  let teacher = teacherTurns === null ? null : encoding.prompt(teacherTurns);
  let sampleBudget = 0;
  if (teacher !== null) {
    sampleBudget = Math.min(sampleTokens, maxPositions - teacher.length);
    if (sampleBudget < MIN_SAMPLE) {
      notes.push(`distillation: the teacher's prompt (${teacher.length} tokens) leaves ${Math.max(sampleBudget, 0)} of the model's ${maxPositions} positions for the sample`);
      teacher = null;
      sampleBudget = 0;
    }
  }
  const reply = encoding.reply(experience.reply);
  const acceptedText = acceptedReply(experience);
  let accepted = acceptedText === null ? null : encoding.reply(acceptedText);
  if (accepted !== null && !fits(student, accepted, 'SFT')) accepted = null;

  let preference: PreferenceData | null = null;
  const r = experience.reaction;
  if (r.kind === 'correction' && r.correctedReply !== undefined) {
    const chosen = encoding.reply(r.correctedReply);
    if (fits(student, chosen, 'DPO (chosen)') && fits(student, reply, 'DPO (rejected)')) preference = { kind: 'pair', chosen, rejected: reply };
  } else if (r.kind === 'thumbs' || r.kind === 'correction') {
    const desirable = r.kind === 'thumbs' && r.up;
    if (fits(student, reply, 'KTO')) preference = { kind: 'unpaired', reply, desirable };
  }
  return { student, teacher, sampleBudget, reply, accepted, preference, notes };
}
