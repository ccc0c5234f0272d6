// Turns generated token ids into text deltas as they arrive.
//
// Decoding each id on its own is wrong in two ways. Byte-level BPE can split one
// character over several tokens, so a lone token may decode to U+FFFD until the
// rest of its bytes arrive. And decoders such as SentencePiece's Metaspace strip the
// leading space of the first token they see, so decode([b]) is not the tail of
// decode([a, b]). We therefore decode a window that starts a little before the new
// ids, emit only what the window's text gained, and hold back a trailing U+FFFD.

import type { TextTokenizer } from './tokenizer.js';

const REPLACEMENT_CHARACTER = '\uFFFD';

export class StreamingDecoder {
  private readonly ids: number[] = [];
  // The window is ids[windowStart..]; ids[windowStart..readStart] are already
  // emitted and kept only as context for the leading-space rules.
  private windowStart = 0;
  private readStart = 0;
  // Characters of decode(window) already emitted.
  private emittedInWindow = 0;
  private emitted = '';
  private readonly skipSpecialTokens: boolean;

  constructor(private readonly tokenizer: TextTokenizer, options: { skipSpecialTokens?: boolean } = {}) {
    this.skipSpecialTokens = options.skipSpecialTokens ?? false;
  }

  /** All text emitted so far. */
  get text(): string {
    return this.emitted;
  }

  /** Adds one id; returns the text it completed (often '', never a partial character). */
  push(id: number): string {
    this.ids.push(id);
    const windowText = this.decodeFrom(this.windowStart);
    const stableLength = lengthWithoutTrailingReplacement(windowText);
    const delta = stableLength > this.emittedInWindow ? windowText.slice(this.emittedInWindow, stableLength) : '';
    this.emittedInWindow = Math.max(this.emittedInWindow, stableLength);
    if (stableLength === windowText.length) this.slideWindow();
    this.emitted += delta;
    return delta;
  }

  /** Ends the stream: emits whatever was held back, even an incomplete character. */
  flush(): string {
    const windowText = this.decodeFrom(this.windowStart);
    const delta = windowText.slice(this.emittedInWindow);
    this.emittedInWindow = windowText.length;
    this.emitted += delta;
    return delta;
  }

  // Everything in the window is emitted, so the next window can start later. The ids
  // emitted last stay as context, unless they decode to nothing (a skipped special
  // token, a bare "▁"): such context would not carry the leading-space rule, so the
  // older context is kept instead.
  private slideWindow(): void {
    const newContextText = this.decodeRange(this.readStart, this.ids.length);
    if (newContextText.length > 0) {
      this.windowStart = this.readStart;
      this.emittedInWindow = newContextText.length;
    }
    this.readStart = this.ids.length;
  }

  private decodeFrom(start: number): string {
    return this.decodeRange(start, this.ids.length);
  }

  private decodeRange(start: number, end: number): string {
    return this.tokenizer.decode(this.ids.slice(start, end), { skipSpecialTokens: this.skipSpecialTokens });
  }
}

// An incomplete UTF-8 sequence can only sit at the end of the decoded bytes; earlier
// replacement characters are real (invalid bytes the model chose) and stay.
function lengthWithoutTrailingReplacement(text: string): number {
  let end = text.length;
  while (end > 0 && text[end - 1] === REPLACEMENT_CHARACTER) end--;
  return end;
}
