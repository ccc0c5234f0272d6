import { writeSafetensors } from '../io/safetensors.js';
import { Tensor, add } from '../tensor/index.js';
import type { ResidualHook, ResidualHooks } from './hooks.js';

// Helpers built on residual-stream hooks: capturing activations into a dataset,
// and adding a steering vector.

/**
 * Collects the residual stream at chosen hook points, one row per real token
 * (left padding is skipped), and writes it as a safetensors shard with one
 * [rows, hidden] tensor per point, named by the point ("blocks.3.post").
 */
export class ActivationCapture {
  private readonly chunks = new Map<string, Float32Array[]>();
  private readonly rowCounts = new Map<string, number>();

  constructor(readonly points: readonly string[]) {
    if (points.length === 0) throw new RangeError('ActivationCapture: name at least one hook point');
    for (const p of points) {
      this.chunks.set(p, []);
      this.rowCounts.set(p, 0);
    }
  }

  /** Registers a reading hook at every point; returns a function that removes them. */
  install(hooks: ResidualHooks): () => void {
    const removers = this.points.map((point) => hooks.on(point, (hidden, context) => {
      const width = hidden.shape[hidden.shape.length - 1];
      const data = hidden.isContiguous ? hidden.data : Float32Array.from(hidden.toArray());
      let real = 0;
      for (const p of context.positions) if (p >= 0) real++;
      const rows = new Float32Array(real * width);
      let r = 0;
      context.positions.forEach((p, i) => {
        if (p < 0) return;
        rows.set(data.subarray(i * width, (i + 1) * width), r * width);
        r++;
      });
      this.chunks.get(point)!.push(rows);
      this.rowCounts.set(point, this.rowCounts.get(point)! + real);
    }));
    return () => removers.forEach((remove) => remove());
  }

  rows(point: string): number {
    const n = this.rowCounts.get(point);
    if (n === undefined) throw new RangeError(`ActivationCapture: "${point}" is not one of the captured points (${this.points.join(', ')})`);
    return n;
  }

  /** All captured rows of a point, [rows * hidden], in capture order. */
  collect(point: string): Float32Array {
    const parts = this.chunks.get(point);
    if (parts === undefined) throw new RangeError(`ActivationCapture: "${point}" is not one of the captured points (${this.points.join(', ')})`);
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Writes everything captured so far as one safetensors shard and forgets it. */
  writeShard(path: string, hidden: number, metadata: Record<string, string> = {}): void {
    const tensors = this.points.map((point) => {
      const data = this.collect(point);
      return { name: point, shape: [data.length / hidden, hidden], data };
    });
    writeSafetensors(path, tensors, { ...metadata, points: this.points.join(',') });
    for (const p of this.points) {
      this.chunks.set(p, []);
      this.rowCounts.set(p, 0);
    }
  }
}

/** A hook that adds `scale * vector` to the residual stream at every position. */
export function steeringHook(vector: Float32Array | Tensor, scale = 1): ResidualHook {
  const values = vector instanceof Tensor ? vector : Tensor.fromArray(vector);
  const scaled = scale === 1 ? values : Tensor.fromArray(Float32Array.from(values.data, (v) => v * scale));
  return (hidden, context) => {
    const width = hidden.shape[hidden.shape.length - 1];
    if (scaled.size !== width) throw new RangeError(`steering vector has ${scaled.size} entries, the residual stream at ${context.point} has ${width}`);
    return add(context.tape, hidden, scaled);
  };
}
