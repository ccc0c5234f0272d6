// Errors raised while reading or writing checkpoint files. The message always
// starts with the file, so that a failure while loading one of many shards says
// which one; the detail names the tensor or field and what was expected.

export class CheckpointFormatError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'CheckpointFormatError';
  }
}
