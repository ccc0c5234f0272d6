// Errors of the adapter store. The message starts with the file (or directory)
// that was wrong, then says what was found and what was expected.

export class AdapterStoreError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'AdapterStoreError';
  }
}

/** Another writer holds the store's lock for longer than we wait. */
export class AdapterStoreLockError extends AdapterStoreError {
  constructor(file: string, detail: string) {
    super(file, detail);
    this.name = 'AdapterStoreLockError';
  }
}
