import type { CodingRole, Comments, Naming, Semicolons } from '../types.js';

// Judges of a coding reply, from its text alone (they stand in for an LLM judge, so
// they never see the generator's labels). Each counts evidence instead of matching
// templates, so imperfect model-written replies still get a sensible verdict:
//   role:       fences, diff lines, bullets, numbered steps, @mentions, prose words;
//   naming:     the shape of multi-word identifiers (camelCase vs snake_case);
//   semicolons: how code statements end (block braces and signatures don't count);
//   comments:   `//` comments per line of new code.
// An axis the reply does not show (no code, no statement) is judged null.

export interface Judged<L extends string> {
  label: L;
  /** Confidence in the label, in [0, 1]. */
  score: number;
}

export interface CodingJudgement {
  role: Judged<CodingRole>;
  naming: Judged<Naming> | null;
  semicolons: Judged<Semicolons> | null;
  comments: Judged<Comments> | null;
}

interface CodeLineSeen {
  /** The line without any diff marker. */
  text: string;
  /** True for a diff's removed (`-`) line: old code, not the reply's own. */
  removed: boolean;
  /** True when the line carried a diff marker (+ or -). */
  diffMarked: boolean;
  /** True for the last line of a fence the reply never closed: likely cut off mid-line. */
  cutOff?: boolean;
}

interface ReplyParts {
  prose: string[];
  code: CodeLineSeen[];
  /** Fences opened with a `diff` tag. */
  diffFences: number;
}

const fenceLine = /^\s*```\s*([\w+-]*)/;
// Outside fences, a line still counts as code when it plainly is code: models
// sometimes drop the fence.
const bareCodeLine = /^\s*(?:function\s+\w+\s*\(|return\b|let\s|const\s|\/\/|\}|if\s*\(|for\s*\(|while\s*\()|[{;]\s*$/;

function splitReply(reply: string): ReplyParts {
  const parts: ReplyParts = { prose: [], code: [], diffFences: 0 };
  let inFence = false;
  for (const raw of reply.split('\n')) {
    const fence = fenceLine.exec(raw);
    if (fence) {
      if (!inFence && fence[1].toLowerCase() === 'diff') parts.diffFences++;
      inFence = !inFence;
      continue;
    }
    if (raw.trim() === '') continue;
    const marker = /^([+-])(?![+-])/.exec(raw);
    if (inFence) {
      // A leading + or - marks a diff change in any fence: no statement of this
      // language starts with one.
      if (marker) parts.code.push({ text: raw.slice(1), removed: marker[1] === '-', diffMarked: true });
      else parts.code.push({ text: raw, removed: false, diffMarked: false });
      continue;
    }
    const unmarked = marker ? raw.slice(1) : raw;
    // "- text" with one space is a bullet; a diff line keeps the code's own indentation.
    const bullet = /^\s*[-*•] \S/.test(raw);
    if (!bullet && bareCodeLine.test(unmarked)) {
      parts.code.push({ text: unmarked, removed: marker?.[1] === '-', diffMarked: marker !== null });
    } else {
      parts.prose.push(raw);
    }
  }
  // A reply that stops inside a fence was truncated (a token limit): its last line
  // may be half a statement, so it must not vote on how statements end.
  if (inFence && parts.code.length > 0) parts.code[parts.code.length - 1].cutOff = true;
  return parts;
}

// In code both quote kinds delimit strings; in prose a single quote is usually an
// apostrophe ("don't"), so only double quotes are stripped there.
const codeString = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g;
const proseQuote = /"[^"\n]*"/g;

function withoutStrings(text: string): string {
  return text.replace(codeString, '""');
}

/** Splits a code line into its code and whether it holds a `//` comment (strings removed first). */
function codeAndComment(line: string): { code: string; comment: boolean } {
  const bare = withoutStrings(line);
  const at = bare.indexOf('//');
  return at < 0 ? { code: bare.trim(), comment: false } : { code: bare.slice(0, at).trim(), comment: true };
}

const signatureOnly = /^function\s+\w+\s*\([^)]*\)\s*;?$/;
const braceOnly = /^[}\])]+[;,)]*$/;

function confidence(agree: number, total: number): number {
  return total === 0 ? 0 : agree / total;
}

// ---- role -----------------------------------------------------------------

const roleOrder: readonly CodingRole[] = ['architect', 'fixer', 'techlead', 'machine'];

function countMatches(lines: readonly string[], pattern: RegExp): number {
  return lines.reduce((n, line) => n + (pattern.test(line) ? 1 : 0), 0);
}

function countWords(text: string, pattern: RegExp): number {
  return (text.match(pattern) ?? []).length;
}

function judgeRole(parts: ReplyParts): Judged<CodingRole> {
  const prose = parts.prose.join('\n').toLowerCase();
  const proseLines = parts.prose.length;
  const diffLines = parts.code.filter((line) => line.diffMarked).length;
  const ownCode = parts.code.filter((line) => !line.removed && !line.diffMarked);
  const ownStatements = ownCode.map((line) => codeAndComment(line.text).code).filter((code) => code !== '' && !braceOnly.test(code));
  const stubOnly = ownStatements.length > 0 && ownStatements.every((code) => signatureOnly.test(code));
  const hasBody = ownStatements.some((code) => !signatureOnly.test(code));

  const bullets = countMatches(parts.prose, /^\s*[-*•]\s/);
  const numbered = countMatches(parts.prose, /^\s*\d+[.)]\s/);
  const mentions = countWords(prose, /(?:^|[\s(])@[a-z]\w*/g);

  const evidence: Record<CodingRole, number> = {
    architect:
      Math.min(bullets, 3) +
      Math.min(countWords(prose, /\bdesign|\binterface|responsib|\bcontract|\bsignature/g), 3) +
      (stubOnly ? 2 : 0) - (diffLines > 0 ? 2 : 0),
    fixer:
      Math.min(diffLines, 3) * 1.5 + (parts.diffFences > 0 ? 1 : 0) +
      Math.min(countWords(prose, /\bpatch|\bdiff\b|\bbug\b|\bfound it\b/g), 2) * 0.5,
    techlead:
      Math.min(mentions, 2) * 2 + Math.min(numbered, 3) +
      Math.min(countWords(prose, /\breview\b|\bplan\b|\bdelegat|\bteam\b/g), 3),
    machine:
      (parts.code.length > 0 && proseLines === 0 && diffLines === 0 ? 4 : 0) + (hasBody && diffLines === 0 ? 1 : 0) -
      Math.min(proseLines, 4) * 0.5,
  };
  // A softmax over the evidence: the winner's probability is the confidence.
  const best = roleOrder.reduce((a, b) => (evidence[b] > evidence[a] ? b : a));
  const total = roleOrder.reduce((sum, role) => sum + Math.exp(evidence[role] - evidence[best]), 0);
  return { label: best, score: 1 / total };
}

// ---- syntax axes ----------------------------------------------------------

const camelName = /(?<![.\w@$])[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*\b/g;
const snakeName = /(?<![.\w@$])[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g;

/** Names in the prose and the reply's own code; a diff's removed lines are old code, not the reply's style. */
function judgeNaming(parts: ReplyParts): Judged<Naming> | null {
  const ownCode = parts.code.filter((line) => !line.removed).map((line) => withoutStrings(line.text));
  const text = [...parts.prose.map((line) => line.replace(proseQuote, '""')), ...ownCode].join('\n');
  const camel = countWords(text, camelName);
  const snake = countWords(text, snakeName);
  if (camel + snake === 0) return null;
  return camel >= snake ? { label: 'camel', score: confidence(camel, camel + snake) } : { label: 'snake', score: confidence(snake, camel + snake) };
}

/** How the statements of the reply's own code end (a diff's removed lines are old code). */
function statementEndings(parts: ReplyParts): { semicolon: number; bare: number } {
  let semicolon = 0;
  let bare = 0;
  for (const line of parts.code) {
    if (line.removed || line.cutOff) continue;
    const { code } = codeAndComment(line.text);
    if (code === '' || braceOnly.test(code) || signatureOnly.test(code)) continue;
    if (/[{}(\[,]$/.test(code) || /^\}/.test(code)) continue; // block openers/closers and unfinished lines
    if (code.endsWith(';')) semicolon++;
    else bare++;
  }
  return { semicolon, bare };
}

function judgeSemicolons(parts: ReplyParts): Judged<Semicolons> | null {
  const { semicolon, bare } = statementEndings(parts);
  if (semicolon + bare === 0) return null;
  return semicolon > bare
    ? { label: 'semicolons', score: confidence(semicolon, semicolon + bare) }
    : { label: 'none', score: confidence(bare, semicolon + bare) };
}

/** Dense when at least one comment per two lines of new body code; sparse allows the odd comment. */
const denseRatio = 0.5;
const functionHeader = /^function\b/;

/**
 * Comments per line of the reply's own body code. A comment right above a function
 * header (a doc comment) is ignored, as is the header itself: either style may have
 * one, and counting it would make a short or cut-off sparse function look dense.
 */
function judgeComments(parts: ReplyParts): Judged<Comments> | null {
  let comments = 0;
  let pending = 0;
  let bodyLines = 0;
  for (const line of parts.code) {
    if (line.removed || line.cutOff) continue;
    const { code, comment } = codeAndComment(line.text);
    if (code === '') {
      if (comment) pending++;
      continue;
    }
    if (functionHeader.test(code)) {
      pending = 0;
      continue;
    }
    comments += pending + (comment ? 1 : 0);
    pending = 0;
    if (!braceOnly.test(code)) bodyLines++;
  }
  // A lone signature stub says nothing about how its body would be commented.
  if (bodyLines === 0) return null;
  const ratio = (comments + pending) / bodyLines;
  const score = Math.min(1, 0.5 + Math.abs(ratio - denseRatio));
  return ratio >= denseRatio ? { label: 'dense', score } : { label: 'sparse', score };
}

/** Judges a coding reply on every axis from its text alone; null for an axis the text does not show. */
export function judgeCodingReply(reply: string): CodingJudgement {
  const parts = splitReply(reply);
  return {
    role: judgeRole(parts),
    naming: judgeNaming(parts),
    semicolons: judgeSemicolons(parts),
    comments: judgeComments(parts),
  };
}
