/**
 * Reading a log file as a stream, for commands that walk it once in order (`stats`): the
 * file in 4 MiB reads through LogStreamReader, the events of each verified chunk handed
 * on as they arrive, and the chunks let go of once walked, so memory stays a few chunks
 * whatever the file's size (a 451 MB log took 1 GB read whole). Refusals, warnings and
 * the salvage report are readLog's.
 */
import { closeSync, readSync } from 'node:fs';
import { LogStreamReader, type EventLog } from '@mmsim/core';
import type { CliContext } from './context.js';
import { cannotRead, checkLogPlugins, openRegularFile, refuseJsonLog, reportRead, traceRefusal, type LoadedLog } from './files.js';
import { progress } from './progress.js';

const BLOCK = 4 << 20;
/** the trailer's size: what the salvage report needs of the file's end */
const TAIL = 20;

/**
 * Read `file`, calling `onEvents(log)` whenever verified events were added (walk them,
 * then they are dropped). Returns what readLog returns, the log holding only its last
 * chunk; `bytes` is what the events take encoded (the log no longer knows).
 */
export function streamLogFile(
  ctx: CliContext,
  file: string,
  /** `progress`: the label of a progress bar over the file's bytes (large files only); `block`: bytes a read */
  opts: { salvage?: boolean; quiet?: boolean; progress?: string; block?: number },
  onEvents: (log: EventLog) => void,
): LoadedLog & { bytes: number } {
  // a folder, /dev/zero or a FIFO is refused, as readLog refuses it
  const { fd, size } = openRegularFile(ctx, file, 'log');
  try {
    const bar = opts.progress ? progress(ctx, opts.progress, size, 16 * BLOCK) : null;
    let done = 0;
    const rd = new LogStreamReader({ file, salvage: opts.salvage });
    const block = new Uint8Array(opts.block ?? BLOCK);
    let bytes = 0;
    let checked = false;
    for (let n; (n = read(fd, block, file)) > 0; ) {
      if (done === 0) {
        const trace = traceRefusal(file, Buffer.from(block.buffer, block.byteOffset, n), 'an mmsim event log');
        if (trace) throw trace;
        refuseJsonLog(file, block.subarray(0, n));
      }
      const added = rd.push(block.subarray(0, n));
      if (!checked && rd.header) {
        checkLogPlugins(ctx, file, rd.header, rd.version);
        checked = true;
      }
      if (added) {
        onEvents(rd.log);
        bytes += rd.log.byteLength;
        rd.log.discardRead();
      }
      done += n;
      bar?.update(done);
    }
    bar?.done();
    const tail = new Uint8Array(Math.min(TAIL, size));
    if (tail.length) readSync(fd, tail, 0, tail.length, size - tail.length);
    const r = rd.end(tail);
    if (!checked) checkLogPlugins(ctx, file, r.header, r.version);
    // the last chunk: end() may have taken it (and then it was not walked yet)
    onEvents(r.log);
    bytes += r.log.byteLength;
    reportRead(ctx, file, r, opts);
    return { ...r, file, bytes };
  } finally {
    closeSync(fd);
  }
}

function read(fd: number, block: Uint8Array, file: string): number {
  try {
    return readSync(fd, block, 0, block.length, null);
  } catch (e) {
    throw cannotRead(file, 'log', e);
  }
}
