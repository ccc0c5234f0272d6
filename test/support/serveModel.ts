import { TINY_STYLE, makeTinyModelDir } from './tinyModelDir.js';

// The server's tests run on the tiny model with its 3-direction bundle at
// blocks.1.post: replies and learner steps take milliseconds, so a test can run
// the whole server.

export const TINY_BUNDLE = TINY_STYLE.name;

export function makeTinyServeModel(scratch: string): string {
  return makeTinyModelDir(scratch, [TINY_STYLE]);
}
