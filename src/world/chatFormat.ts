import type { ChatTurn } from './types.js';

// The chat format of the shipped model: one special token opens each turn, one
// closes it. The same rendering is written as a Jinja chat template into
// tokenizer_config.json, so `applyChatTemplate` and pretraining agree exactly.

export const specialTokens = {
  bos: '<|bos|>',
  eos: '<|eos|>',
  pad: '<|pad|>',
  system: '<|system|>',
  user: '<|user|>',
  assistant: '<|assistant|>',
  end: '<|end|>',
} as const;

export const allSpecialTokens: string[] = Object.values(specialTokens);

const roleToken = { system: specialTokens.system, user: specialTokens.user, assistant: specialTokens.assistant };

/** One turn: `<|role|>content<|end|>\n`. */
export function renderTurn(turn: ChatTurn): string {
  return `${roleToken[turn.role]}${turn.content}${specialTokens.end}\n`;
}

/** A whole dialogue as a pretraining document: BOS, the turns, EOS. */
export function renderDialogue(turns: readonly ChatTurn[]): string {
  return `${specialTokens.bos}${turns.map(renderTurn).join('')}${specialTokens.eos}`;
}

/** A prompt that asks for the next assistant turn. */
export function renderPrompt(turns: readonly ChatTurn[]): string {
  return `${specialTokens.bos}${turns.map(renderTurn).join('')}${specialTokens.assistant}`;
}

/** The Jinja template equivalent to renderPrompt / renderDialogue (minus the final EOS). */
export const chatTemplate =
  "{{ bos_token }}{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}";
