import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SimulationPoint, type Trajectory, forgettingAtLevels } from '../src/learn/index.js';

// The forgetting table of a learning-rate sweep on hand-built trajectories:
// teacher-gap reductions and general-text loss shifts chosen so that each
// kind's loss shift is a fixed multiple of its gap reduction, which makes the
// interpolated values easy to write down.

/** A trajectory whose gap falls by `reductions` (from 1) and whose loss rises by `shifts` (from 3). */
function trajectory(kind: string, lr: number, seed: number, reductions: number[], shifts: number[]): Trajectory {
  const points: SimulationPoint[] = reductions.map((r, i) => ({
    interactions: i * 2, judge: { meanScore: 0.5, rate: 0.5, scores: [], examples: [] }, teacherGap: 1 - r, generalLoss: 3 + shifts[i],
  }));
  return { kind, lr, seed, points };
}

const times = (k: number, xs: number[]) => xs.map((x) => k * x);

// write at 1e-2: shift = 0.1 × reduction, seeds reach 0.5 and 0.6;
// write at 3e-2: no shift at all, but seed 2 only reaches 0.2;
// lora at 1e-2: shift = 0.2 × reduction, seeds reach 0.8 and 0.7;
// lora at 3e-3: shift = 0.15 × reduction, both seeds reach only 0.4.
// Every kind's best lr reaches: write 0.5 (1e-2), lora 0.7 (1e-2), so the top level is 0.5.
const runs: Trajectory[] = [
  trajectory('write', 1e-2, 1, [0, 0.2, 0.5], times(0.1, [0, 0.2, 0.5])),
  trajectory('write', 1e-2, 2, [0, 0.3, 0.6], times(0.1, [0, 0.3, 0.6])),
  trajectory('write', 3e-2, 1, [0, 0.4, 0.9], [0, 0, 0]),
  trajectory('write', 3e-2, 2, [0, 0.1, 0.2], [0, 0, 0]),
  trajectory('lora', 1e-2, 1, [0, 0.6, 0.8], times(0.2, [0, 0.6, 0.8])),
  trajectory('lora', 1e-2, 2, [0, 0.5, 0.7], times(0.2, [0, 0.5, 0.7])),
  trajectory('lora', 3e-3, 1, [0, 0.3, 0.4], times(0.15, [0, 0.3, 0.4])),
  trajectory('lora', 3e-3, 2, [0, 0.3, 0.4], times(0.15, [0, 0.3, 0.4])),
];

function close(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${what}: expected ${expected}, got ${actual}`);
}

test('forgetting at each level is each kind\'s least, over the learning rates whose every seed reaches it', () => {
  const table = forgettingAtLevels(runs);
  assert.deepEqual(table.map((r) => r.fraction), [0.25, 0.5, 0.75, 1]);
  table.forEach((row, i) => close(row.level, [0.125, 0.25, 0.375, 0.5][i], `level ${i}`));
  const expected: Record<string, [number, number][]> = {
    // At 0.125 write's 3e-2 counts (both seeds get past 0.125) and forgets nothing; from 0.25 on its seed 2 falls short, so 1e-2 is write's only lr.
    write: [[0, 3e-2], [0.025, 1e-2], [0.0375, 1e-2], [0.05, 1e-2]],
    // lora's 3e-3 forgets less per unit of reduction but stops at 0.4: at the top level only 1e-2 counts.
    lora: [[0.15 * 0.125, 3e-3], [0.15 * 0.25, 3e-3], [0.15 * 0.375, 3e-3], [0.2 * 0.5, 1e-2]],
  };
  for (const kind of ['write', 'lora']) {
    table.forEach((row, i) => {
      const entry = row.byKind[kind];
      assert.ok(entry !== null && entry !== undefined, `${kind} has an entry at ${row.fraction}`);
      close(entry.lossShift, expected[kind][i][0], `${kind} at ${row.fraction}`);
      assert.equal(entry.lr, expected[kind][i][1], `${kind}'s best lr at ${row.fraction}`);
    });
  }
});

test('a kind none of whose learning rates has every seed reach a level has no entry there; no level when a kind never adapts', () => {
  // 1.2 × 0.5 = 0.6: write's 1e-2 seed 1 stops at 0.5 and its 3e-2 seed 2 at 0.2; lora's 1e-2 reaches 0.7.
  const [row] = forgettingAtLevels(runs, [1.2]);
  close(row.level, 0.6, 'level');
  assert.equal(row.byKind.write, null);
  assert.equal(row.byKind.lora?.lr, 1e-2);
  close(row.byKind.lora?.lossShift, 0.12, 'lora at 0.6');

  const stuck = [...runs, trajectory('read', 1e-2, 1, [0, -0.1, -0.2], [0, 0.01, 0.02])];
  assert.deepEqual(forgettingAtLevels(stuck), [], 'read never reduces the gap, so there is no level every kind reaches');
  assert.deepEqual(forgettingAtLevels([]), []);
});

test('each entry carries the spread of its seeds\' shifts, so a difference inside it can be called a tie', () => {
  const [row] = forgettingAtLevels([trajectory('x', 1e-2, 1, [0, 1], [0, 0.1]), trajectory('x', 1e-2, 2, [0, 1], [0, 0.3])], [0.5]);
  close(row.byKind.x?.lossShift, 0.1, 'mean of 0.05 and 0.15');
  assert.ok(Math.abs((row.byKind.x?.lossShiftSd ?? 0) - Math.SQRT2 * 0.05) < 1e-12, `sd: ${row.byKind.x?.lossShiftSd}`);
  const [single] = forgettingAtLevels([trajectory('x', 1e-2, 1, [0, 1], [0, 0.1])], [0.5]);
  assert.ok(Number.isNaN(single.byKind.x?.lossShiftSd), 'one seed has no spread');
});
