/** A trace file's lines without the event loop (readTraceSync and the replay's scanTrace). */
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Every line of a file, without its '\n', in 1 MiB reads: one array of lines per read.
 * Each read is cut at its last newline byte and decoded once (a '\n' byte is never part
 * of a multi-byte UTF-8 character, so no character is split); the unfinished line moves
 * to the front of the buffer for the next read.
 */
export function* lineBatches(path: string): Generator<string[]> {
  const fd = openSync(path, 'r');
  let buf = Buffer.allocUnsafe(1 << 20);
  /** bytes of an unfinished line at the front of buf */
  let kept = 0;
  try {
    for (;;) {
      if (kept === buf.length) {
        // a line longer than the buffer (a big exit snapshot): grow it
        const nb = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(nb, 0, 0, kept);
        buf = nb;
      }
      const n = readSync(fd, buf, kept, buf.length - kept, null);
      if (n <= 0) {
        if (kept > 0) yield [buf.toString('utf8', 0, kept)]; // a last line without its newline
        return;
      }
      const end = kept + n;
      const last = buf.lastIndexOf(10, end - 1);
      if (last < 0) {
        kept = end;
        continue;
      }
      const lines = buf.toString('utf8', 0, last).split('\n');
      buf.copyWithin(0, last + 1, end);
      kept = end - last - 1;
      yield lines;
    }
  } finally {
    closeSync(fd);
  }
}
