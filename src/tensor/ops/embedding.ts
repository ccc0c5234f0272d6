import { ShapeError, formatShape } from '../errors.js';
import type { Tape } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { checkIds, kernels, requireContiguous, requireRank } from './common.js';

// Embedding lookup: a gather forward and a scatter-add backward into the table's
// gradient. Out-of-range ids fail before anything is written.

/** table [vocab, dim], ids with the given shape -> [...idsShape, dim]. */
export function embedding(tape: Tape, table: Tensor, ids: Int32Array, idsShape: readonly number[] = [ids.length]): Tensor {
  const tableData = requireContiguous('embedding', 'table', table);
  requireRank('embedding', 'table', table, 2);
  const [vocab, dim] = table.shape;
  const count = idsShape.reduce((a, b) => a * b, 1);
  if (count !== ids.length) throw new ShapeError('embedding', `ids shape ${formatShape(idsShape)} does not match ${ids.length} ids`);
  checkIds('embedding', 'ids', ids, count);
  const out = tape.allocate([...idsShape, dim]);
  kernels().embedding(tableData, vocab, dim, ids, out.data);
  return tape.record('embedding', out, [table], (gradOut) => {
    const sink = tape.gradientSink(table);
    if (sink === null) return;
    if (!sink.accumulate) sink.array.fill(0);
    kernels().embeddingBackward(gradOut.data, ids, vocab, dim, sink.array);
  });
}
