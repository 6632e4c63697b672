/**
 * `mmsim record`: run a command under perf (raw_syscalls:*, exceptions:page_fault_*,
 * sched:sched_process_*) with the ptrace helper tracer.c in between, then turn perf's
 * samples and the helper's snapshots into one mmsim-trace/1 file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { constants, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { hostKernelConfig } from '@mmsim/kernel-oracle';
import { TRACE_FORMAT, recordLine, type TraceHeader } from './format.js';
import { PerfConverter, perfEvents, type ConvertStats } from './perf.js';
import { perfEventArgs } from './rawsys.js';
import { parseTracerLog, type TracerLog } from './tracerlog.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const TRACER_SOURCE = join(HERE, 'tracer.c');
const BUILD_DIR = join(HERE, '..', 'build');
const CFLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra'];

/** The recording ran but its trace would be incomplete (perf lost events, perf script failed): nothing is written. */
export class RecordIncompleteError extends Error {
  override name = 'RecordIncompleteError';
  constructor(
    message: string,
    /** perf's LOST records (0: something else, perf script failed) */
    readonly lost = 0,
  ) {
    super(message);
  }
}

/** Why recording cannot run here (no perf, not root, no compiler...). */
export class RecordUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordUnavailableError';
  }
}

/** Compile a C file once per source hash into packages/record/build (gitignored). */
export function buildC(src: string, name: string, extra: string[] = []): string {
  const cc = process.env.CC ?? 'gcc';
  const hash = createHash('sha256').update(readFileSync(src)).update(cc).update([...CFLAGS, ...extra].join(' ')).digest('hex').slice(0, 16);
  const bin = join(BUILD_DIR, `${name}-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(BUILD_DIR, { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  const r = spawnSync(cc, [...CFLAGS, '-o', tmp, src, ...extra], { encoding: 'utf8' });
  if (r.error) throw new RecordUnavailableError(`cannot run the C compiler "${cc}" (${r.error.message}); install gcc`);
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`compiling ${src} failed:\n${r.stderr}`);
  }
  renameSync(tmp, bin);
  return bin;
}

/** perf needs the tracepoints: tracefs mounted (as root it is mounted here if missing). */
function ensureTracefs(): void {
  if (existsSync('/sys/kernel/tracing/events/syscalls')) return;
  const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { encoding: 'utf8' });
  if (!existsSync('/sys/kernel/tracing/events/syscalls'))
    throw new RecordUnavailableError(`no syscall tracepoints: /sys/kernel/tracing is not mounted and mounting it failed (${r.stderr.trim() || 'not root?'})`);
}

export function thpMode(): TraceHeader['thp'] {
  try {
    const m = /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'));
    if (m && (m[1] === 'always' || m[1] === 'madvise' || m[1] === 'never')) return m[1];
  } catch {
    /* no THP support: never */
  }
  return 'never';
}

export interface RecordOptions {
  /** perf's per-CPU buffer in pages (power of two; default 8192 = 32 MiB) */
  mmapPages?: number;
  /**
   * also compare every mm every this many seconds (`mmsim record --snapshot-every`): the
   * helper stops every task, snapshots each mm, and lets them run on
   */
  snapshotEvery?: number;
  /** the command's stdout/stderr (default: inherited) */
  stdio?: 'inherit' | 'ignore';
  onProgress?: (stats: ConvertStats) => void;
  /**
   * Aborted: end the recorded command now (`mmsim record` on SIGINT/SIGTERM). Its
   * processes get SIGINT (the tracer passes it on as the program's signal); the tracer
   * and perf then end as after any exit, and what was recorded is converted.
   */
  signal?: AbortSignal;
}

/** The processes below `pid` (from /proc: each one's parent), nearest first. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  for (let i = 0, queue = [pid]; i < queue.length; i++) {
    for (const [c, pp] of parent) {
      if (pp !== queue[i]) continue;
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** SIGINT to the recorded command's processes: everything below perf's child, the tracer. */
function interruptRecorded(perf: number): void {
  const [tracer, ...below] = descendants(perf);
  if (tracer === undefined) return;
  for (const pid of below.length ? below : [tracer]) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // exited meanwhile
    }
  }
}

export interface RecordResult {
  stats: ConvertStats;
  /** the command's exit code (128 + signal if killed) */
  exitCode: number;
  header: TraceHeader;
}

/** What recording needs (Linux, root, perf, tracefs, the helper built): the helper's path, else RecordUnavailableError. */
export function preflight(): string {
  if (process.platform !== 'linux') throw new RecordUnavailableError('recording needs Linux');
  if (process.getuid?.() !== 0) throw new RecordUnavailableError('recording needs root (perf tracepoints, ptrace of the whole tree, /proc/PID/pagemap)');
  const probe = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) throw new RecordUnavailableError('perf is not installed (Debian: apt-get install linux-perf)');
  ensureTracefs();
  return buildC(TRACER_SOURCE, 'mmsim-tracer');
}

/** perf record's options besides the command: quiet, the buffer, the events */
export function perfRecordArgs(mmapPages = 8192): string[] {
  // --no-bpf-event: perf's side-band thread for BPF events polls with a 1 s timeout and
  // perf waits for it at exit, up to 1 s per recording for nothing; -B: no build-ids
  // (tracepoint samples are not symbolized), which cost a second read of /proc/kallsyms
  return ['record', '-q', '--no-bpf-event', '-B', '-m', String(mmapPages), ...perfEventArgs(perfEvents())];
}

/** Record `cmd` into `out` (mmsim-trace/1). Needs root, perf and gcc. */
export async function record(cmd: string[], out: string, opts: RecordOptions = {}): Promise<RecordResult> {
  const tracer = preflight();
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-record-'));
  try {
    const data = join(dir, 'perf.data');
    const tlogPath = join(dir, 'tracer.log');
    const args = [...perfRecordArgs(opts.mmapPages), '-o', data, '--', tracer, tlogPath, ...cmd];
    const code = await new Promise<number>((resolve, reject) => {
      const env = opts.snapshotEvery ? { ...process.env, MMSIM_SNAPSHOT_EVERY: String(opts.snapshotEvery) } : process.env;
      // with a signal to stop it, the recording gets a process group of its own: a
      // terminal's Ctrl-C then reaches only the caller, which ends the recorded command
      // (interruptRecorded); perf and the tracer, which would die of it too and lose the
      // trace, run on until the command has exited
      const p = spawn('perf', args, { stdio: ['inherit', opts.stdio ?? 'inherit', opts.stdio ?? 'inherit'], detached: !!opts.signal, env });
      // again every 100 ms until perf ends: the command may not have started yet
      let again: NodeJS.Timeout | undefined;
      const stop = () => {
        if (p.pid === undefined) return;
        interruptRecorded(p.pid);
        again ??= setInterval(() => interruptRecorded(p.pid!), 100);
      };
      if (opts.signal?.aborted) stop();
      opts.signal?.addEventListener('abort', stop, { once: true });
      p.on('exit', () => {
        clearInterval(again);
        opts.signal?.removeEventListener('abort', stop);
      });
      p.on('error', reject);
      p.on('exit', (c, sig) => resolve(c ?? 128 + (sig ? (constants.signals[sig] ?? 0) : 0)));
    });
    const tlog = parseTracerLog(existsSync(tlogPath) ? readFileSync(tlogPath, 'utf8') : '');
    if (!tlog.root) throw new RecordUnavailableError(`the command did not start (perf exit ${code})`);
    const header: TraceHeader = {
      format: TRACE_FORMAT,
      command: cmd,
      kernel: release(),
      thp: thpMode(),
      ...(tlog.status !== undefined ? { status: tlog.status } : {}),
      config: { ...hostKernelConfig() },
    };
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      const stats = await convertPerf(data, tlog, header, tmp, opts);
      renameSync(tmp, out);
      const st = tlog.status ?? 0;
      const exitCode = (st & 0x7f) === 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f);
      return { stats, exitCode, header };
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * perf script of `data` through PerfConverter into `tmp`, the end record last (`around`:
 * before the first line and after the last). Throws RecordIncompleteError when perf lost events.
 */
export async function convertPerf(
  data: string,
  tlog: TracerLog,
  header: TraceHeader,
  tmp: string,
  opts: RecordOptions,
  around: { before?(c: PerfConverter): void; after?(c: PerfConverter): void } = {},
): Promise<ConvertStats> {
  const w = createWriteStream(tmp);
  let buf: string[] = [JSON.stringify(header)];
  const flush = () => {
    if (buf.length) w.write(buf.join('\n') + '\n');
    buf = [];
  };
  let records = 0;
  const conv = new PerfConverter(tlog, (r) => {
    buf.push(recordLine(r));
    records++;
    if (buf.length >= 4096) flush();
  });
  around.before?.(conv);
  const ps = spawn('perf', ['script', '-i', data, '--show-lost-events', '-F', 'pid,tid,event,trace'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  ps.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const rl = createInterface({ input: ps.stdout, crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    conv.line(line);
    if (++n % 100_000 === 0) opts.onProgress?.(conv.stats);
  }
  const rc = await new Promise<number>((resolve) => (ps.exitCode !== null ? resolve(ps.exitCode) : ps.on('exit', (c) => resolve(c ?? 1))));
  around.after?.(conv);
  // the last line says the trace is complete: a reader refuses one cut before it
  buf.push(recordLine(['end', records]));
  flush();
  await new Promise<void>((resolve, reject) => w.end((e?: Error | null) => (e ? reject(e) : resolve())));
  if (rc !== 0) throw new RecordIncompleteError(`perf script failed (exit ${rc}): ${err.trim()}`);
  if (conv.stats.lost > 0 || /lost \d+ (chunks|events)/i.test(err)) {
    const pages = opts.mmapPages ?? 8192;
    throw new RecordIncompleteError(
      `perf lost events (${conv.stats.lost} LOST records with a buffer of ${pages} pages per CPU): the trace would be incomplete; ` +
        `raise the buffer (mmsim record --buffer ${pages * 4}) or record a shorter run`,
      Math.max(1, conv.stats.lost),
    );
  }
  return conv.stats;
}
