import type { Comments, Naming, Semicolons } from '../types.js';
import { applyNaming } from './identifiers.js';

// Code is kept abstract (lines with a kind, a depth and an optional comment) so
// one task prints in any syntax style. Only `statement` lines take a semicolon:
// block openers and closers never do, as in JavaScript.

export type LineKind = 'statement' | 'open' | 'close';

export interface CodeLine {
  kind: LineKind;
  /** Nesting depth; each level indents by two spaces. */
  depth: number;
  /** Canonical source, multi-word names in snake_case, no trailing semicolon. */
  text: string;
  /** What a dense-comment style says above this line (plain words, no identifiers). */
  comment?: string;
}

/** The syntax axes that show in printed code. */
export interface SyntaxStyle {
  naming: Naming;
  semicolons: Semicolons;
  comments: Comments;
}

const indentUnit = '  ';

export function indentation(depth: number): string {
  return indentUnit.repeat(depth);
}

/** One code line, without comment, in the given naming and semicolon style (with indentation). */
export function renderCodeLine(line: CodeLine, naming: Naming, semicolons: Semicolons): string {
  const end = line.kind === 'statement' && semicolons === 'semicolons' ? ';' : '';
  return `${indentation(line.depth)}${applyNaming(line.text, naming)}${end}`;
}

/** A `// comment` line at the depth of the code it explains. */
export function renderComment(depth: number, comment: string): string {
  return `${indentation(depth)}// ${comment}`;
}

/** Lines that count as code for comment density: not a lone closing brace. */
export function isSubstantive(line: CodeLine): boolean {
  return line.kind !== 'close';
}

/**
 * A whole function. Dense comments: a comment above every line that has one.
 * Sparse comments: none, except at most one above the header when `sparseHeaderComment`
 * and the function is long enough that one comment stays clearly sparse.
 */
export function renderFunction(lines: readonly CodeLine[], style: SyntaxStyle, sparseHeaderComment: boolean): string {
  const out: string[] = [];
  const substantive = lines.filter(isSubstantive).length;
  lines.forEach((line, index) => {
    const wantsComment =
      line.comment !== undefined &&
      (style.comments === 'dense' || (sparseHeaderComment && index === 0 && substantive >= 4));
    if (wantsComment) out.push(renderComment(line.depth, line.comment!));
    out.push(renderCodeLine(line, style.naming, style.semicolons));
  });
  return out.join('\n');
}
