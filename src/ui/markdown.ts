// Markdown helpers for generated cards (model card, bundle cards).

/** A code fence longer than any run of backticks in the text, so the text cannot close it. */
export function fenceFor(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(Math.max(3, longest + 1));
}

/** The lines of a fenced code block holding `text` verbatim (trailing newlines dropped). */
export function codeBlock(language: string, text: string): string[] {
  const fence = fenceFor(text);
  return [`${fence}${language}`, text.replace(/\n+$/, ''), fence];
}
