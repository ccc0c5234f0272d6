import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../io/atomicWrite.js';
import { canonical } from '../learnProofConfig.js';
import type { CellResult } from './runCell.js';

// The finished cells of a benchmark directory: cells.jsonl, a config line
// ({"type":"config", ...}: what the cells were made with) and one line per
// finished (method, scenario, seed) cell. Rewritten whole and atomically after
// every cell, like learn-proof's runs.jsonl, so a crash leaves the previous
// complete file; a torn last line (a copy taken mid-write) is skipped with a
// warning and its cell redone. A directory made with another config is refused,
// naming what differs, so results of different experiments never mix.

export const CELLS_FILE = 'cells.jsonl';

export interface BenchIdentity {
  format: 'imprint.bench';
  version: 1;
  suite: string;
  /** Hash of the model's weights (see learnProofConfig.modelSha256). */
  model: string;
  /** Everything else that decides a cell's numbers: sizes, settings, learner options. */
  settings: Record<string, unknown>;
}

/** What differs between a stored identity and the asked one, one phrase each; empty when the cells are reusable. */
export function identityDifferences(stored: BenchIdentity, asked: BenchIdentity): string[] {
  const out: string[] = [];
  if (stored.suite !== asked.suite) out.push(`suite: ${stored.suite} there, ${asked.suite} asked`);
  if (stored.model !== asked.model) out.push(`model weights: ${stored.model.slice(0, 12)}… there, ${asked.model.slice(0, 12)}… asked`);
  for (const key of new Set([...Object.keys(stored.settings), ...Object.keys(asked.settings)])) {
    if (canonical(stored.settings[key]) !== canonical(asked.settings[key])) out.push(`${key}: ${canonical(stored.settings[key])} there, ${canonical(asked.settings[key])} asked`);
  }
  return out;
}

export function readCellsFile(path: string): { identity: BenchIdentity; cells: CellResult[]; warnings: string[] } | null {
  if (!existsSync(path)) return null;
  const lines = readFileSync(path, 'utf8').split('\n');
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) return null;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(lines[0]) as Record<string, unknown>;
  } catch {
    throw new RangeError(`${path}:1 is not a benchmark config line (expected {"type":"config","format":"imprint.bench",...}); use another --out`);
  }
  if (header.type !== 'config' || header.format !== 'imprint.bench') throw new RangeError(`${path}:1 is not a benchmark config line (expected {"type":"config","format":"imprint.bench",...}); use another --out`);
  if (header.version !== 1) throw new RangeError(`${path}:1: benchmark format version ${String(header.version)}, this imprint reads version 1`);
  const { type: _type, ...identity } = header;
  const cells: CellResult[] = [];
  const warnings: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    let parsed: Record<string, unknown> | null = null;
    try {
      parsed = JSON.parse(lines[i]) as Record<string, unknown>;
    } catch {
      parsed = null;
    }
    const valid = parsed !== null && parsed.type === 'cell' && typeof parsed.method === 'string' && typeof parsed.scenario === 'string' && Number.isSafeInteger(parsed.seed);
    if (valid) {
      const { type: _t, ...cell } = parsed!;
      cells.push(cell as unknown as CellResult);
      continue;
    }
    if (i === lines.length - 1) {
      warnings.push(`${path}:${i + 1}: the last line is torn (an interrupted write?); skipped, its cell will be redone`);
      continue;
    }
    throw new RangeError(`${path}:${i + 1}: not a cell record ({"type":"cell","method":...,"scenario":...,"seed":...}); only the last line can be torn by an interrupted write. Fix or remove that line, or use another --out`);
  }
  return { identity: identity as unknown as BenchIdentity, cells, warnings };
}

export function writeCellsFile(path: string, identity: BenchIdentity, cells: readonly CellResult[]): void {
  const lines = [JSON.stringify({ type: 'config', ...identity }), ...cells.map((c) => JSON.stringify({ type: 'cell', ...c }))];
  writeFileAtomic(path, [Buffer.from(`${lines.join('\n')}\n`, 'utf8')]);
}
