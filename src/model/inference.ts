import { Tape } from '../tensor/index.js';

// Runs inference work on a tape that records no gradients and hands every buffer
// back to the pool afterwards, so decoding thousands of tokens keeps memory flat.
// Whatever `work` returns must be copied out of tape tensors (e.g. Float32Array.from).

export function withInferenceTape<T>(work: (tape: Tape) => T): T {
  const tape = new Tape({ grad: false });
  try {
    return work(tape);
  } finally {
    tape.release();
  }
}
