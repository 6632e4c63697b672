/** A trace file's lines without the event loop (readTraceSync and the replay's scanTrace). */
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** Every line of a file, without its '\n', in 1 MiB reads: one array of lines per read. */
export function* lineBatches(path: string): Generator<string[]> {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  const utf8 = new StringDecoder('utf8'); // keeps a multi-byte character split by a read
  let rest = '';
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) {
        if (rest !== '') yield [rest]; // a last line without its newline
        return;
      }
      const text = rest + utf8.write(buf.subarray(0, n));
      const last = text.lastIndexOf('\n');
      const lines: string[] = [];
      let from = 0;
      while (from <= last) {
        const nl = text.indexOf('\n', from);
        lines.push(text.slice(from, nl));
        from = nl + 1;
      }
      rest = text.slice(last + 1);
      yield lines;
    }
  } finally {
    closeSync(fd);
  }
}
