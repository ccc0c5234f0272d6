// Ragged prompts become one left-padded batch: every row ends at the same column,
// so the next token of every row is predicted from the last column and a KV cache
// can advance all rows together. keyStart[b] (the padding of row b) hides the pad
// tokens from attention and shifts positions so each row starts at position 0,
// which makes a padded row compute exactly what it computes alone.

export interface PaddedBatch {
  ids: Int32Array;
  batch: number;
  seq: number;
  keyStart: Int32Array;
  lengths: number[];
}

export function padBatch(sequences: readonly (readonly number[])[], padId: number): PaddedBatch {
  if (sequences.length === 0) throw new RangeError('padBatch: needs at least one sequence');
  const lengths = sequences.map((s) => s.length);
  const seq = Math.max(...lengths);
  if (seq === 0) throw new RangeError('padBatch: every sequence is empty; a prompt needs at least one token');
  const empty = lengths.indexOf(0);
  if (empty >= 0) throw new RangeError(`padBatch: sequence ${empty} is empty; a prompt needs at least one token`);
  const batch = sequences.length;
  const ids = new Int32Array(batch * seq).fill(padId);
  const keyStart = new Int32Array(batch);
  sequences.forEach((s, b) => {
    keyStart[b] = seq - s.length;
    ids.set(s, b * seq + keyStart[b]);
  });
  return { ids, batch, seq, keyStart, lengths };
}
