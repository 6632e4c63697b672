/**
 * mmsim-trace/1 (docs/trace-format.md): one JSON value a line. Line 1 is the header
 * object; every other line is a record, an array whose first element names its kind.
 * The last line is the end record `["end", records]`: a trace without it was cut short
 * and is refused (TraceEnd), since its missing exit snapshots would compare as agreeing.
 * Read and validated one line at a time (a million-fault trace never sits in memory);
 * every error names the line (= record number + 1) and the field.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { lineBatches } from './lines.js';

export const TRACE_FORMAT = 'mmsim-trace/1';

export interface TraceHeader {
  format: typeof TRACE_FORMAT;
  /** the recorded command line */
  command: string[];
  /** `uname -r` of the recording machine */
  kernel: string;
  /** /sys/kernel/mm/transparent_hugepage/enabled, the selected mode */
  thp: 'always' | 'madvise' | 'never';
  /** the root process's exit status as waitpid() returned it */
  status?: number;
  /**
   * the recording kernel's mm configuration (@mmsim/kernel-oracle hostKernelConfig):
   * the replay configures the model the same way (e.g. pvm_no_zero_page=1: read faults
   * allocate folios, which gives VMAs anon_vmas)
   */
  config?: {
    thp?: 'always' | 'madvise' | 'never';
    useZeroPage?: boolean;
    faultZeroPage?: boolean;
    maxMapCount?: number;
    overcommit?: 0 | 1 | 2;
  };
}

/** One VMA of a /proc/PID/maps snapshot: [startVpn, endVpn, perms "rwxp", pgoff, file, name] */
export type MapsEntry = [start: number, end: number, perms: string, pgoff: number, file: string, name: string];

export interface Snapshot {
  /** the tid (a thread-group leader) the snapshot was taken of */
  pid: number;
  /** mm->start_brk (a byte address) */
  startBrk: number;
  maps: MapsEntry[];
  /** runs of present pages of the anonymous VMAs: [firstVpn, pages] */
  present: [number, number][];
  /**
   * runs of the present pages that are not exclusively mapped (pagemap bit 56 clear: the
   * zero page, a frame another mapping shares, e.g. after fork); absent in older traces
   */
  shared?: [number, number][];
  /**
   * "execve": taken at the execve() that drops the mm; "periodic": mid-run (`record
   * --snapshot-every`), every task stopped; absent: at its last task's exit
   */
  at?: 'execve' | 'periodic';
}

/** fault flags (bits of the record's 4th element) */
export const FAULT_WRITE = 1;
/** taken in kernel mode (copy_to_user, get_user...) on a user address */
export const FAULT_KERNEL = 2;
/** an instruction fetch */
export const FAULT_EXEC = 4;

/**
 * A syscall's unsigned long argument, exact: a number when it is a safe integer, a
 * bigint when it is not (>= 2^53: mremap(..., MREMAP_FIXED, ~0UL)). In the file the
 * bigint is a decimal string ("18446744073709551615"); see U64_FIELDS.
 */
export type U64 = number | bigint;

export type TraceRecord =
  | ['f', tid: number, vpn: number, flags: number]
  | ['mmap', tid: number, addr: U64, len: U64, prot: U64, flags: U64, fd: number, off: U64, ret: number, file: number]
  | ['munmap', tid: number, addr: U64, len: U64, ret: number]
  | ['mremap', tid: number, addr: U64, oldLen: U64, newLen: U64, flags: U64, newAddr: U64, ret: number]
  | ['mprotect', tid: number, addr: U64, len: U64, prot: U64, ret: number]
  | ['madvise', tid: number, addr: U64, len: U64, advice: number, ret: number]
  | ['brk', tid: number, brk: U64, ret: number]
  /** memfd_create() gave the open file `file` (a trace file identity): a shmem object */
  | ['memfd', tid: number, file: number]
  /** SysV shared memory: shmget() (ret the shmid), shmat() (ret the address), shmdt() */
  | ['shmget', tid: number, key: number, size: U64, shmflg: number, ret: number]
  | ['shmat', tid: number, shmid: number, addr: U64, shmflg: number, ret: number]
  | ['shmdt', tid: number, addr: U64, ret: number]
  | ['mlock', tid: number, addr: number, len: number, flags: number, ret: number]
  | ['munlock', tid: number, addr: number, len: number, ret: number]
  | ['mlockall', tid: number, flags: number, ret: number]
  | ['munlockall', tid: number, ret: number]
  | ['mseal', tid: number, addr: number, len: number, flags: number, ret: number]
  | ['anon_name', tid: number, addr: number, len: number, ret: number]
  | ['mbind', tid: number, addr: number, len: number, mode: number, ret: number]
  | ['fork', parent: number, child: number, kind: 'fork' | 'vfork' | 'clone', sharedVm: 0 | 1]
  | ['exec', tid: number, snapshot: Snapshot]
  | ['snap', tid: number, snapshot: Snapshot]
  | ['exit', tid: number]
  | ['end', records: number]
  | ['gup', tid: number, addr: number, len: number, write: 0 | 1]
  | ['sig', tid: number, signo: number, code: number];

/**
 * field names per record kind, after the kind (what errors and the docs call them). A
 * table without a prototype: a record's kind comes from the file, and "__proto__",
 * "toString" or "constructor" must be unknown kinds, not Object.prototype's members.
 */
export const RECORD_FIELDS: Readonly<Record<TraceRecord[0], readonly string[]>> = Object.freeze(Object.assign(Object.create(null) as Record<TraceRecord[0], readonly string[]>, {
  f: ['tid', 'vpn', 'flags'],
  mmap: ['tid', 'addr', 'len', 'prot', 'flags', 'fd', 'off', 'ret', 'file'],
  munmap: ['tid', 'addr', 'len', 'ret'],
  mremap: ['tid', 'addr', 'oldLen', 'newLen', 'flags', 'newAddr', 'ret'],
  mprotect: ['tid', 'addr', 'len', 'prot', 'ret'],
  madvise: ['tid', 'addr', 'len', 'advice', 'ret'],
  brk: ['tid', 'brk', 'ret'],
  memfd: ['tid', 'file'],
  shmget: ['tid', 'key', 'size', 'shmflg', 'ret'],
  shmat: ['tid', 'shmid', 'addr', 'shmflg', 'ret'],
  shmdt: ['tid', 'addr', 'ret'],
  mlock: ['tid', 'addr', 'len', 'flags', 'ret'],
  munlock: ['tid', 'addr', 'len', 'ret'],
  mlockall: ['tid', 'flags', 'ret'],
  munlockall: ['tid', 'ret'],
  mseal: ['tid', 'addr', 'len', 'flags', 'ret'],
  anon_name: ['tid', 'addr', 'len', 'ret'],
  mbind: ['tid', 'addr', 'len', 'mode', 'ret'],
  fork: ['parent', 'child', 'kind', 'sharedVm'],
  exec: ['tid', 'snapshot'],
  snap: ['tid', 'snapshot'],
  exit: ['tid'],
  end: ['records'],
  // GUP faulting pages in without a fault exception (recorded from the syscall: gup.ts)
  gup: ['tid', 'addr', 'len', 'write'],
  // a SIGSEGV/SIGBUS delivered to the task (signal:signal_deliver)
  sig: ['tid', 'signo', 'code'],
}));

/**
 * The fields that are a syscall's unsigned long argument, per record kind: each may be
 * written as a decimal string when its value is 2^53 or more (below 2^64); readers give
 * it as a bigint. Every other integer is a JSON number, as before.
 */
export const U64_FIELDS: Readonly<Partial<Record<TraceRecord[0], ReadonlySet<string>>>> = Object.freeze(Object.assign(Object.create(null) as Partial<Record<TraceRecord[0], ReadonlySet<string>>>, {
  mmap: new Set(['addr', 'len', 'prot', 'flags', 'off']),
  munmap: new Set(['addr', 'len']),
  mremap: new Set(['addr', 'oldLen', 'newLen', 'flags', 'newAddr']),
  mprotect: new Set(['addr', 'len', 'prot']),
  madvise: new Set(['addr', 'len']),
  brk: new Set(['brk']),
  shmget: new Set(['size']),
  shmat: new Set(['addr']),
  shmdt: new Set(['addr']),
}));

const TWO53 = 2n ** 53n;
const TWO64 = 2n ** 64n;

/** a U64 field written as a string: decimal digits of a value in [2^53, 2^64), else null */
function bigField(x: unknown): bigint | null {
  if (typeof x !== 'string' || !/^[1-9][0-9]{15,19}$/.test(x)) return null;
  const v = BigInt(x);
  return v >= TWO53 && v < TWO64 ? v : null;
}

/** A U64 as a number where it is exact, else Infinity (for bounds: "more than any limit") */
export function u64Number(x: U64): number {
  return typeof x === 'number' ? x : Infinity;
}

/** The low 32 bits of a U64 (flag tests) */
export function low32(x: U64): number {
  return typeof x === 'number' ? x >>> 0 : Number(BigInt.asUintN(32, x));
}

/** A trace that does not follow mmsim-trace/1: `line` is 1-based (the header is line 1). */
export class TraceFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}:${line}${field ? ` (${field})` : ''}: ${problem}`);
    this.name = 'TraceFormatError';
  }
}

/** user addresses are below 2^47: every number in a trace is an exact JS integer */
const MAX_ADDR = 2 ** 47;
/** pages of the user address space: every vpn is below this */
const MAX_VPN = MAX_ADDR / 4096;

/**
 * The most pages one record may make present in the replay (docs/trace-format.md,
 * "Limits"): a snapshot's present runs together, a MAP_POPULATE / MAP_LOCKED mmap, an
 * MADV_POPULATE_READ / _WRITE range, an mlock() range. 2^24 pages are 64 GiB of 4 KiB pages; each becomes
 * a folio of the simulator, so more would not fit in its memory (and a hostile 2^40
 * pages would loop for hours): such a record is refused, with its line.
 */
export const MAX_POPULATE_PAGES = 2 ** 24;
export const MAP_LOCKED = 0x2000;
export const MAP_POPULATE = 0x8000;
export const MADV_POPULATE_READ = 22;
export const MADV_POPULATE_WRITE = 23;

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x);
}

export function parseHeader(text: string, file: string): TraceHeader {
  let h: unknown;
  try {
    h = JSON.parse(text);
  } catch (e) {
    throw new TraceFormatError(file, 1, '', `the header is not JSON (${(e as Error).message})`);
  }
  const o = h as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new TraceFormatError(file, 1, '', 'the header must be an object');
  if (o.format !== TRACE_FORMAT) throw new TraceFormatError(file, 1, 'format', `expected "${TRACE_FORMAT}", got ${JSON.stringify(o.format)}`);
  if (!Array.isArray(o.command) || !o.command.every((c) => typeof c === 'string')) throw new TraceFormatError(file, 1, 'command', 'must be an array of strings');
  if (typeof o.kernel !== 'string') throw new TraceFormatError(file, 1, 'kernel', 'must be a string');
  if (o.thp !== 'always' && o.thp !== 'madvise' && o.thp !== 'never') throw new TraceFormatError(file, 1, 'thp', 'must be "always", "madvise" or "never"');
  if (o.status !== undefined && !isInt(o.status)) throw new TraceFormatError(file, 1, 'status', 'must be an integer');
  if (o.config !== undefined) {
    const c = o.config as Record<string, unknown>;
    if (!c || typeof c !== 'object' || Array.isArray(c)) throw new TraceFormatError(file, 1, 'config', 'must be an object');
    for (const [key, v] of Object.entries(c)) {
      const ok =
        key === 'thp' ? v === 'always' || v === 'madvise' || v === 'never'
        : key === 'useZeroPage' || key === 'faultZeroPage' ? typeof v === 'boolean'
        : key === 'maxMapCount' ? isInt(v) && v > 0
        : key === 'overcommit' ? v === 0 || v === 1 || v === 2
        : null;
      if (ok === null) throw new TraceFormatError(file, 1, `config.${key}`, 'unknown field');
      if (!ok) throw new TraceFormatError(file, 1, `config.${key}`, `bad value ${JSON.stringify(v)}`);
    }
  }
  for (const k of Object.keys(o)) if (!['format', 'command', 'kernel', 'thp', 'status', 'config'].includes(k)) throw new TraceFormatError(file, 1, k, 'unknown field');
  return o as unknown as TraceHeader;
}

function checkSnapshot(s: unknown, file: string, line: number): Snapshot {
  const bad = (field: string, p: string) => new TraceFormatError(file, line, `snapshot.${field}`, p);
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw bad('', 'must be an object');
  const o = s as Record<string, unknown>;
  if (!isInt(o.pid) || o.pid <= 0) throw bad('pid', 'must be a positive integer');
  if (!isInt(o.startBrk) || o.startBrk < 0 || o.startBrk >= MAX_ADDR) throw bad('startBrk', 'must be a user address');
  if (!Array.isArray(o.maps)) throw bad('maps', 'must be an array');
  if (o.at !== undefined && o.at !== 'execve' && o.at !== 'periodic') throw bad('at', 'must be "execve" or "periodic" when present');
  let last = 0;
  o.maps.forEach((m: unknown, i) => {
    if (!Array.isArray(m) || m.length !== 6) throw bad(`maps[${i}]`, 'must be [start, end, perms, pgoff, file, name]');
    const [a, b, perms, pgoff, f, name] = m as unknown[];
    if (!isInt(a) || !isInt(b) || a < last || b <= a || b > MAX_VPN) throw bad(`maps[${i}]`, 'start/end must be increasing page numbers below 2^35');
    if (typeof perms !== 'string' || !/^[r-][w-][x-][ps]$/.test(perms)) throw bad(`maps[${i}].perms`, 'must look like "rw-p"');
    if (!isInt(pgoff) || pgoff < 0) throw bad(`maps[${i}].pgoff`, 'must be a page offset');
    if (typeof f !== 'string' || typeof name !== 'string') throw bad(`maps[${i}]`, 'file and name must be strings');
    last = b;
  });
  const runs = (field: 'present' | 'shared', v: unknown) => {
    if (!Array.isArray(v)) throw bad(field, 'must be an array');
    let pages = 0;
    v.forEach((r: unknown, i) => {
      if (!Array.isArray(r) || r.length !== 2 || !isInt(r[0]) || !isInt(r[1]) || r[1] <= 0) throw bad(`${field}[${i}]`, 'must be [firstVpn, pages]');
      if (r[0] < 0 || r[0] + r[1] > MAX_VPN) throw bad(`${field}[${i}]`, `pages [${r[0]}, ${r[0] + r[1]}) are not all below 2^35, the user address space`);
      pages += r[1];
    });
    if (pages > MAX_POPULATE_PAGES) throw bad(field, `${pages} ${field} pages, more than the replay's limit of 2^24 (${MAX_POPULATE_PAGES}) per snapshot`);
  };
  runs('present', o.present);
  if (o.shared !== undefined) runs('shared', o.shared);
  return o as unknown as Snapshot;
}

/** Validate one record line (already JSON-parsed). */
export function checkRecord(v: unknown, file: string, line: number): TraceRecord {
  if (!Array.isArray(v) || typeof v[0] !== 'string') throw new TraceFormatError(file, line, '', 'a record must be an array starting with its kind');
  const kind = v[0] as TraceRecord[0];
  // RECORD_FIELDS has no prototype: "constructor" or "toString" are no kinds
  const fields = RECORD_FIELDS[kind];
  if (!fields) throw new TraceFormatError(file, line, '', `unknown record kind ${JSON.stringify(v[0])} (the kinds are ${Object.keys(RECORD_FIELDS).join(', ')})`);
  if (v.length !== fields.length + 1) throw new TraceFormatError(file, line, '', `a ${kind} record has ${fields.length} fields (${fields.join(', ')}), got ${v.length - 1}`);
  const big = U64_FIELDS[kind];
  for (let i = 0; i < fields.length; i++) {
    const name = fields[i];
    const x = v[i + 1];
    if (typeof x === 'string' && big?.has(name)) {
      const b = bigField(x);
      if (b === null) throw new TraceFormatError(file, line, `${kind}.${name}`, `must be an integer (a decimal string only from 2^53 to 2^64-1), got ${JSON.stringify(x)}`);
      v[i + 1] = b;
    } else if (name === 'snapshot') checkSnapshot(x, file, line);
    else if (name === 'kind') {
      if (x !== 'fork' && x !== 'vfork' && x !== 'clone') throw new TraceFormatError(file, line, `${kind}.kind`, 'must be "fork", "vfork" or "clone"');
    } else if (!isInt(x)) throw new TraceFormatError(file, line, `${kind}.${name}`, `must be an integer, got ${JSON.stringify(x)}`);
    else if ((name === 'tid' || name === 'parent' || name === 'child') && x <= 0) throw new TraceFormatError(file, line, `${kind}.${name}`, 'must be a positive tid');
    else if ((name === 'vpn' && (x < 0 || x >= MAX_VPN)) || ((name === 'addr' || name === 'newAddr') && (x < 0 || x >= 2 ** 64))) throw new TraceFormatError(file, line, `${kind}.${name}`, 'out of range');
    else if ((name === 'len' || name === 'oldLen' || name === 'newLen') && x < 0) throw new TraceFormatError(file, line, `${kind}.${name}`, 'must not be negative');
    else if (name === 'records' && x < 0) throw new TraceFormatError(file, line, `${kind}.${name}`, 'must not be negative');
    else if ((name === 'sharedVm' || name === 'write') && x !== 0 && x !== 1) throw new TraceFormatError(file, line, `${kind}.${name}`, 'must be 0 or 1');
  }
  const r = v as TraceRecord;
  if (populatePages(r) > MAX_POPULATE_PAGES) {
    const len = r[0] === 'mmap' || r[0] === 'madvise' || r[0] === 'mlock' || r[0] === 'gup' ? r[3] : 0;
    const n = typeof len === 'bigint' ? (len + 4095n) / 4096n : Math.ceil(len / 4096);
    throw new TraceFormatError(file, line, `${kind}.len`, `populates ${n} pages, more than the replay's limit of 2^24 (${MAX_POPULATE_PAGES}) per record`);
  }
  return r;
}

/** Pages a successful record asks to make present without faults (MAP_POPULATE, MADV_POPULATE_*); 0 for others. */
function populatePages(r: TraceRecord): number {
  if (r[0] === 'mmap' && r[8] >= 0 && low32(r[5]) & (MAP_POPULATE | MAP_LOCKED)) return Math.ceil(u64Number(r[3]) / 4096);
  if (r[0] === 'madvise' && r[5] >= 0 && (r[4] === MADV_POPULATE_READ || r[4] === MADV_POPULATE_WRITE)) return Math.ceil(u64Number(r[3]) / 4096);
  // mlock() without MLOCK_ONFAULT faults its range in (__mm_populate)
  if (r[0] === 'mlock' && r[5] >= 0 && !(r[4] & 1)) return Math.ceil(u64Number(r[3]) / 4096);
  if (r[0] === 'gup') return Math.ceil(u64Number(r[3]) / 4096) + 1;
  return 0;
}

/** Parse one record line. */
export function parseRecordLine(text: string, file: string, line: number): TraceRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TraceFormatError(file, line, '', `not JSON (${(e as Error).message})`);
  }
  return checkRecord(v, file, line);
}

/**
 * Where a trace ends: every reader hands each record line to `record()` and the count of
 * lines to `finish()`. The end record `["end", N]` must be the last line, with N the
 * records before it; a trace that ends without it was cut (an interrupted or failed
 * recording, a truncated copy) and is refused at the line where it should have been.
 */
export class TraceEnd {
  private records = 0;
  private endLine = 0;
  constructor(private readonly file: string) {}

  /** A record at `line` (null: a fault, read without an array); true: the end record, not to be replayed. */
  record(r: TraceRecord | null, line: number): boolean {
    if (this.endLine) throw new TraceFormatError(this.file, line, '', `a record after the end record (line ${this.endLine})`);
    if (r !== null && r[0] === 'end') {
      if (r[1] !== this.records) throw new TraceFormatError(this.file, line, 'end.records', `the end record says ${r[1]} records, the trace holds ${this.records} before it (lines are missing or repeated)`);
      this.endLine = line;
      return true;
    }
    this.records++;
    return false;
  }

  /** The file ended after `lines` lines (the header included). */
  finish(lines: number): void {
    if (lines === 0 || this.endLine) return;
    throw new TraceFormatError(
      this.file,
      lines + 1,
      '',
      `the trace ends after ${this.records} records without its end record ["end",${this.records}]: it was cut short (an interrupted or failed recording, or a truncated copy), and a cut trace lacks exit snapshots to compare; record it again`,
    );
  }
}

/**
 * Stream a trace: the header, then each record with its line number (the end record is
 * checked, not yielded). Refuses an empty file, a bad header, any bad record and a
 * trace without its end record (TraceFormatError).
 */
export async function* readTrace(path: string): AsyncGenerator<{ header: TraceHeader } | { record: TraceRecord; line: number }> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  const end = new TraceEnd(path);
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      if (line === 1) {
        yield { header: parseHeader(text, path) };
        continue;
      }
      if (text === '') throw new TraceFormatError(path, line, '', 'empty line');
      const record = parseRecordLine(text, path, line);
      if (!end.record(record, line)) yield { record, line };
    }
  } finally {
    rl.close();
  }
  if (line === 0) throw new TraceFormatError(path, 1, '', 'empty file: no header');
  end.finish(line);
}

/**
 * readTrace without the event loop: 1 MiB reads split into lines (an async iteration
 * per line costs more than replaying a fault's record). The replay itself reads with
 * scanTrace (scan.ts), which makes no object per fault record.
 */
export function* readTraceSync(path: string): Generator<{ header: TraceHeader } | { record: TraceRecord; line: number }> {
  const end = new TraceEnd(path);
  let line = 0;
  for (const lines of lineBatches(path)) {
    for (const l of lines) {
      line++;
      if (line === 1) yield { header: parseHeader(l, path) };
      else if (l === '') throw new TraceFormatError(path, line, '', 'empty line');
      else {
        const record = parseRecordLine(l, path, line);
        if (!end.record(record, line)) yield { record, line };
      }
    }
  }
  if (line === 0) throw new TraceFormatError(path, 1, '', 'empty file: no header');
  end.finish(line);
}

/** The text of a record line (what the recorder writes). */
export function recordLine(r: TraceRecord): string {
  for (let i = 1; i < r.length; i++) if (typeof r[i] === 'bigint') return JSON.stringify(r, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return JSON.stringify(r);
}
