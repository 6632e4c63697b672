/**
 * One non-concurrent step of a scenario as kernel code (runStep), and the processes a run
 * has (Procs). Its own module so that the concurrent step's tasks (concurrent.ts) and the
 * sequential runner (run.ts) both build on it without importing each other.
 */
import { E, FOLIO_SWAPCACHE, FolioCounter, MREMAP_FLAG_BITS, PTE_SWP_EXCLUSIVE, pageAnonExclusive, ptePfn, type KGen } from '@mmsim/core';
import {
  ARENA_BASE,
  Kernel,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  doMadvise,
  doMmap,
  doMprotect,
  doMremap,
  doMunmap,
  dupMmap,
  errnoName,
  exitMmap,
  folioOf,
  folioRemoveRmapPte,
  folioTestAnon,
  getPte,
  handleMmFault,
  isZeroPte,
  markKsm,
  ptlLock,
  ptlUnlock,
  userAccess,
  vmaLookupIn,
} from '@mmsim/linux';
import type { Scenario, Step, StepResult } from '@mmsim/scenario';

function parseProt(p: string): number {
  return (p[0] === 'r' ? PROT_READ : 0) | (p[1] === 'w' ? PROT_WRITE : 0) | (p[2] === 'x' ? PROT_EXEC : 0);
}

/** Pages of the arena as the spec reports them: null outside it. */
function arenaPage(vpn: number, pages: number): number | null {
  const p = vpn - ARENA_BASE;
  return p >= 0 && p < pages ? p : null;
}

export class Procs {
  /** proc id -> mm id (live processes) */
  readonly live = new Map<number, number>();
  nextProc = 0;
  sorted(): [number, number][] {
    return [...this.live.entries()].sort((a, b) => a[0] - b[0]);
  }
}

/** One step as kernel code: returns its result. */
export function* runStep(k: Kernel, s: Scenario, procs: Procs, step: Step): KGen<StepResult> {
  const base = ARENA_BASE;
  const mm = procs.live.get(step.proc);
  if (mm === undefined) throw new Error(`process ${step.proc} does not exist`);
  const asResult = (r: number, withPage: boolean): StepResult =>
    r < 0 ? { ok: false, errno: errnoName(r) } : withPage ? { ok: true, page: arenaPage(r, s.arena.pages) } : { ok: true };
  switch (step.op) {
    case 'mmap': {
      const r = yield* doMmap(k, mm, base + step.page, step.pages, {
        prot: parseProt(step.prot),
        shared: step.shared,
        fixed: step.fixed,
        noreserve: step.noreserve,
      });
      return asResult(r, true);
    }
    case 'munmap':
      return asResult(yield* doMunmap(k, mm, base + step.page, step.pages), false);
    case 'mprotect':
      return asResult(yield* doMprotect(k, mm, base + step.page, step.pages, parseProt(step.prot)), false);
    case 'madvise':
      return asResult(yield* doMadvise(k, mm, base + step.page, step.pages, step.advice), false);
    case 'mremap': {
      let flags = 0;
      for (const f of step.flags) flags |= MREMAP_FLAG_BITS[f];
      const to = step.to === undefined ? 0 : base + step.to;
      return asResult(yield* doMremap(k, mm, base + step.page, step.pages, step.newPages, flags, to), true);
    }
    case 'touch': {
      const write = step.access === 'write';
      for (let i = 0; i < step.pages; i++) {
        const out = yield* userAccess(k, mm, base + step.page + i, write);
        if (out !== 'ok') return { ok: false, signal: out, page: step.page + i };
      }
      return { ok: true };
    }
    case 'fork': {
      const child = k.eng.ids.mm++;
      k.eng.emit(E.MmCreate, child, mm);
      yield* dupMmap(k, mm, child);
      procs.live.set(procs.nextProc++, child);
      return { ok: true };
    }
    case 'exit':
      yield* exitMmap(k, mm);
      procs.live.delete(step.proc);
      return { ok: true };
    case 'pin':
    case 'unpin':
      yield* pinRange(k, mm, base + step.page, step.pages, step.op === 'pin');
      return { ok: true };
    case 'ksm':
      // ksmd scans an mm under mmap_read_lock()
      yield* k.eng.lock(Kernel.mmapLock(mm), 1, 'sleep');
      for (let i = 0; i < step.pages; i++) yield* markKsm(k, mm, base + step.page + i);
      yield* k.eng.unlock(Kernel.mmapLock(mm), 1, 'sleep');
      return { ok: true };
    case 'swapout':
      yield* swapoutRange(k, mm, base + step.page, step.pages);
      return { ok: true };
    case 'thp': {
      // a THP write fault, as a fault does it: under mmap_read_lock()
      const vpn = base + step.page;
      yield* k.eng.lock(Kernel.mmapLock(mm), 1, 'sleep');
      const vma = vmaLookupIn(k, mm, vpn);
      if (vma && !getPte(k, mm, vpn)) yield* handleMmFault(k, vma.id, vpn, true, true);
      yield* k.eng.unlock(Kernel.mmapLock(mm), 1, 'sleep');
      return { ok: true };
    }
    case 'snapshot':
    case 'concurrent':
      return { ok: true }; // handled by ScenarioRun
  }
}

/**
 * pin/unpin: a long-term FOLL_PIN (GUP with FOLL_WRITE|FOLL_LONGTERM): the page is
 * faulted in writable first (breaking COW), then its folio's pincount goes up.
 */
export function* pinRange(k: Kernel, mm: number, start: number, pages: number, pin: boolean): KGen<void> {
  for (let vpn = start; vpn < start + pages; vpn++) {
    if (pin) {
      const out = yield* userAccess(k, mm, vpn, true);
      if (out !== 'ok') continue;
    }
    const pte = getPte(k, mm, vpn);
    if (pte <= 0 || isZeroPte(pte)) continue;
    const f = folioOf(k, ptePfn(pte));
    if (!pin && f.pincount === 0) continue;
    k.eng.emit(E.FolioCount, f.pfn, FolioCounter.Pincount, pin ? 1 : -1);
    k.eng.emit(E.FolioCount, f.pfn, FolioCounter.Refcount, pin ? 1 : -1);
  }
}

/**
 * swapout: exclusive small anon folios are written to swap: the PTE becomes a swap entry
 * and the folio stays in the swap cache (keeping its index and mapping) until swapped
 * in or its last swap reference goes.
 */
function* swapoutRange(k: Kernel, mm: number, start: number, pages: number): KGen<void> {
  for (let vpn = start; vpn < start + pages; vpn++) {
    const pte = getPte(k, mm, vpn);
    if (pte <= 0 || isZeroPte(pte)) continue;
    const pfn = ptePfn(pte);
    const f = folioOf(k, pfn);
    if (!folioTestAnon(f) || f.order > 0 || f.pincount > 0 || f.pageMapcount[0] !== 1 || f.flags & FOLIO_SWAPCACHE) continue;
    const slot = k.eng.ids.swap++;
    yield* k.eng.lock(Kernel.folioLock(pfn), 0, 'sleep');
    k.eng.emit(E.FolioFlags, pfn, FOLIO_SWAPCACHE, 0);
    k.eng.emit(E.SwapCache, slot, pfn);
    yield* ptlLock(k, mm, vpn);
    k.eng.emit(E.SwapCount, slot, 1);
    k.eng.emit(E.PteSwap, mm, vpn, slot, pageAnonExclusive(f, pfn) ? PTE_SWP_EXCLUSIVE : 0);
    folioRemoveRmapPte(k, pfn); // the mapping's reference becomes the swap cache's
    if (pageAnonExclusive(f, pfn)) k.eng.emit(E.PageAnonExclusive, pfn, 0);
    yield* ptlUnlock(k, mm, vpn);
    yield* k.eng.unlock(Kernel.folioLock(pfn), 0, 'sleep');
  }
}

