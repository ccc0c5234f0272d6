// A one-line progress bar for long runs: done/total, rate, ETA and a few metrics.
// Redraws in place on a terminal; elsewhere (CI logs, pipes) prints a line every
// `plainEverySeconds` so logs stay readable.

export interface ProgressBarOptions {
  total: number;
  unit: string;
  stream?: NodeJS.WriteStream;
  plainEverySeconds?: number;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream;
  private readonly started = Date.now();
  private readonly startDone: number;
  private lastPlain = 0;

  constructor(private readonly options: ProgressBarOptions, startDone = 0) {
    this.stream = options.stream ?? process.stderr;
    this.startDone = startDone;
  }

  /** `rateCount` is what the rate is measured in (e.g. tokens), `done` in units of total (e.g. steps). */
  update(done: number, rateCount: number, metrics: Record<string, string | number> = {}): void {
    const elapsed = (Date.now() - this.started) / 1000;
    const fraction = Math.min(1, done / this.options.total);
    const perSecond = elapsed > 0 ? rateCount / elapsed : 0;
    const stepsPerSecond = elapsed > 0 ? (done - this.startDone) / elapsed : 0;
    const eta = stepsPerSecond > 0 ? (this.options.total - done) / stepsPerSecond : Number.NaN;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const extra = Object.entries(metrics).map(([k, v]) => `${k} ${v}`).join(' | ');
    const line = `${bar} ${done}/${this.options.total} ${(fraction * 100).toFixed(1)}% | ${Math.round(perSecond)} ${this.options.unit}/s | ETA ${formatDuration(eta)}${extra ? ` | ${extra}` : ''}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 160) - 1)}\x1b[K`);
    } else if (Date.now() - this.lastPlain >= (this.options.plainEverySeconds ?? 30) * 1000 || done >= this.options.total) {
      this.lastPlain = Date.now();
      this.stream.write(`${line}\n`);
    }
  }

  finish(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}
