import type { TextTokenizer } from '../io/tokenizer.js';
import { renderPrompt, specialTokens } from '../world/chatFormat.js';
import type { ChatTurn } from '../world/types.js';

// How the learner turns chat turns and replies into token ids. Objectives only
// ever see ids: a prompt that ends where the assistant's reply begins, and a
// reply closed by its end-of-turn token, so that when to stop is learned too
// (it is most of what "brief" means).

export interface ChatEncoding {
  /** Ids of a prompt asking for the next assistant turn. */
  prompt(turns: readonly ChatTurn[]): number[];
  /** Ids of an assistant reply followed by the end-of-turn token. */
  reply(text: string): number[];
  /** Ids that end a sampled reply (the end-of-turn token first). */
  stopTokenIds: readonly number[];
  decode(ids: readonly number[]): string;
}

/** The shipped model's chat format (world/chatFormat.ts): <|role|>content<|end|>. */
export function worldChatEncoding(tokenizer: TextTokenizer): ChatEncoding {
  const end = tokenizer.tokenToId(specialTokens.end);
  if (end === null) throw new RangeError(`the tokenizer has no ${specialTokens.end} token: the learner's default chat encoding is the world chat format of the shipped model; give a ChatEncoding for this model`);
  const stop = [end, ...(tokenizer.eosTokenId !== null && tokenizer.eosTokenId !== end ? [tokenizer.eosTokenId] : [])];
  return {
    prompt: (turns) => tokenizer.encode(renderPrompt(turns), { addSpecialTokens: false }),
    reply: (text) => [...tokenizer.encode(text, { addSpecialTokens: false }), end],
    stopTokenIds: stop,
    decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: true }),
  };
}
