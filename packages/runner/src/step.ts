/**
 * One non-concurrent step of a scenario as kernel code (runStep), and the processes a run
 * has (Procs). Its own module so that the concurrent step's tasks (concurrent.ts) and the
 * sequential runner (run.ts) both build on it without importing each other.
 */
import { E, FolioCounter, MLOCKALL_FLAG_BITS, MLOCK_ONFAULT, MPOL_MODES, MREMAP_FLAG_BITS, ptePfn, type KGen } from '@mmsim/core';
import {
  ARENA_BASE,
  Kernel,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  doMadvise,
  doMbind,
  doMlock,
  doMlockall,
  doMmap,
  doMprotect,
  doMremap,
  doMseal,
  doMunlock,
  doMunlockall,
  doMunmap,
  dupMmap,
  errnoName,
  exitMmap,
  folioOf,
  getPte,
  handleMmFault,
  isZeroPte,
  markKsm,
  userAccess,
  pinUserPages,
  prctlSetVmaAnonName,
  prctlSetMemoryMerge,
  shrinkFolioList,
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

/**
 * One step as kernel code: returns its result. A step with `fail` arms that fault for
 * its own run (tools/testing/vma's fail_prealloc): the first allocation of the kind fails.
 */
export function* runStep(k: Kernel, s: Scenario, procs: Procs, step: Step): KGen<StepResult> {
  if (step.fail === undefined) return yield* runStepBody(k, s, procs, step);
  k.armFault(step.fail);
  try {
    return yield* runStepBody(k, s, procs, step);
  } finally {
    k.armFault(null);
  }
}

function* runStepBody(k: Kernel, s: Scenario, procs: Procs, step: Step): KGen<StepResult> {
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
    case 'mlock':
      return asResult(yield* doMlock(k, mm, base + step.page, step.pages, step.onfault ? MLOCK_ONFAULT : 0), false);
    case 'munlock':
      return asResult(yield* doMunlock(k, mm, base + step.page, step.pages), false);
    case 'mlockall': {
      let flags = 0;
      for (const f of step.flags) flags |= MLOCKALL_FLAG_BITS[f];
      return asResult(yield* doMlockall(k, mm, flags), false);
    }
    case 'munlockall':
      return asResult(yield* doMunlockall(k, mm), false);
    case 'mseal':
      return asResult(yield* doMseal(k, mm, base + step.page, step.pages), false);
    case 'mbind': {
      const nodes = step.nodes.reduce((m, n) => m + 2 ** n, 0);
      return asResult(yield* doMbind(k, mm, base + step.page, step.pages, MPOL_MODES[step.mode], nodes, 0), false);
    }
    case 'anon_name':
      return asResult(yield* prctlSetVmaAnonName(k, mm, base + step.page, step.pages, step.name), false);
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
    case 'prctl':
      // PR_SET_MEMORY_MERGE, the one option the format has (kernel/sys.c prctl)
      return asResult(yield* prctlSetMemoryMerge(k, mm, step.value), false);
  }
}

/**
 * unpin: unpin_user_pages() of what a `pin` step pinned (an atomic on each folio, no
 * lock); `pin` is pin_user_pages() (@mmsim/linux gup.ts).
 */
export function* pinRange(k: Kernel, mm: number, start: number, pages: number, pin: boolean): KGen<void> {
  if (pin) return yield* pinUserPages(k, mm, start, pages);
  for (let vpn = start; vpn < start + pages; vpn++) {
    const pte = getPte(k, mm, vpn);
    if (pte <= 0 || isZeroPte(pte)) continue;
    const f = folioOf(k, ptePfn(pte));
    if (f.pincount === 0) continue;
    k.eng.emit(E.FolioCount, f.pfn, FolioCounter.Pincount, -1);
    k.eng.emit(E.FolioCount, f.pfn, FolioCounter.Refcount, -1);
  }
}

/**
 * swapout: reclaim of the range (shrink_folio_list, @mmsim/linux racers.ts) with a swap
 * device: exclusive small anon folios are written to swap, each PTE becoming a swap
 * entry under its PTE lock (try_to_unmap_one), and the folio stays in the swap cache
 * (keeping its index and mapping) until swapped in or its last swap reference goes. A
 * busy (locked), pinned or shared folio stays mapped.
 */
function* swapoutRange(k: Kernel, mm: number, start: number, pages: number): KGen<void> {
  yield* shrinkFolioList(k, mm, start, pages);
}

/** A step whose kernel code threw (a plugin error, a strict checker, a model bug). */
export class StepFailedError extends Error {
  constructor(
    readonly step: number,
    readonly op: string,
    message: string,
    override readonly cause: unknown,
  ) {
    super(`step ${step} (${op}): ${message}`);
    this.name = 'StepFailedError';
  }
}
