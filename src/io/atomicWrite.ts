// Writing a file so that a reader (or a crash) never sees it half-written: the
// bytes go to a temporary file in the same directory (so rename stays within one
// file system), are flushed to disk, and only then replace the target by rename.

import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

export function writeFileAtomic(path: string, chunks: Array<Uint8Array>): void {
  const temporaryPath = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number | undefined = openSync(temporaryPath, 'wx');
  try {
    for (const chunk of chunks) writeFully(fd, chunk);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporaryPath, path);
  } catch (error) {
    if (fd !== undefined) closeQuietly(fd);
    try { unlinkSync(temporaryPath); } catch { /* already gone: nothing to clean */ }
    throw error;
  }
  syncDirectory(dirname(path));
}

function writeFully(fd: number, chunk: Uint8Array): void {
  let written = 0;
  while (written < chunk.byteLength) {
    written += writeSync(fd, chunk, written, chunk.byteLength - written);
  }
}

function closeQuietly(fd: number): void {
  try { closeSync(fd); } catch { /* the write error is the one worth reporting */ }
}

// Makes the rename itself durable. Some platforms (Windows) cannot open or fsync a
// directory; the file is already complete there, so this stays best-effort.
export function syncDirectory(directory: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(directory, 'r');
    fsyncSync(fd);
  } catch {
    // best-effort, see above
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}
