// Baselines the adapters are compared against. In-context structured memory:
// notes about the user extracted from each interaction, the most relevant ones
// (BM25) put back into the prompt. Titans-style neural memory: an MLP read into
// the residual stream at one layer, written at test time by surprise-gated steps.
export { BM25_B, BM25_K1, Bm25Index, STOP_WORDS, tokenize, type Bm25Params } from './bm25.js';
export {
  NOTE_SOURCES, THUMBS_QUOTE_CHARS, extractNotes, noteKey, quoteStart,
  type MemoryNote, type NoteSource,
} from './noteExtraction.js';
export {
  STRUCTURED_MEMORY_FORMAT, STRUCTURED_MEMORY_VERSION, StructuredMemory,
  type AlwaysIncludeSource, type RetrievedNote, type StructuredMemoryOptions, type StructuredMemoryState,
} from './structuredMemory.js';
export {
  NEURAL_MEMORY_STATE_FORMAT, NEURAL_MEMORY_STATE_VERSION, NeuralMemory, associativeLoss, associativePairs, experiencePairs, memoryForward, neuralMemoryConfig,
  type AssociativePairs, type KeyNorm, type MemoryWriteLog, type NeuralMemoryConfig, type NeuralMemoryOptions, type NeuralMemoryState,
} from './neuralMemory.js';
