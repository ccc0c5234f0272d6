// A minimal POSIX ustar archive of regular files, so that a PEFT adapter (a
// directory of two files) can be sent as one HTTP response: `curl ... | tar x`.

function field(header: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = new TextEncoder().encode(value);
  if (bytes.length > length) throw new RangeError(`tar: ${JSON.stringify(value)} does not fit a ${length}-byte header field`);
  header.set(bytes, offset);
}

const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, '0')}\0`;

export function tarFiles(files: readonly { name: string; bytes: Uint8Array }[], mtime = Math.floor(Date.now() / 1000)): Buffer {
  const parts: Uint8Array[] = [];
  for (const file of files) {
    const header = new Uint8Array(512);
    field(header, 0, 100, file.name);
    field(header, 100, 8, octal(0o644, 8));
    field(header, 108, 8, octal(0, 8));
    field(header, 116, 8, octal(0, 8));
    field(header, 124, 12, octal(file.bytes.length, 12));
    field(header, 136, 12, octal(mtime, 12));
    field(header, 148, 8, '        ');
    field(header, 156, 1, '0');
    field(header, 257, 6, 'ustar\0');
    field(header, 263, 2, '00');
    let sum = 0;
    for (const b of header) sum += b;
    field(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    parts.push(header, file.bytes, new Uint8Array((512 - (file.bytes.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}
