// Keeps the N largest values seen in a stream, with their row numbers, in O(N)
// memory: a sorted list that a new value enters only when it beats the smallest
// kept one. N is small (tens) for labelling, so insertion beats a heap in clarity.

export interface RankedRow { row: number; value: number }

export class TopRows {
  private readonly kept: RankedRow[] = [];

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`TopRows: limit must be a positive integer, got ${limit}`);
  }

  offer(row: number, value: number): void {
    if (Number.isNaN(value)) return;
    const kept = this.kept;
    if (kept.length === this.limit && value <= kept[kept.length - 1].value) return;
    let at = kept.length;
    while (at > 0 && kept[at - 1].value < value) at--;
    kept.splice(at, 0, { row, value });
    if (kept.length > this.limit) kept.pop();
  }

  /** Largest first; ties keep the earlier row first. */
  result(): RankedRow[] {
    return [...this.kept];
  }
}
