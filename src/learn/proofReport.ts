import type { ForgettingAtLevel } from './adaptationLevels.js';
import type { ProofKind, ProofRunResult } from './proofRun.js';

// The proof run as plain text: one line for the setup, one per kind and
// learning rate, the per-seed matched comparisons, and the level table. The
// same text goes to the terminal and to proof.txt.

/** "1e-2", "3e-3", "1.5e-2": learning rates as people write them. */
export function formatLr(lr: number): string {
  return lr.toExponential().replace('e+', 'e');
}

export function kindLabel(kind: ProofKind): string {
  return { write: 'FC-LoRA', selected: 'FC-LoRA (selected)', lora: 'plain LoRA' }[kind];
}

/** Fixed digits, or 3 significant ones for values too small to show that way (a tiny model's shifts). */
function small(x: number, digits = 4): string {
  return x !== 0 && Math.abs(x) < 10 ** -(digits - 1) ? x.toExponential(2) : x.toFixed(digits);
}

const signed = (x: number, digits = 4) => `${x >= 0 ? '+' : ''}${small(x, digits)}`;

/** A short plain-text report of a proof run. */
export function describeProofRun(result: ProofRunResult): string {
  const lines: string[] = [];
  const c = result.config;
  lines.push(`proof run: ${c.target.axis}=${c.target.wanted}, ${c.interactions} interaction${c.interactions === 1 ? '' : 's'}, seeds ${c.seeds.join(', ')}, lr ${c.lrs.map(formatLr).join(', ')}; bundle ${c.bundle} (${c.directions} directions at ${c.hookPoint}); rank ${c.rank} on ${c.modules.join('+')} layers ${c.layers.join(',')}`);
  for (const s of result.summary) {
    lines.push(`${kindLabel(s.kind)} lr ${formatLr(s.lr)}: teacher gap ${small(s.gapBefore)} → ${small(s.gapAfter)}; judge ${s.judgeBefore.toFixed(3)} → ${s.judgeAfter.toFixed(3)} (rate ${s.rateBefore.toFixed(2)} → ${s.rateAfter.toFixed(2)}); gain per seed ${s.gains.map((g) => g.toFixed(3)).join(', ')}, mean ${s.gainMean.toFixed(3)} ± ${s.gainSd.toFixed(3)} (sd), d_z ${s.cohenDz.toFixed(2)}; pooled paired z ${s.pooled.z.toFixed(1)} over ${s.pooled.n} prompt pairs; general-text loss shift ${s.lossShifts.map((l) => signed(l)).join(', ')} (mean ${signed(s.lossShiftMean)} nats/token)`);
  }
  for (const run of result.runs) {
    if (run.kind === 'selected' && run.features !== undefined) lines.push(`${kindLabel(run.kind)} lr ${formatLr(run.lr)} seed ${run.seed}: kept ${run.features.join(', ')}`);
  }
  if (c.selection !== undefined && c.kinds.includes('selected')) {
    lines.push(`(the user's features: ranked on the first ${c.selection.window} interactions by how far the context moves them; at most ${c.selection.keep} kept, each within ${c.selection.minShare} of the best score)`);
  }
  for (const m of result.matched) {
    lines.push(`seed ${m.seed}, lr ${formatLr(m.lr)}, at equal ${m.level} ${small(m.value, 3)}: general-text loss shift ${kindLabel(m.kind)} ${signed(m.lossShift.fc)}, plain LoRA ${signed(m.lossShift.lora)}`);
  }
  if (result.levels.length > 0) {
    lines.push(`forgetting at equal teacher-gap reduction, each kind at its best lr (mean ± sd over seeds, a difference inside the spread is a tie; levels are shares of ${small(result.levels[result.levels.length - 1].level)}, the most every kind reaches):`);
    for (const row of result.levels) lines.push(`  ${describeLevelRow(row)}`);
  } else {
    lines.push('forgetting at equal teacher-gap reduction: no level to compare at (some kind never reduced the teacher gap in every seed)');
  }
  return lines.join('\n');
}

/** "at gap reduction 0.0123 (50%): FC-LoRA +0.0050 ± 0.0010 (lr 1e-2), plain LoRA +0.0120 ± 0.0030 (lr 3e-3) nats/token" (mean ± sd over seeds) */
export function describeLevelRow(row: ForgettingAtLevel): string {
  const parts = Object.entries(row.byKind).map(([kind, entry]) => `${kindLabel(kind as ProofKind)} ${entry === null ? 'n/a (no lr has every seed reach it)' : `${signed(entry.lossShift)}${Number.isNaN(entry.lossShiftSd) ? '' : ` ± ${small(entry.lossShiftSd)}`} (lr ${formatLr(entry.lr)})`}`);
  return `at gap reduction ${small(row.level)} (${Math.round(row.fraction * 100)}%): ${parts.join(', ')} nats/token`;
}
