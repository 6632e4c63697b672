/**
 * Seeded generator of oracle-safe `mmsim-scenario/1` scenarios. It keeps a rough model of
 * what every process has mapped (per page: prot, shared, faulted, THP advice,
 * DONTFORK/WIPEONFORK) so that most steps hit mapped memory and interesting boundaries,
 * while a share of steps deliberately take error paths.
 *
 * Layout of the arena (default 4096 pages), so that things interact without colliding:
 *   [0, 512)      the main zone: small mappings, carveouts, splits, merges, moves
 *   [512, 2048)   THP zone: 512-aligned mappings with MADV_HUGEPAGE
 *   [2048, end)   the "away" zone: targets of moves that come back later
 * Targets are sometimes chosen anywhere, so zones do mix.
 *
 * Kernel nondeterminism avoided on purpose (see /work/notes/fuzz-mismatches.md):
 * - mremap that may move without MREMAP_FIXED (MAYMOVE growth, DONTUNMAP without FIXED)
 *   lets the kernel pick the address top-down: a large request can land in a hole of
 *   the arena, depending on the (ASLR) layout above it. Those requests are kept
 *   <= MAX_FLOATING_PAGES pages so they always land outside the arena (page null), and
 *   mmap always passes a hint inside the arena (MAP_FIXED_NOREPLACE).
 */
import { parseScenario, type Scenario } from '@mmsim/scenario';
import { Rng } from './prng.js';

export interface GenerateOptions {
  /** roughly how many steps (default: random in [12, 40]) */
  steps?: number;
  /** arena size in pages (default 4096; at least 2048 keeps the THP cases) */
  arenaPages?: number;
  /** also use simulator-only ops (pin, unpin, ksm, swapout, thp): not runnable on a kernel */
  simOnly?: boolean;
}

/** Largest new size of an mremap whose destination the kernel chooses. */
export const MAX_FLOATING_PAGES = 64;

const R = 1;
const W = 2;
const X = 4;
// page flags
const SHARED = 1;
const FAULTED = 2;
const HUGE = 4;
const DONTFORK = 8;
const WIPE = 16;
const NORESERVE = 32;

const PROTS = ['rw-', 'r--', '---', 'rwx'] as const;
const ADVICES = [
  'DONTNEED', 'FREE', 'HUGEPAGE', 'NOHUGEPAGE', 'COLLAPSE', 'DONTFORK', 'DOFORK', 'WIPEONFORK', 'COLD', 'PAGEOUT', 'MERGEABLE', 'UNMERGEABLE',
  // the vm_flags advice (VM_RAND_READ, VM_SEQ_READ, VM_DONTDUMP, ...): they split and merge VMAs
  'NORMAL', 'RANDOM', 'SEQUENTIAL', 'DONTDUMP', 'DODUMP', 'KEEPONFORK',
] as const;

function protBits(p: string): number {
  return (p[0] === 'r' ? R : 0) | (p[1] === 'w' ? W : 0) | (p[2] === 'x' ? X : 0);
}

type RawStep = Record<string, unknown> & { op: string };

class ProcModel {
  /** 0 = unmapped, else prot bits + 1 */
  prot: Uint8Array;
  flags: Uint8Array;
  constructor(n: number, from?: ProcModel) {
    this.prot = from ? from.prot.slice() : new Uint8Array(n);
    this.flags = from ? from.flags.slice() : new Uint8Array(n);
  }
  mapped(p: number): boolean {
    return this.prot[p] !== 0;
  }
  /** maximal runs of mapped pages */
  runs(lo = 0, hi = this.prot.length): [number, number][] {
    const out: [number, number][] = [];
    let s = -1;
    for (let p = lo; p <= hi; p++) {
      const m = p < hi && this.prot[p] !== 0;
      if (m && s < 0) s = p;
      if (!m && s >= 0) {
        out.push([s, p]);
        s = -1;
      }
    }
    return out;
  }
  /** runs of pages with equal prot and sharedness (roughly the VMAs) */
  vmaRuns(): [number, number][] {
    const out: [number, number][] = [];
    const n = this.prot.length;
    let s = -1;
    for (let p = 0; p <= n; p++) {
      const key = p < n ? this.prot[p] * 2 + (this.flags[p] & SHARED) : 0;
      const prevKey = p > 0 ? this.prot[p - 1] * 2 + (this.flags[p - 1] & SHARED) : 0;
      if (s >= 0 && (p === n || key !== prevKey || this.prot[p] === 0)) {
        out.push([s, p]);
        s = -1;
      }
      if (p < n && this.prot[p] !== 0 && s < 0) s = p;
    }
    return out;
  }
  free(a: number, n: number): boolean {
    for (let p = a; p < a + n; p++) if (this.prot[p] !== 0) return false;
    return true;
  }
  anyMapped(a: number, n: number): boolean {
    return !this.free(a, n);
  }
  unmap(a: number, n: number): void {
    this.prot.fill(0, a, a + n);
    this.flags.fill(0, a, a + n);
  }
}

class Gen {
  readonly rng: Rng;
  readonly steps: RawStep[] = [];
  readonly procs = new Map<number, ProcModel>();
  nextProc = 1;
  forksLeft: number;
  labels = 0;
  constructor(
    seed: number,
    readonly arena: number,
    readonly simOnly: boolean,
  ) {
    this.rng = new Rng(seed);
    this.procs.set(0, new ProcModel(arena));
    this.forksLeft = this.rng.pick([0, 1, 1, 2, 2, 3]);
  }

  // ------------------------------------------------------------------ helpers

  live(): number[] {
    return [...this.procs.keys()].sort((a, b) => a - b);
  }
  /** process for the next step: mostly 0, sometimes a child */
  proc(): number {
    const l = this.live();
    if (l.length === 1 || this.rng.chance(0.55)) return l.includes(0) ? 0 : l[0];
    return this.rng.pick(l);
  }
  pm(proc: number): ProcModel {
    return this.procs.get(proc)!;
  }
  push(st: RawStep, proc: number): void {
    if (proc !== 0) st.proc = proc;
    this.steps.push(st);
  }
  clampRange(page: number, pages: number): [number, number] {
    page = Math.max(0, Math.min(this.arena - 1, page));
    pages = Math.max(1, Math.min(this.arena - page, pages));
    return [page, pages];
  }
  /** where new things go: mostly the main zone */
  zonePage(): number {
    const r = this.rng.next();
    if (r < 0.7) return this.rng.int(0, Math.min(480, this.arena - 32));
    if (r < 0.85) return this.rng.int(0, this.arena - 32);
    return this.rng.int(Math.min(2048, this.arena - 64), this.arena - 32);
  }
  /** a random sub-range of [s, e), often touching one of its ends */
  sub(s: number, e: number, maxLen = 64): [number, number] {
    const len = e - s;
    const n = Math.min(this.rng.size(Math.min(len, maxLen)), len);
    const r = this.rng.next();
    let a: number;
    if (r < 0.3) a = s;
    else if (r < 0.55) a = e - n;
    else a = this.rng.int(s, e - n);
    return [a, n];
  }
  /** a mapped range of `proc` (sub-range of one mapped run), or null */
  mappedRange(proc: number, maxLen = 64, byVma = false): [number, number] | null {
    const pm = this.pm(proc);
    const runs = byVma ? pm.vmaRuns() : pm.runs();
    if (!runs.length) return null;
    const [s, e] = this.rng.pick(runs);
    return this.sub(s, e, maxLen);
  }
  /** a range that may span several runs (and the gaps between them) */
  spanningRange(proc: number, maxLen = 96): [number, number] | null {
    const runs = this.pm(proc).runs();
    if (!runs.length) return null;
    const k = this.rng.int(0, runs.length - 1);
    const k2 = Math.min(runs.length - 1, k + this.rng.int(0, 2));
    let a = this.rng.chance(0.6) ? runs[k][0] : this.rng.int(runs[k][0], runs[k][1] - 1);
    let end = this.rng.chance(0.6) ? runs[k2][1] : this.rng.int(runs[k2][0] + 1, runs[k2][1]);
    if (end <= a) end = a + 1;
    if (end - a > maxLen) end = a + maxLen;
    if (this.rng.chance(0.1) && a > 0) a -= 1; // start in a gap: EFAULT paths
    return this.clampRange(a, end - a);
  }
  randomRange(maxLen = 32): [number, number] {
    return this.clampRange(this.zonePage(), this.rng.size(maxLen));
  }
  /** a free range of n pages (of proc), preferring places next to existing mappings */
  freeSpot(proc: number, n: number, avoid?: [number, number]): number | null {
    const pm = this.pm(proc);
    const ok = (a: number) =>
      a >= 0 && a + n <= this.arena && pm.free(a, n) && (!avoid || a + n <= avoid[0] || a >= avoid[0] + avoid[1]);
    const cands: number[] = [];
    if (this.rng.chance(0.65)) {
      for (const [s, e] of pm.runs()) {
        cands.push(e, s - n, e + 1, s - n - 1);
      }
    }
    const good = cands.filter(ok);
    if (good.length) return this.rng.pick(good);
    for (let t = 0; t < 20; t++) {
      const a = this.rng.chance(0.5) ? this.zonePage() : this.rng.int(0, this.arena - n);
      if (ok(a)) return a;
    }
    return null;
  }
  prot(): string {
    return PROTS[this.rng.weighted([6, 3, 2, 1])];
  }

  // ------------------------------------------------------------------ model updates

  applyMmap(proc: number, page: number, pages: number, prot: string, shared: boolean, fixed: boolean, noreserve: boolean): void {
    const pm = this.pm(proc);
    if (!fixed && pm.anyMapped(page, pages)) return; // EEXIST
    pm.prot.fill(protBits(prot) + 1, page, page + pages);
    pm.flags.fill((shared ? SHARED : 0) | (noreserve ? NORESERVE : 0), page, page + pages);
  }
  applyMprotect(proc: number, page: number, pages: number, prot: string): void {
    const pm = this.pm(proc);
    for (let p = page; p < page + pages && pm.mapped(p); p++) pm.prot[p] = protBits(prot) + 1;
  }
  applyTouch(proc: number, page: number, pages: number, write: boolean): void {
    const pm = this.pm(proc);
    for (let p = page; p < page + pages; p++) {
      const pr = pm.prot[p] - 1;
      if (pr < 0 || !(pr & R) || (write && !(pr & W))) break;
      pm.flags[p] |= FAULTED;
    }
  }
  applyMadvise(proc: number, page: number, pages: number, advice: string): void {
    const pm = this.pm(proc);
    for (let p = page; p < page + pages; p++) {
      if (!pm.mapped(p)) continue;
      switch (advice) {
        case 'DONTNEED':
          pm.flags[p] &= ~FAULTED;
          break;
        case 'HUGEPAGE':
          pm.flags[p] |= HUGE;
          break;
        case 'NOHUGEPAGE':
          pm.flags[p] &= ~HUGE;
          break;
        case 'DONTFORK':
          pm.flags[p] |= DONTFORK;
          break;
        case 'DOFORK':
          pm.flags[p] &= ~DONTFORK;
          break;
        case 'WIPEONFORK':
          if (!(pm.flags[p] & SHARED)) pm.flags[p] |= WIPE;
          break;
        case 'KEEPONFORK':
          pm.flags[p] &= ~WIPE;
          break;
      }
    }
  }
  applyFork(proc: number): number {
    const parent = this.pm(proc);
    const child = new ProcModel(this.arena, parent);
    for (let p = 0; p < this.arena; p++) {
      if (child.flags[p] & DONTFORK) {
        child.prot[p] = 0;
        child.flags[p] = 0;
      } else if (child.flags[p] & WIPE) child.flags[p] &= ~FAULTED;
    }
    const id = this.nextProc++;
    this.procs.set(id, child);
    return id;
  }
  /** move the mapped pages of [page, page+pages) to `to` (gaps kept); the source keeps its VMAs with DONTUNMAP */
  applyMove(proc: number, page: number, pages: number, to: number, newPages: number, dontunmap: boolean): void {
    const pm = this.pm(proc);
    const prot = pm.prot.slice(page, page + pages);
    const flags = pm.flags.slice(page, page + pages);
    if (dontunmap) {
      for (let p = page; p < page + pages; p++) pm.flags[p] &= ~FAULTED;
    } else pm.unmap(page, pages);
    if (to < 0) return; // moved out of the arena
    const keep = Math.min(pages, newPages);
    for (let q = 0; q < keep; q++) {
      if (prot[q] === 0) continue;
      pm.prot[to + q] = prot[q];
      pm.flags[to + q] = flags[q];
    }
    for (let q = keep; q < newPages; q++) {
      pm.prot[to + q] = prot[keep - 1] || prot[0];
      pm.flags[to + q] = flags[keep - 1] & ~FAULTED;
    }
  }

  // ------------------------------------------------------------------ emitters

  mmap(proc: number, page: number, pages: number, prot: string, o: { shared?: boolean; fixed?: boolean; noreserve?: boolean } = {}): void {
    [page, pages] = this.clampRange(page, pages);
    const st: RawStep = { op: 'mmap', page, pages, prot };
    if (o.shared) st.shared = true;
    if (o.fixed) st.fixed = true;
    if (o.noreserve) st.noreserve = true;
    this.push(st, proc);
    this.applyMmap(proc, page, pages, prot, !!o.shared, !!o.fixed, !!o.noreserve);
  }
  touch(proc: number, page: number, pages: number, write: boolean): void {
    [page, pages] = this.clampRange(page, pages);
    const st: RawStep = { op: 'touch', page, pages };
    if (!write) st.access = 'read';
    this.push(st, proc);
    this.applyTouch(proc, page, pages, write);
  }
  madvise(proc: number, page: number, pages: number, advice: string): void {
    [page, pages] = this.clampRange(page, pages);
    this.push({ op: 'madvise', page, pages, advice }, proc);
    this.applyMadvise(proc, page, pages, advice);
  }
  mprotect(proc: number, page: number, pages: number, prot: string): void {
    [page, pages] = this.clampRange(page, pages);
    this.push({ op: 'mprotect', page, pages, prot }, proc);
    this.applyMprotect(proc, page, pages, prot);
  }
  munmap(proc: number, page: number, pages: number): void {
    [page, pages] = this.clampRange(page, pages);
    this.push({ op: 'munmap', page, pages }, proc);
    this.pm(proc).unmap(page, pages);
  }
  fork(proc: number): number {
    this.push({ op: 'fork' }, proc);
    this.forksLeft--;
    return this.applyFork(proc);
  }
  mremapRaw(proc: number, page: number, pages: number, newPages: number, flags: string[], to?: number): boolean {
    if (page < 0 || pages < 1 || newPages < 1 || page + pages > this.arena) return false;
    if (to !== undefined ? to < 0 || to + newPages > this.arena : page + newPages > this.arena) return false;
    const st: RawStep = { op: 'mremap', page, pages };
    if (newPages !== pages) st.newPages = newPages;
    if (flags.length) st.flags = flags;
    if (to !== undefined) st.to = to;
    this.push(st, proc);
    return true;
  }
  snapshot(): void {
    this.steps.push({ op: 'snapshot', label: `s${++this.labels}` });
  }

  // ------------------------------------------------------------------ actions

  actMmap(): void {
    const proc = this.proc();
    const pm = this.pm(proc);
    let page: number;
    let pages: number;
    if (this.rng.chance(0.4) && pm.runs().length) {
      pages = this.rng.size(24);
      const spot = this.freeSpot(proc, pages);
      if (spot === null) return;
      page = spot;
    } else [page, pages] = this.randomRange(this.rng.chance(0.2) ? 128 : 24);
    const busy = pm.anyMapped(page, pages);
    const fixed = busy ? this.rng.chance(0.8) : this.rng.chance(0.2);
    this.mmap(proc, page, pages, this.prot(), {
      shared: this.rng.chance(0.1),
      fixed,
      noreserve: this.rng.chance(0.3),
    });
  }

  /** the selftests' pattern: a PROT_NONE carveout, pieces mapped over it with MAP_FIXED */
  actCarveout(): void {
    const proc = this.proc();
    const span = this.rng.int(12, 48);
    const base = this.freeSpot(proc, span) ?? this.rng.int(0, 480);
    this.mmap(proc, base, span, '---', { fixed: true, noreserve: this.rng.chance(0.3) });
    const n = this.rng.int(1, 4);
    const noreserve = this.rng.chance(0.5);
    let p = base + this.rng.int(0, 2);
    for (let k = 0; k < n && p < base + span - 1; k++) {
      const len = Math.min(this.rng.int(1, 8), base + span - p);
      this.mmap(proc, p, len, this.rng.chance(0.8) ? 'rw-' : this.prot(), { fixed: true, noreserve });
      if (this.rng.chance(0.5)) this.touch(proc, p + this.rng.int(0, len - 1), 1, true);
      p += len + this.rng.int(0, 3);
    }
  }

  actMunmap(): void {
    const proc = this.proc();
    const r = this.rng.chance(0.8) ? this.spanningRange(proc, 48) : this.randomRange();
    if (!r) return;
    this.munmap(proc, r[0], r[1]);
  }

  actMprotect(): void {
    const proc = this.proc();
    const r = this.rng.chance(0.85) ? (this.rng.chance(0.7) ? this.mappedRange(proc, 48, true) : this.spanningRange(proc)) : this.randomRange();
    if (!r) return;
    const pm = this.pm(proc);
    const old = pm.prot[r[0]] ? ['---', '--x', '-w-', '-wx', 'r--', 'r-x', 'rw-', 'rwx'][pm.prot[r[0]] - 1] : 'rw-';
    this.mprotect(proc, r[0], r[1], this.prot());
    if (this.rng.chance(0.3)) this.touch(proc, r[0], Math.min(r[1], 4), true);
    if (this.rng.chance(0.4)) this.mprotect(proc, r[0], r[1], old); // back: re-merge
  }

  actMadvise(): void {
    const proc = this.proc();
    const r = this.rng.chance(0.85) ? (this.rng.chance(0.6) ? this.mappedRange(proc, 64) : this.spanningRange(proc)) : this.randomRange();
    if (!r) return;
    this.madvise(proc, r[0], r[1], this.rng.pick(ADVICES));
  }

  actTouch(): void {
    const proc = this.proc();
    const write = this.rng.chance(0.65);
    let r: [number, number] | null;
    const x = this.rng.next();
    if (x < 0.8) r = this.mappedRange(proc, 32);
    else if (x < 0.92) r = this.spanningRange(proc, 32);
    else r = this.randomRange(8);
    if (!r) return;
    this.touch(proc, r[0], Math.min(r[1], 32), write);
  }

  actFork(): void {
    if (this.forksLeft <= 0) return;
    const proc = this.proc();
    const child = this.fork(proc);
    // COW: writes on faulted memory in parent and/or child
    if (this.rng.chance(0.7)) {
      const who = this.rng.pick([proc, child, proc, child]);
      const r = this.faultedRange(who);
      if (r) this.touch(who, r[0], r[1], this.rng.chance(0.8));
    }
  }

  faultedRange(proc: number): [number, number] | null {
    const pm = this.pm(proc);
    const pages: number[] = [];
    for (let p = 0; p < this.arena; p++) if (pm.flags[p] & FAULTED) pages.push(p);
    if (!pages.length) return this.mappedRange(proc, 8);
    const a = this.rng.pick(pages);
    let n = 1;
    while (n < 8 && a + n < this.arena && pm.flags[a + n] & FAULTED && this.rng.chance(0.7)) n++;
    return [a, n];
  }

  actCow(): void {
    const l = this.live();
    if (l.length < 2) return;
    const proc = this.rng.pick(l);
    const r = this.faultedRange(proc);
    if (r) this.touch(proc, r[0], r[1], this.rng.chance(0.75));
  }

  actExit(): void {
    const kids = this.live().filter((p) => p !== 0);
    if (!kids.length) return;
    const p = this.rng.pick(kids);
    this.push({ op: 'exit' }, p);
    this.procs.delete(p);
  }

  actForkFlags(): void {
    if (this.forksLeft <= 0) return;
    const proc = this.proc();
    const r = this.mappedRange(proc, 16);
    if (!r) return;
    if (this.rng.chance(0.6)) this.touch(proc, r[0], r[1], true);
    this.madvise(proc, r[0], r[1], this.rng.pick(['DONTFORK', 'WIPEONFORK', 'WIPEONFORK', 'DOFORK']));
    const child = this.fork(proc);
    if (this.rng.chance(0.6)) this.touch(child, r[0], r[1], this.rng.chance(0.5));
    if (this.rng.chance(0.3)) this.snapshot();
  }

  /** 512-aligned MADV_HUGEPAGE regions, faulted; then moved, split, forked, zapped */
  actThp(): void {
    const proc = this.proc();
    const pm = this.pm(proc);
    const slots: number[] = [];
    for (let a = 512; a + 512 <= Math.min(this.arena, 2048); a += 512) slots.push(a);
    if (!slots.length) return;
    const base = this.rng.pick(slots);
    const len = this.rng.chance(0.7) ? 512 : Math.min(1024, this.arena - base);
    const fresh = pm.free(base, len);
    if (fresh || this.rng.chance(0.3)) {
      const lead = this.rng.chance(0.2) ? this.rng.int(1, 8) : 0; // sometimes unaligned start
      const [p, n] = this.clampRange(base - lead, len + lead);
      this.mmap(proc, p, n, 'rw-', { fixed: !fresh, noreserve: this.rng.chance(0.3) });
      if (this.rng.chance(0.85)) this.madvise(proc, base, this.rng.chance(0.8) ? len : this.rng.int(1, len), 'HUGEPAGE');
    }
    const k = this.rng.int(1, 3);
    for (let t = 0; t < k; t++) {
      const off = this.rng.chance(0.5) ? 0 : this.rng.int(0, len - 1);
      this.touch(proc, base + off, this.rng.int(1, 3), this.rng.chance(0.7));
    }
    const x = this.rng.next();
    if (x < 0.2) {
      // split the PMD with mprotect of a part, maybe back
      const [a, n] = this.sub(base, base + 512, 64);
      this.mprotect(proc, a, n, 'r--');
      if (this.rng.chance(0.5)) this.mprotect(proc, a, n, 'rw-');
    } else if (x < 0.4) {
      // move the whole PMD elsewhere (aligned or not) and maybe back
      const aligned = this.rng.chance(0.5);
      let to = aligned ? this.rng.pick([2048, 2560, 3072, 3584].filter((a) => a + 512 <= this.arena)) : undefined;
      if (to === undefined) to = this.freeSpot(proc, 512, [base, 512]) ?? undefined;
      if (to !== undefined && (to + 512 <= base || to >= base + 512)) {
        if (this.mremapRaw(proc, base, 512, 512, ['MAYMOVE', 'FIXED'], to)) this.applyMove(proc, base, 512, to, 512, false);
        if (this.rng.chance(0.5)) this.touch(proc, to + this.rng.int(0, 511), 1, true);
        if (this.rng.chance(0.5)) {
          if (this.mremapRaw(proc, to, 512, 512, ['MAYMOVE', 'FIXED'], base)) this.applyMove(proc, to, 512, base, 512, false);
        }
      }
    } else if (x < 0.55) {
      if (this.forksLeft > 0) {
        const child = this.fork(proc);
        const who = this.rng.pick([proc, child]);
        this.touch(who, base + this.rng.int(0, 511), this.rng.int(1, 2), true);
      }
    } else if (x < 0.7) {
      const [a, n] = this.sub(base, base + 512, 64);
      this.madvise(proc, a, n, this.rng.pick(['DONTNEED', 'FREE', 'COLLAPSE', 'NOHUGEPAGE']));
    } else if (x < 0.8) {
      const [a, n] = this.sub(base, base + 512, 64);
      this.munmap(proc, a, n);
    } else if (x < 0.9) {
      // partial move out of the PMD
      const [a, n] = this.sub(base, base + 512, 32);
      const to = this.freeSpot(proc, n, [a, n]);
      if (to !== null) {
        if (this.mremapRaw(proc, a, n, n, ['MAYMOVE', 'FIXED'], to)) this.applyMove(proc, a, n, to, n, false);
      }
    }
    if (this.rng.chance(0.3)) this.snapshot();
  }

  /** small pages in a 512-aligned range, then MADV_COLLAPSE (with or without MADV_HUGEPAGE) */
  actCollapse(): void {
    const proc = this.proc();
    const pm = this.pm(proc);
    const slots: number[] = [];
    for (let a = 512; a + 512 <= this.arena; a += 512) slots.push(a);
    if (!slots.length) return;
    const base = this.rng.pick(slots);
    if (!pm.free(base, 512) && this.rng.chance(0.5)) return;
    this.mmap(proc, base, 512, 'rw-', { fixed: !pm.free(base, 512), noreserve: this.rng.chance(0.3) });
    if (this.rng.chance(0.3)) this.madvise(proc, base, 512, 'NOHUGEPAGE');
    const k = this.rng.int(1, 4);
    for (let t = 0; t < k; t++) this.touch(proc, base + this.rng.int(0, 500), this.rng.int(1, 8), this.rng.chance(0.75));
    if (this.rng.chance(0.4)) this.madvise(proc, base, 512, 'HUGEPAGE');
    const whole = this.rng.chance(0.7);
    this.madvise(proc, whole ? base : base + this.rng.int(0, 300), whole ? 512 : this.rng.int(1, 200), 'COLLAPSE');
    const x = this.rng.next();
    if (x < 0.3 && this.forksLeft > 0) {
      const child = this.fork(proc);
      this.touch(this.rng.pick([proc, child]), base + this.rng.int(0, 511), 1, true);
    } else if (x < 0.5) this.munmap(proc, base + this.rng.int(0, 511), this.rng.int(1, 8));
    else if (x < 0.65) {
      // move the region (PMD move when aligned), then touch
      const to = this.rng.pick([2048, 2560, 3072, 3584, 2048 + this.rng.int(1, 500)].filter((a) => a + 512 <= this.arena));
      if (to !== undefined && (to >= base + 512 || to + 512 <= base) && this.mremapRaw(proc, base, 512, 512, ['MAYMOVE', 'FIXED'], to)) {
        this.applyMove(proc, base, 512, to, 512, false);
        this.touch(proc, to + this.rng.int(0, 511), 1, this.rng.chance(0.5));
      }
    }
    if (this.rng.chance(0.4)) this.snapshot();
  }

  /** shared (shmem) mappings: fork, fault-around, DONTNEED, resize beyond/within i_size, moves */
  actShared(): void {
    const proc = this.proc();
    const pm = this.pm(proc);
    const n = this.rng.int(2, 40);
    const at = this.freeSpot(proc, n + 8) ?? this.rng.int(0, 480);
    this.mmap(proc, at, n, this.rng.chance(0.8) ? 'rw-' : this.prot(), { shared: true, fixed: !pm.free(at, n) });
    const k = this.rng.int(1, 3);
    for (let t = 0; t < k; t++) this.touch(proc, at + this.rng.int(0, n - 1), this.rng.int(1, 4), this.rng.chance(0.6));
    let other = proc;
    if (this.forksLeft > 0 && this.rng.chance(0.6)) other = this.fork(proc);
    const x = this.rng.next();
    if (x < 0.25) this.madvise(other, at + this.rng.int(0, n - 1), this.rng.int(1, n), this.rng.pick(['DONTNEED', 'FREE', 'WIPEONFORK', 'DONTFORK', 'COLLAPSE']));
    else if (x < 0.45) {
      const np = this.rng.chance(0.5) ? this.rng.int(1, n - 1 || 1) : n + this.rng.int(1, 8);
      const to = this.moveTarget(other, np, [at, n]);
      if (to !== null && this.mremapRaw(other, at, n, np, ['MAYMOVE', 'FIXED'], to)) this.applyMove(other, at, n, to, np, false);
    } else if (x < 0.6) {
      if (this.mremapRaw(other, at, n, Math.max(1, n - this.rng.int(1, n)), [])) this.pm(other).unmap(at + 1, n - 1);
    } else if (x < 0.75) this.mprotect(other, at + this.rng.int(0, n - 1), this.rng.int(1, 8), this.prot());
    this.touch(other, at + this.rng.int(0, n - 1), this.rng.int(1, 8), this.rng.chance(0.4));
    if (this.rng.chance(0.4)) this.touch(proc, at + this.rng.int(0, n - 1), this.rng.int(1, 8), this.rng.chance(0.5));
    if (this.rng.chance(0.3)) this.snapshot();
  }

  /** more THP shapes: huge zero page, partial VMAs over a PMD, moves across PMD boundaries, DONTUNMAP, growth */
  actThp2(): void {
    const proc = this.proc();
    const pm = this.pm(proc);
    const slots: number[] = [];
    for (let a = 512; a + 1024 <= this.arena; a += 512) slots.push(a);
    if (!slots.length) return;
    const base = this.rng.pick(slots);
    if (!pm.free(base, 512) && this.rng.chance(0.5)) return;
    const len = this.rng.pick([512, 512, 300, 520, 1024]);
    const lead = this.rng.chance(0.3) ? this.rng.int(1, 16) : 0;
    const [p, n] = this.clampRange(base - lead, len + lead);
    this.mmap(proc, p, n, 'rw-', { fixed: !pm.free(p, n), noreserve: this.rng.chance(0.3) });
    this.madvise(proc, p, n, 'HUGEPAGE');
    this.touch(proc, base + this.rng.int(0, 511), this.rng.int(1, 2), this.rng.chance(0.5)); // read: huge zero page
    const x = this.rng.next();
    if (x < 0.15) {
      const [a, m] = this.sub(base, base + 512, 64);
      this.mprotect(proc, a, m, this.rng.pick(['r--', '---']));
      this.touch(proc, base + this.rng.int(0, 511), 1, true);
    } else if (x < 0.3) {
      // move across a PMD boundary: source straddles base+512 or destination unaligned
      const a = base + 512 - this.rng.int(1, 32);
      const m = this.rng.int(2, 64);
      const to = this.moveTarget(proc, m, [a, m]);
      if (to !== null && this.mremapRaw(proc, a, m, m, ['MAYMOVE', 'FIXED'], to)) this.applyMove(proc, a, m, to, m, false);
    } else if (x < 0.45) {
      const to = this.rng.pick([2048, 2560, 3072, 3584].filter((t) => t + 512 <= this.arena && (t >= p + n || t + 512 <= p)));
      if (to !== undefined && this.mremapRaw(proc, base, 512, 512, ['MAYMOVE', 'FIXED', 'DONTUNMAP'], to)) {
        this.applyMove(proc, base, 512, to, 512, true);
        this.touch(proc, base + this.rng.int(0, 511), 1, this.rng.chance(0.5));
      }
    } else if (x < 0.6) {
      // grow in place (no flags) by whole or partial PMDs
      if (this.mremapRaw(proc, p, n, Math.min(n + this.rng.pick([1, 100, 512]), this.arena - p), []))
        this.touch(proc, p + n + this.rng.int(0, 0), 1, true);
    } else if (x < 0.75 && this.forksLeft > 0) {
      const child = this.fork(proc);
      this.touch(this.rng.pick([proc, child]), base + this.rng.int(0, 511), 1, true);
      if (this.rng.chance(0.5)) this.madvise(proc, base, 512, this.rng.pick(['COLLAPSE', 'DONTNEED', 'FREE']));
      if (this.rng.chance(0.4)) {
        this.push({ op: 'exit' }, child);
        this.procs.delete(child);
        this.touch(proc, base + this.rng.int(0, 511), 1, true);
      }
    } else if (x < 0.85) {
      this.munmap(proc, base + this.rng.pick([0, 256, 511]), this.rng.int(1, 64));
      this.touch(proc, base + this.rng.int(0, 511), 2, true);
    }
    if (this.rng.chance(0.4)) this.snapshot();
  }

  actMremap(): void {
    const proc = this.proc();
    const pm = this.pm(proc);
    const kind = this.rng.weighted([
      /* 0 shrink */ 3, /* 1 grow in place */ 3, /* 2 grow MAYMOVE */ 2, /* 3 fixed move */ 6, /* 4 fixed resize */ 2,
      /* 5 dontunmap */ 2, /* 6 away and back */ 3, /* 7 errors */ 3,
    ]);
    switch (kind) {
      case 0: {
        const r = this.mappedRange(proc, 48, this.rng.chance(0.7));
        if (!r || r[1] < 2) return;
        const newPages = this.rng.int(1, r[1] - 1);
        const flags = this.rng.chance(0.3) ? ['MAYMOVE'] : [];
        if (this.mremapRaw(proc, r[0], r[1], newPages, flags)) pm.unmap(r[0] + newPages, r[1] - newPages);
        return;
      }
      case 1:
      case 2: {
        const runs = pm.vmaRuns();
        if (!runs.length) return;
        const [s, e] = this.rng.pick(runs);
        const a = this.rng.chance(0.6) ? s : this.rng.int(s, e - 1);
        const pages = this.rng.chance(0.85) ? e - a : this.rng.int(1, e - a);
        const max = kind === 2 ? MAX_FLOATING_PAGES : 32;
        const newPages = Math.min(pages + this.rng.int(1, 16), max, this.arena - a);
        if (newPages <= pages) return;
        const flags = kind === 2 ? ['MAYMOVE'] : [];
        if (!this.mremapRaw(proc, a, pages, newPages, flags)) return;
        const inPlace = a + pages === e && pm.free(e, newPages - pages);
        if (inPlace) this.applyMove(proc, a, pages, a, newPages, false);
        else if (kind === 2 && a + pages === e) this.applyMove(proc, a, pages, -1, newPages, false);
        return;
      }
      case 3: {
        const r = this.rng.chance(0.5) ? this.spanningRange(proc, 48) : this.mappedRange(proc, 32);
        if (!r) return;
        const to = this.moveTarget(proc, r[1], r);
        if (to === null) return;
        if (!this.mremapRaw(proc, r[0], r[1], r[1], ['MAYMOVE', 'FIXED'], to)) return;
        if (pm.mapped(r[0])) this.applyMove(proc, r[0], r[1], to, r[1], false);
        if (this.rng.chance(0.3)) this.touch(proc, to, Math.min(r[1], 4), true);
        return;
      }
      case 4: {
        const r = this.mappedRange(proc, 32, true);
        if (!r) return;
        const newPages = Math.max(1, r[1] + this.rng.pick([-3, -2, -1, 1, 2, 4, 8]));
        const to = this.moveTarget(proc, newPages, r);
        if (to === null) return;
        if (this.mremapRaw(proc, r[0], r[1], newPages, ['MAYMOVE', 'FIXED'], to)) this.applyMove(proc, r[0], r[1], to, newPages, false);
        return;
      }
      case 5: {
        const r = this.mappedRange(proc, 32, true);
        if (!r) return;
        if (this.rng.chance(0.7)) {
          const to = this.moveTarget(proc, r[1], r);
          if (to === null) return;
          if (this.mremapRaw(proc, r[0], r[1], r[1], ['MAYMOVE', 'FIXED', 'DONTUNMAP'], to)) this.applyMove(proc, r[0], r[1], to, r[1], true);
        } else {
          const n = Math.min(r[1], MAX_FLOATING_PAGES);
          if (this.mremapRaw(proc, r[0], n, n, ['MAYMOVE', 'DONTUNMAP'])) this.applyMove(proc, r[0], n, -1, n, true);
        }
        if (this.rng.chance(0.4)) this.touch(proc, r[0], Math.min(r[1], 4), this.rng.chance(0.5));
        return;
      }
      case 6: {
        const r = this.rng.chance(0.6) ? this.mappedRange(proc, 32) : this.spanningRange(proc, 32);
        if (!r || !pm.mapped(r[0])) return;
        const away = this.freeSpot(proc, r[1], r);
        if (away === null) return;
        if (this.mremapRaw(proc, r[0], r[1], r[1], ['MAYMOVE', 'FIXED'], away)) this.applyMove(proc, r[0], r[1], away, r[1], false);
        // something in between
        const y = this.rng.next();
        if (y < 0.3) this.touch(proc, away, Math.min(r[1], 3), true);
        else if (y < 0.5) this.touch(proc, r[0] > 0 ? r[0] - 1 : r[0] + r[1], 1, true);
        else if (y < 0.6) this.mprotect(proc, away, r[1], this.prot());
        const back = this.rng.chance(0.75) ? r[0] : Math.max(0, Math.min(this.arena - r[1], r[0] + this.rng.pick([-2, -1, 1, 2])));
        if (back + r[1] <= away || back >= away + r[1]) {
          if (this.mremapRaw(proc, away, r[1], r[1], ['MAYMOVE', 'FIXED'], back)) this.applyMove(proc, away, r[1], back, r[1], false);
        }
        return;
      }
      default:
        this.mremapError(proc);
    }
  }

  /** a FIXED target for n pages that does not overlap `src` */
  moveTarget(proc: number, n: number, src: [number, number]): number | null {
    const pm = this.pm(proc);
    const ok = (a: number) => a >= 0 && a + n <= this.arena && (a + n <= src[0] || a >= src[0] + src[1]);
    const x = this.rng.next();
    if (x < 0.55) {
      const f = this.freeSpot(proc, n, src);
      if (f !== null) return f;
    }
    if (x < 0.8) {
      // over an existing mapping (destination unmapped first), or right next to one
      const runs = pm.runs();
      for (let t = 0; t < 6 && runs.length; t++) {
        const [s, e] = this.rng.pick(runs);
        const a = this.rng.pick([s, e, s - n, e - n, this.rng.int(s, e - 1)]);
        if (ok(a)) return a;
      }
    }
    for (let t = 0; t < 10; t++) {
      const a = this.rng.int(0, this.arena - n);
      if (ok(a)) return a;
    }
    return null;
  }

  mremapError(proc: number): void {
    const r = this.mappedRange(proc, 16) ?? this.randomRange(8);
    const [a, n] = r;
    const e = this.rng.int(0, 6);
    switch (e) {
      case 0: {
        // overlapping FIXED move
        const to = Math.max(0, Math.min(this.arena - n, a + this.rng.int(-n + 1, n - 1)));
        this.mremapRaw(proc, a, n, n, ['MAYMOVE', 'FIXED'], to);
        return;
      }
      case 1: {
        // FIXED without MAYMOVE
        const to = this.rng.int(0, this.arena - n);
        this.mremapRaw(proc, a, n, n, ['FIXED'], to);
        return;
      }
      case 2: {
        // DONTUNMAP with a resize / without MAYMOVE
        const to = this.moveTarget(proc, n + 1, r);
        if (to === null) return;
        if (this.rng.chance(0.5)) this.mremapRaw(proc, a, n, n + 1, ['MAYMOVE', 'FIXED', 'DONTUNMAP'], to);
        else this.mremapRaw(proc, a, n, n, ['DONTUNMAP']);
        return;
      }
      case 3: {
        // non-move growth over a range spanning VMAs
        const s = this.spanningRange(proc, 24);
        if (!s) return;
        const np = Math.min(s[1] + this.rng.int(1, 8), this.arena - s[0], 32);
        if (np <= s[1]) return;
        this.mremapRaw(proc, s[0], s[1], np, this.rng.chance(0.5) ? ['MAYMOVE'] : []);
        return;
      }
      case 4: {
        // range starting in a gap / unmapped
        const pm = this.pm(proc);
        let p = this.rng.int(0, this.arena - 4);
        for (let t = 0; t < 20 && pm.mapped(p); t++) p = this.rng.int(0, this.arena - 4);
        const to = this.moveTarget(proc, 4, [p, 4]);
        if (to === null) return;
        if (!this.mremapRaw(proc, p, 4, 4, ['MAYMOVE', 'FIXED'], to) || !pm.mapped(p)) return;
        this.applyMove(proc, p, 4, to, 4, false);
        return;
      }
      case 5: {
        // shrink of a range spanning several VMAs (allowed), or same size no-op
        const s = this.spanningRange(proc, 24);
        if (!s) return;
        if (s[1] < 2 || this.rng.chance(0.3)) this.mremapRaw(proc, s[0], s[1], s[1], []);
        else {
          const np = this.rng.int(1, s[1] - 1);
          if (this.mremapRaw(proc, s[0], s[1], np, [])) this.pm(proc).unmap(s[0] + np, s[1] - np);
        }
        return;
      }
      default: {
        // FIXED resize from a range spanning VMAs: EFAULT
        const s = this.spanningRange(proc, 24);
        if (!s) return;
        const to = this.moveTarget(proc, s[1] + 1, s);
        if (to === null) return;
        this.mremapRaw(proc, s[0], s[1], s[1] + 1, ['MAYMOVE', 'FIXED'], to);
      }
    }
  }

  actSimOnly(): void {
    const proc = this.proc();
    const r = this.mappedRange(proc, 16);
    if (!r) return;
    const op = this.rng.pick(['pin', 'unpin', 'ksm', 'swapout', 'thp']);
    if (op === 'thp') this.push({ op, page: r[0] }, proc);
    else this.push({ op, page: r[0], pages: r[1] }, proc);
  }

  run(target: number): RawStep[] {
    // always start with something mapped
    if (this.rng.chance(0.35)) this.actCarveout();
    else this.actMmap();
    const weights = () => [
      /* mmap */ 9,
      /* carveout */ 2,
      /* munmap */ 4,
      /* mprotect */ 8,
      /* madvise */ 7,
      /* touch */ 14,
      /* mremap */ 16,
      /* fork */ this.forksLeft > 0 ? 3 : 0,
      /* forkflags */ this.forksLeft > 0 ? 1.5 : 0,
      /* cow */ this.procs.size > 1 ? 5 : 0,
      /* exit */ this.procs.size > 1 ? 1.2 : 0,
      /* snapshot */ 2.5,
      /* thp */ this.arena >= 1024 ? 3.5 : 0,
      /* sim-only */ this.simOnly ? 4 : 0,
      /* collapse */ this.arena >= 1024 ? 1.5 : 0,
      /* shared */ 2,
      /* thp2 */ this.arena >= 2048 ? 2.5 : 0,
    ];
    let guard = 0;
    while (this.steps.length < target && guard++ < target * 20) {
      switch (this.rng.weighted(weights())) {
        case 0:
          this.actMmap();
          break;
        case 1:
          this.actCarveout();
          break;
        case 2:
          this.actMunmap();
          break;
        case 3:
          this.actMprotect();
          break;
        case 4:
          this.actMadvise();
          break;
        case 5:
          this.actTouch();
          break;
        case 6:
          this.actMremap();
          break;
        case 7:
          this.actFork();
          break;
        case 8:
          this.actForkFlags();
          break;
        case 9:
          this.actCow();
          break;
        case 10:
          this.actExit();
          break;
        case 11:
          this.snapshot();
          break;
        case 12:
          this.actThp();
          break;
        case 13:
          this.actSimOnly();
          break;
        case 14:
          this.actCollapse();
          break;
        case 15:
          this.actShared();
          break;
        case 16:
          this.actThp2();
          break;
      }
    }
    return this.steps;
  }
}

/**
 * A random valid scenario for `seed` (same seed and options, same scenario). Oracle-safe
 * unless `simOnly` is set.
 */
export function generateScenario(seed: number, opts: GenerateOptions = {}): Scenario {
  const arena = Math.max(64, opts.arenaPages ?? 4096);
  const g = new Gen(seed, arena, !!opts.simOnly);
  const target = opts.steps ?? g.rng.int(12, 40);
  const steps = g.run(target);
  const raw = {
    format: 'mmsim-scenario/1',
    name: `fuzz-${(seed >>> 0).toString(16).padStart(8, '0')}`,
    arena: { pages: arena },
    steps,
  };
  return parseScenario(raw);
}
