/**
 * `splitGrowth`: how the cost of one VMA split grows with the number of VMAs in the mm.
 * One process maps a region and mprotects every other page of it read-only, one page
 * per syscall: each mprotect splits the VMA it lands in into three (issue 17's "one-page
 * mprotect splits alternating over one VMA"). The region is first split up to N VMAs
 * (not timed), then `window` more splits are timed; time per split at 32,768 VMAs ÷ at
 * 1,024 must stay ≤ 2 (O(log n) per syscall: the kernel's maple tree).
 */
import { ARENA_BASE, Kernel, PROT_READ, PROT_WRITE, doMmap, doMprotect } from '@mmsim/linux';
import { E, type Engine } from '@mmsim/core';
import { round, timed, type Clocks } from './stats.js';

export interface SplitJob {
  kind: 'splits';
  /** VMA counts to time a window of splits at (default 1024 and 32768) */
  at?: number[];
  /** splits timed at each count (default 1024) */
  window?: number;
  /** attach the invariant checkers (default true) */
  checkers?: boolean;
  /** timed repetitions at each count, best kept (default 3) */
  reps?: number;
}

export interface SplitPoint {
  vmas: number;
  splits: number;
  /** best of the repetitions: µs per split, on process CPU time and on the wall clock */
  usPerSplit: { cpu: number; wall: number };
  events: number;
}

export interface SplitResult {
  points: SplitPoint[];
  /** usPerSplit (cpu) at the largest count ÷ at the smallest */
  splitGrowth: number;
  /** the same on the wall clock */
  splitGrowthWall: number;
  checkers: string;
  violations: number;
}

type CheckerFn = (eng: Engine) => { count(): number };

async function loadCheckers(): Promise<CheckerFn | string> {
  try {
    const m = (await import('@mmsim/invariants')) as { attachCheckers?: CheckerFn };
    return typeof m.attachCheckers === 'function' ? m.attachCheckers : '@mmsim/invariants has no attachCheckers';
  } catch (e) {
    return (e as Error).message;
  }
}

/** One process whose mapping at ARENA_BASE is split one page at a time. */
class Splitter {
  readonly k = new Kernel({ config: { maxMapCount: 1 << 30 } });
  readonly mm: number;
  /** the next page (relative to ARENA_BASE) to mprotect */
  private next = 1;
  constructor(pages: number, chk: CheckerFn | null) {
    const eng = this.k.eng;
    if (chk) this.handle = chk(eng);
    this.mm = eng.ids.mm++;
    eng.emit(E.MmCreate, this.mm, 0);
    eng.commit();
    const k = this.k;
    const mm = this.mm;
    const r = eng.syscall('step:mmap', () => doMmap(k, mm, ARENA_BASE, pages, { prot: PROT_READ | PROT_WRITE, shared: false, fixed: false, noreserve: true }));
    if (!r.ok || (r.value as number) < 0) throw new Error(`splitGrowth: mmap of ${pages} pages failed`);
  }
  handle: { count(): number } | null = null;
  get vmas(): number {
    return this.k.mapCount(this.mm);
  }
  /** n one-page mprotects, each splitting one VMA into three */
  split(n: number): void {
    const k = this.k;
    const mm = this.mm;
    for (let i = 0; i < n; i++) {
      const at = ARENA_BASE + this.next;
      this.next += 2;
      const r = k.eng.syscall('step:mprotect', () => doMprotect(k, mm, at, 1, PROT_READ));
      if (!r.ok || r.value !== 0) throw new Error(`splitGrowth: mprotect at page ${this.next - 2} failed`);
    }
  }
}

export async function runSplitGrowth(job: SplitJob, progress: (phase: string, done: number, total: number) => void = () => {}): Promise<SplitResult> {
  const at = [...(job.at ?? [1024, 32768])].sort((a, b) => a - b);
  const window = job.window ?? 1024;
  const reps = job.reps ?? 3;
  const chk = job.checkers === false ? null : await loadCheckers();
  const checkFn = chk && typeof chk !== 'string' ? chk : null;
  const checkers = job.checkers === false ? 'off' : typeof chk === 'string' ? `unavailable: ${chk}` : 'on';
  // warm-up: the same syscalls until V8 has compiled them
  new Splitter(4 * window + 8, checkFn).split(2 * window);
  const top = at[at.length - 1];
  const s = new Splitter(top + 2 * (reps + 1) * window + 8, checkFn);
  const points: SplitPoint[] = [];
  for (const n of at) {
    // each split adds two VMAs: split up to n (not timed)
    const need = Math.max(0, Math.ceil((n - s.vmas) / 2));
    for (let done = 0; done < need; done += 1024) {
      progress(`split to ${n} VMAs`, done, need);
      s.split(Math.min(1024, need - done));
    }
    let best: Clocks | null = null;
    let events = 0;
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let r = 0; r < reps; r++) {
      progress(`time ${window} splits at ${n} VMAs`, r, reps);
      gc?.();
      const e0 = s.k.eng.log.length;
      const t = timed(() => s.split(window));
      events = s.k.eng.log.length - e0;
      if (!best || t.cpuMs < best.cpuMs) best = { cpuMs: t.cpuMs, wallMs: t.wallMs };
    }
    points.push({
      vmas: n,
      splits: window,
      usPerSplit: { cpu: round((best!.cpuMs * 1000) / window, 2), wall: round((best!.wallMs * 1000) / window, 2) },
      events,
    });
  }
  const lo = points[0].usPerSplit;
  const hi = points[points.length - 1].usPerSplit;
  return {
    points,
    splitGrowth: round(hi.cpu / lo.cpu, 2),
    splitGrowthWall: round(hi.wall / lo.wall, 2),
    checkers,
    violations: s.handle?.count() ?? 0,
  };
}
