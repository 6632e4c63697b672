/**
 * The simulator's side: one session on the public model API (Kernel, doMmap,
 * doMadvise, userAccess, doMremap), every event recorded in the engine's log and, by
 * default, the invariant checkers attached. Steps are top-level syscalls named like
 * runScenario's (`step:mmap`, `step:touch`, ...), so the log reads like a scenario's.
 *
 * A session measures, at one size: the write fault-in of N MiB of 4 KiB pages
 * (MADV_NOHUGEPAGE) and the MREMAP_RELOCATE_ANON move of that region to a destination
 * one page past a 2 MiB boundary. With `log` it then grows the log to a target number
 * of events (faulting in fresh regions) and measures what the log costs: bytes on disk, full replay, random seeks,
 * memory, and the naive one-produce-per-event reducer on a prefix.
 *
 * Runs in its own process (see child.ts) so that memory and GC are the session's alone.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  E,
  vmaLookup,
  MMSIM_VERSION,
  TimeTravel,
  apply,
  emptyState,
  encodeLogFile,
  folioAtHead,
  lookupPte,
  ptePfn,
  replay,
  replayRange,
  type Engine,
  type KGen,
  type MmEvent,
  type State,
} from '@mmsim/core';
import { ARENA_BASE, Kernel, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_READ, PROT_WRITE, doMadvise, doMmap, doMremap, userAccess } from '@mmsim/linux';
import relocateAnon, { MREMAP_RELOCATE_ANON } from '@mmsim/relocate-anon';
import { mean, prng, quantile, round, timed, type Clocks } from './stats.js';

export const PAGES_PER_MIB = 256;

export interface SimJob {
  mib: number;
  /** attach @mmsim/invariants' checkers (default true) */
  checkers?: boolean;
  /** relocate-anon variant (default 'fixed') */
  variant?: string;
  /**
   * MiB of a throwaway warm-up session run first in the same process (same code paths:
   * fault-in, relocation, checkers), so that the timed phases measure compiled code, as
   * the kernel side is the best of several runs. It runs twice: V8 optimizes a function
   * only after many calls, and one small run leaves the timed phase 40% slower at 64 MiB.
   * Default 32; 0: none.
   */
  warmupMiB?: number;
  /** grow the log and measure it */
  log?: LogJob;
}

export interface LogJob {
  /** grow the session's log to at least this many events */
  targetEvents: number;
  /** random TimeTravel.stateAt() calls */
  seeks: number;
  /** events of the prefix the naive reducer replays */
  naivePrefix: number;
  seed: number;
  /** where the log file is written to measure its size (deleted after) */
  dir?: string;
}

export interface PhaseResult extends Clocks {
  events: number;
}

export interface SimResult {
  mib: number;
  pages: number;
  /** 'on', 'off', or 'unavailable: <why>' */
  checkers: string;
  violations: number;
  fault: PhaseResult;
  relocate: PhaseResult & { relocated: boolean };
  log?: LogResult;
}

export interface LogResult {
  events: number;
  recordWallMs: number;
  rss: { baselineMiB: number; peakMiB: number; endMiB: number; analysisPeakMiB: number };
  heapUsedMiB: number;
  memBytesPerEvent: number;
  file: { bytes: number; bytesPerEvent: number; inMemoryBytes: number };
  replay: Clocks & { eventsPerSec: number };
  timeTravel: { buildMs: number; seeks: number; p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number; meanMs: number };
  naive: {
    prefixEvents: number;
    naiveMs: number;
    batchedMs: number;
    slowdown: number;
    naiveEventsPerSec: number;
    /** naiveMs scaled linearly to the whole log */
    extrapolatedFullReplayMs: number;
  };
}

export type Progress = (phase: string, done: number, total: number) => void;

/** Called right around each timed phase (profilers hang here). */
export interface PhaseHooks {
  start?(phase: 'fault' | 'relocate'): void;
  stop?(phase: 'fault' | 'relocate'): void;
  /** the engine once the timed phases are over (profiling replay and seeks) */
  engine?(eng: Engine): void;
}

const MiB = 2 ** 20;
const rssMiB = () => process.memoryUsage.rss() / MiB;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

/** The headline destination: one page past the 2 MiB boundary after the source (+ a gap). */
export function relocateTarget(src: number, pages: number): number {
  const end = src + pages + 512;
  return end - (end % 512) + 512 + 1;
}

export async function runSimSession(job: SimJob, progress: Progress = () => {}, hooks: PhaseHooks = {}): Promise<SimResult> {
  // the memory baseline is taken before the warm-up: what the warm-up leaves resident
  // counts against the session (conservative), never for it
  gc();
  const baseline = rssMiB();
  const warm = job.warmupMiB ?? 32;
  if (warm > 0) {
    for (let i = 0; i < 2; i++) {
      progress('sim warm-up', i, 2);
      await runSimSession({ ...job, mib: warm, warmupMiB: 0, log: undefined });
    }
    progress('sim warm-up', 2, 2);
  }
  const pages = job.mib * PAGES_PER_MIB;
  const k = new Kernel({ plugins: [[relocateAnon as never, { variant: job.variant ?? 'fixed' }]] });
  const eng = k.eng;
  const chk = job.checkers === false ? null : await loadCheckers();
  let checkers = 'off';
  let handle: { count(): number } | null = null;
  if (chk && typeof chk !== 'string') {
    handle = chk(eng);
    checkers = 'on';
  } else if (typeof chk === 'string') checkers = `unavailable: ${chk}`;

  // RSS: the baseline (above), then sampled every 16 chunks
  let peak = baseline;
  let chunks = 0;
  eng.log.onSeal(() => {
    if (++chunks % 16 === 0) peak = Math.max(peak, rssMiB());
  });

  const mm = eng.ids.mm++;
  eng.emit(E.MmCreate, mm, 0);
  eng.commit();
  let stepNo = 0;
  const step = <T>(op: string, body: () => KGen<T>): T => {
    const r = eng.syscall(`step:${op}`, body, stepNo++, 0);
    if (!r.ok) throw r.error instanceof Error ? r.error : new Error(String(r.error));
    return r.value;
  };
  const check = (what: string, got: number, want: number) => {
    if (got !== want) throw new Error(`${what} returned ${got}, expected ${want}`);
  };
  const mapRegion = (at: number) => {
    check('mmap', step('mmap', () => doMmap(k, mm, at, pages, { prot: PROT_READ | PROT_WRITE, shared: false, fixed: true, noreserve: false })), at);
    check('madvise(NOHUGEPAGE)', step('madvise', () => doMadvise(k, mm, at, pages, 'NOHUGEPAGE')), 0);
  };
  const touch = (at: number, n: number, phase?: string) =>
    step('touch', function* () {
      for (let i = 0; i < n; i++) {
        const out = yield* userAccess(k, mm, at + i, true);
        if (out !== 'ok') throw new Error(`write fault at page ${i} gave ${out}`);
        if (phase && (i & 4095) === 4095) progress(phase, i + 1, n);
      }
      return 0;
    });

  const src = ARENA_BASE;
  const dst = relocateTarget(src, pages);
  const t0 = performance.now();

  mapRegion(src);
  progress('sim fault-in', 0, pages);
  let e0 = eng.log.length;
  gc();
  hooks.start?.('fault');
  const f = timed(() => touch(src, pages, 'sim fault-in'));
  hooks.stop?.('fault');
  const fault: PhaseResult = { wallMs: f.wallMs, cpuMs: f.cpuMs, events: eng.log.length - e0 };
  peak = Math.max(peak, rssMiB());

  progress('sim relocate', 0, 1);
  e0 = eng.log.length;
  gc();
  hooks.start?.('relocate');
  const r = timed(() => step('mremap', () => doMremap(k, mm, src, pages, pages, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_RELOCATE_ANON, dst)));
  hooks.stop?.('relocate');
  check('mremap(RELOCATE_ANON)', r.value, dst);
  progress('sim relocate', 1, 1);
  const relocate = { wallMs: r.wallMs, cpuMs: r.cpuMs, events: eng.log.length - e0, relocated: relocatedAt(eng, mm, dst, pages) };
  peak = Math.max(peak, rssMiB());

  const res: SimResult = { mib: job.mib, pages, checkers, violations: 0, fault, relocate };
  hooks.engine?.(eng);
  if (job.log) res.log = measureLog(eng, job.log, { k, mm, src, dst, pages, mapRegion, touch, step }, { baseline, t0, peak: () => peak }, progress);
  res.violations = handle?.count() ?? 0;
  return res;
}

type CheckerFn = (eng: Engine) => { count(): number };

/** @mmsim/invariants' attachCheckers, or why it cannot be loaded (the checkers are pluggable). */
async function loadCheckers(): Promise<CheckerFn | string> {
  try {
    const m = (await import('@mmsim/invariants')) as { attachCheckers?: CheckerFn };
    if (typeof m.attachCheckers !== 'function') return '@mmsim/invariants has no attachCheckers';
    return m.attachCheckers;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/** Did MREMAP_RELOCATE_ANON really relocate? The new VMA's pgoff and a folio's index follow the new address. */
function relocatedAt(eng: Engine, mm: number, dst: number, pages: number): boolean {
  const s = eng.state;
  const m = s.mms[mm];
  const v = vmaLookup(s, m, dst);
  if (v && v.start !== dst) return false;
  if (!v || v.end !== dst + pages || v.pgoff !== dst) return false;
  const last = dst + pages - 1;
  const f = folioAtHead(s, ptePfn(lookupPte(m, last)));
  return !!f && f.index === last;
}

interface Session {
  k: Kernel;
  mm: number;
  src: number;
  dst: number;
  pages: number;
  mapRegion(at: number): void;
  touch(at: number, n: number): number;
  step<T>(op: string, body: () => KGen<T>): T;
}

function measureLog(
  eng: Engine,
  job: LogJob,
  ss: Session,
  mem: { baseline: number; t0: number; peak: () => number },
  progress: Progress,
): LogResult {
  // grow the log: fault in fresh regions, 2 MiB per syscall, above the moved one. (Not
  // munmap + refault: unmapping a huge VMA piecewise makes the rmap-race checker's work
  // quadratic, and one munmap of more than batchEvents (65536) events trips a model bug:
  // zap_pte_range holds a draft PMD entry across the mid-syscall commit.)
  let next = ss.dst + ss.pages;
  while (eng.log.length < job.targetEvents) {
    next += 1024 - (next % 512);
    const at = next;
    progress('sim grow log', eng.log.length, job.targetEvents);
    ss.mapRegion(at);
    for (let i = 0; i < ss.pages && eng.log.length < job.targetEvents; i += 512) {
      ss.touch(at + i, Math.min(512, ss.pages - i));
      if ((i & 8191) === 0) progress('sim grow log', eng.log.length, job.targetEvents);
    }
    next = at + ss.pages;
  }
  eng.close();
  const recordWallMs = performance.now() - mem.t0;
  const events = eng.log.length;
  let peak = Math.max(mem.peak(), rssMiB());
  gc();
  const end = rssMiB();
  const heapUsedMiB = process.memoryUsage().heapUsed / MiB;
  let apeak = end;
  const sample = () => (apeak = Math.max(apeak, rssMiB()));

  // the log file, as `mmsim run --log` writes it
  progress('log file', 0, 1);
  const dir = job.dir ?? tmpdir();
  const path = join(dir, `mmsim-bench-${process.pid}.mmlog`);
  const image = encodeLogFile(eng.log, { mmsimVersion: MMSIM_VERSION, config: { bench: true, pages: ss.pages }, seed: 0 });
  writeFileSync(path, image);
  const fileBytes = statSync(path).size;
  rmSync(path, { force: true });
  sample();

  // full replay
  progress('replay', 0, 1);
  gc();
  const rp = timed(() => replay(eng.log));
  if (rp.value.seq !== events || rp.value.counts.folios !== eng.state.counts.folios) throw new Error('replay did not reach the recorded state');
  sample();

  // naive: one produce per event on a prefix, against the batched replay of the same prefix
  const P = Math.min(job.naivePrefix, events);
  progress('naive reducer', 0, P);
  let evs: MmEvent[] | null = [...eng.log.events(0, P)];
  gc();
  const batched = timed(() => replayRange(eng.log, emptyState(), P));
  gc();
  const naive = timed(() => {
    let s: State = emptyState();
    for (let i = 0; i < evs!.length; i++) {
      s = apply(s, evs![i]);
      if ((i & 16383) === 16383) progress('naive reducer', i + 1, P);
    }
    return s;
  });
  if (naive.value.seq !== P || naive.value.counts.folios !== batched.value.counts.folios) throw new Error('naive and batched replays disagree');
  evs = null;
  sample();

  // time travel: keyframes from one replay pass, then random seeks
  progress('seeks', 0, job.seeks);
  gc();
  const ttb = timed(() => new TimeTravel(eng.log));
  const tt = ttb.value;
  sample();
  const rnd = prng(job.seed);
  const times: number[] = [];
  for (let i = 0; i < job.seeks; i++) {
    const pos = Math.floor(rnd() * (events + 1));
    const t = performance.now();
    const s = tt.stateAt(pos);
    times.push(performance.now() - t);
    if (s.seq !== pos) throw new Error(`stateAt(${pos}) gave the state at ${s.seq}`);
    if ((i & 15) === 15) {
      sample();
      progress('seeks', i + 1, job.seeks);
    }
  }
  sample();
  peak = Math.max(peak, end);

  return {
    events,
    recordWallMs: round(recordWallMs, 1),
    rss: { baselineMiB: round(mem.baseline, 1), peakMiB: round(peak, 1), endMiB: round(end, 1), analysisPeakMiB: round(apeak, 1) },
    heapUsedMiB: round(heapUsedMiB, 1),
    memBytesPerEvent: round(((end - mem.baseline) * MiB) / events, 2),
    file: { bytes: fileBytes, bytesPerEvent: round(fileBytes / events, 3), inMemoryBytes: eng.log.byteLength },
    replay: { wallMs: rp.wallMs, cpuMs: rp.cpuMs, eventsPerSec: Math.round(events / (rp.wallMs / 1000)) },
    timeTravel: {
      buildMs: round(ttb.wallMs, 1),
      seeks: times.length,
      p50Ms: round(quantile(times, 0.5)),
      p90Ms: round(quantile(times, 0.9)),
      p99Ms: round(quantile(times, 0.99)),
      maxMs: round(Math.max(...times)),
      meanMs: round(mean(times)),
    },
    naive: {
      prefixEvents: P,
      naiveMs: round(naive.wallMs, 1),
      batchedMs: round(batched.wallMs, 1),
      slowdown: round(naive.wallMs / batched.wallMs, 2),
      naiveEventsPerSec: Math.round(P / (naive.wallMs / 1000)),
      extrapolatedFullReplayMs: round((naive.wallMs * events) / P, 0),
    },
  };
}

