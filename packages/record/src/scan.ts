/**
 * The replay's reader of an mmsim-trace/1: the whole file in 1 MiB reads, split into
 * lines, each handed to a callback (no generator step, no wrapper object per record).
 * Fault records, nearly all of a long trace, are read without JSON.parse when they are
 * spelled as the recorder writes them (`["f",TID,VPN,FLAGS]`, plain decimals): no array
 * is made for them either. Any other spelling, and every other record, goes through
 * parseRecordLine: the same validation and the same errors as readTrace.
 */
import { lineBatches } from './lines.js';
import { TraceEnd, TraceFormatError, parseHeader, parseRecordLine, type TraceHeader, type TraceRecord } from './format.js';

export interface TraceSink {
  header(h: TraceHeader): void;
  /** a fault record: ['f', tid, vpn, flags] at `line` */
  fault(tid: number, vpn: number, flags: number, line: number): void;
  /** any other record */
  record(r: TraceRecord, line: number): void;
}

/** vpn bound of checkRecord: user addresses are below 2^47 */
const MAX_VPN = 2 ** 35;
const fast = { tid: 0, vpn: 0, flags: 0 };

/**
 * A plain decimal (no sign, no leading zero, at most 15 digits: an exact integer) from
 * `i`, ending at the character `end`; the index after `end`, or -1 when it is not one.
 */
function decimal(l: string, i: number, end: number, slot: 'tid' | 'vpn' | 'flags'): number {
  let v = 0;
  const from = i;
  for (;;) {
    const c = l.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      i++;
      continue;
    }
    if (c !== end) return -1;
    break;
  }
  const n = i - from;
  if (n === 0 || n > 15 || (n > 1 && l.charCodeAt(from) === 48)) return -1;
  fast[slot] = v;
  return i + 1;
}

/** `["f",TID,VPN,FLAGS]` with a valid tid and vpn into `fast`; false: read it the long way. */
function parseFault(l: string): boolean {
  // '["f",'
  if (l.charCodeAt(0) !== 91 || l.charCodeAt(1) !== 34 || l.charCodeAt(2) !== 102 || l.charCodeAt(3) !== 34 || l.charCodeAt(4) !== 44) return false;
  let i = decimal(l, 5, 44, 'tid');
  if (i < 0) return false;
  i = decimal(l, i, 44, 'vpn');
  if (i < 0) return false;
  i = decimal(l, i, 93, 'flags');
  return i === l.length && fast.tid > 0 && fast.vpn < MAX_VPN;
}

/**
 * Read a whole trace into `sink`: the header, then every record in order. Throws a
 * TraceFormatError naming the line and field at the first bad one (an empty file, a
 * bad header, an empty line, a bad record, no end record), as readTrace does. The end
 * record is checked, not handed to the sink.
 */
export function scanTrace(path: string, sink: TraceSink): number {
  const end = new TraceEnd(path);
  let line = 0;
  for (const lines of lineBatches(path)) {
    for (let j = 0; j < lines.length; j++) {
      const l = lines[j];
      line++;
      if (line === 1) sink.header(parseHeader(l, path));
      else if (parseFault(l)) {
        end.record(null, line);
        sink.fault(fast.tid, fast.vpn, fast.flags, line);
      } else if (l === '') throw new TraceFormatError(path, line, '', 'empty line');
      else {
        const r = parseRecordLine(l, path, line);
        if (end.record(r, line)) continue;
        if (r[0] === 'f') sink.fault(r[1], r[2], r[3], line);
        else sink.record(r, line);
      }
    }
  }
  if (line === 0) throw new TraceFormatError(path, 1, '', 'empty file: no header');
  end.finish(line);
  return line;
}
