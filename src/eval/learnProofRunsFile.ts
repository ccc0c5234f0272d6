import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomicWrite.js';
import { PROOF_KINDS, type ProofRunRecord } from '../learn/index.js';
import type { LearnProofIdentity } from './learnProofConfig.js';

// The finished runs of a learn-proof directory: runs.jsonl, one JSON object a
// line, the first the config ({"type":"config", ...}), then one per finished
// (kind, lr, seed) run ({"type":"run", ...}).
//
// The whole file is rewritten through writeFileAtomic after every run (it is
// small: a run is tens of kilobytes), not appended to: a crash mid-write then
// leaves the previous complete file, never a half line that the next append
// would glue onto. A torn last line can still come from elsewhere (a copy taken
// mid-write, a file edited by hand, another tool appending); it is skipped with
// a warning, its run is redone, and the next write drops it. Anything wrong
// before the last line is refused: that is not what an interrupted write leaves.

export const RUNS_FILE = 'runs.jsonl';

export interface RunsFileContents {
  identity: LearnProofIdentity;
  runs: ProofRunRecord[];
  /** Lines skipped, said in words (a torn last line). */
  warnings: string[];
}

/** The runs file at `path`, or null when there is none. */
export function readRunsFile(path: string): RunsFileContents | null {
  if (!existsSync(path)) return null;
  const lines = readFileSync(path, 'utf8').split('\n');
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) return null;
  const header = parseLine(lines[0]);
  if (header === undefined || header.type !== 'config' || header.format !== 'imprint.learn-proof') {
    throw new RangeError(`${path}:1 is not a learn-proof config line (expected {"type":"config","format":"imprint.learn-proof",...}); is this the output of imprint eval --suite learn-proof? Use another --out`);
  }
  if (header.version !== 1) throw new RangeError(`${path}:1: learn-proof format version ${String(header.version)}, this imprint reads version 1`);
  const { type: _type, ...identity } = header;
  const runs: ProofRunRecord[] = [];
  const warnings: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const parsed = parseLine(lines[i]);
    const problem = parsed === undefined ? 'not valid JSON' : runProblem(parsed);
    if (problem === null) {
      const { type: _t, ...run } = parsed as Record<string, unknown>;
      runs.push(run as unknown as ProofRunRecord);
      continue;
    }
    if (i === lines.length - 1) {
      warnings.push(`${path}:${i + 1}: the last line is torn (${problem}; an interrupted write?); skipped, its run will be redone`);
      continue;
    }
    throw new RangeError(`${path}:${i + 1}: ${problem}; only the last line can be torn by an interrupted write, so this file was changed by something else. Fix or remove that line, or use another --out`);
  }
  return { identity: identity as unknown as LearnProofIdentity, runs, warnings };
}

export function writeRunsFile(path: string, identity: LearnProofIdentity, runs: readonly ProofRunRecord[]): void {
  const lines = [JSON.stringify({ type: 'config', ...identity }), ...runs.map((r) => JSON.stringify({ type: 'run', ...r }))];
  writeFileAtomic(path, [Buffer.from(`${lines.join('\n')}\n`, 'utf8')]);
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/** Why a parsed line is not a run record, or null when it is one. */
function runProblem(o: Record<string, unknown>): string | null {
  if (o.type !== 'run') return `expected {"type":"run",...}, got type ${JSON.stringify(o.type)}`;
  if (!(PROOF_KINDS as readonly unknown[]).includes(o.kind)) return `kind must be one of ${PROOF_KINDS.join(', ')}, got ${JSON.stringify(o.kind)}`;
  if (typeof o.lr !== 'number' || !(o.lr > 0)) return `lr must be a number > 0, got ${JSON.stringify(o.lr)}`;
  if (!Number.isSafeInteger(o.seed)) return `seed must be an integer, got ${JSON.stringify(o.seed)}`;
  if (!Array.isArray(o.points) || o.points.length === 0) return 'points must be a non-empty list of measurements';
  return null;
}
