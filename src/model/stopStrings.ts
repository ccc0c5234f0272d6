// Stop strings for streamed generation. The text is streamed as it grows, but a
// suffix that could still turn into a stop string is held back until it either
// completes one (then the stream ends before it) or stops matching.

export class StopStringMatcher {
  private pending = '';
  private done = false;

  constructor(private readonly stops: readonly string[]) {
    for (const s of stops) if (typeof s !== 'string' || s.length === 0) throw new RangeError('stop strings must be non-empty strings');
  }

  get stopped(): boolean {
    return this.done;
  }

  /** Feeds new text; returns what can be emitted now and whether a stop string was hit. */
  push(delta: string): { emit: string; stopped: boolean } {
    if (this.done) return { emit: '', stopped: true };
    this.pending += delta;
    let earliest = -1;
    for (const s of this.stops) {
      const at = this.pending.indexOf(s);
      if (at >= 0 && (earliest < 0 || at < earliest)) earliest = at;
    }
    if (earliest >= 0) {
      this.done = true;
      const emit = this.pending.slice(0, earliest);
      this.pending = '';
      return { emit, stopped: true };
    }
    const hold = this.partialMatchLength();
    const emit = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { emit, stopped: false };
  }

  /** What is still held back, for the end of the stream. */
  flush(): string {
    const rest = this.done ? '' : this.pending;
    this.pending = '';
    return rest;
  }

  // Longest suffix of the pending text that is a proper prefix of some stop string.
  private partialMatchLength(): number {
    let longest = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.pending.length); n > longest; n--) {
        if (this.pending.endsWith(s.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
