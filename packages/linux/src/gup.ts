/**
 * The slow path of GUP (mm/gup.c): pin_user_pages() with FOLL_WRITE | FOLL_LONGTERM, as
 * a driver's long-term pin (RDMA, VFIO) runs it. __gup_longterm_locked() ->
 * __get_user_pages_locked() holds mmap_read_lock() across the whole range: per page
 * the VMA lookup, follow_page_pte() (the PTE looked at and the folio grabbed under the
 * PTE lock) and, when there is no writable page yet, faultin_page() (handle_mm_fault,
 * under the same mmap_lock), then the lookup again. So mremap's mmap_write_lock()
 * excludes the whole pin, unlike GUP-fast's.
 */
import { E, FolioCounter, PTE_WRITE, VM_EXEC, VM_IO, VM_LOCKONFAULT, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, pteFlags, ptePfn, type KGen } from '@mmsim/core';
import { EFAULT } from './errno.js';
import { Kernel } from './kernel.js';
import { handleMmFault } from './fault.js';
import { vmaLookupIn } from './lookup.js';
import { getPte, isZeroPte, pmdEntry, ptlLock, ptlUnlock } from './pgtable.js';
import { folioOf } from './rmap.js';

/** Faults in one page may take before GUP gives up on it (each fault makes progress alone). */
const MAX_FAULTS = 3;

/**
 * pin_user_pages(start, pages, FOLL_WRITE | FOLL_LONGTERM): each page is faulted in
 * writable (breaking COW) and its folio pinned (try_grab_folio: a reference and the
 * pincount). A page with no VMA or a VMA without VM_WRITE is skipped (-EFAULT for that
 * page), as the model's `pin` step always did.
 */
export function* pinUserPages(k: Kernel, mm: number, start: number, pages: number): KGen<void> {
  yield* k.eng.lock(Kernel.mmapLock(mm), 1, 'sleep');
  for (let vpn = start; vpn < start + pages; vpn++) {
    const vma = vmaLookupIn(k, mm, vpn);
    if (!vma || !(vma.flags & VM_WRITE)) continue;
    for (let faults = 0; faults <= MAX_FAULTS; faults++) {
      if (yield* followPagePte(k, mm, vpn)) break;
      // faultin_page(): a write fault, then follow_page_pte() again
      if (faults === MAX_FAULTS || (yield* handleMmFault(k, vma.id, vpn, true)) !== 'ok') break;
    }
  }
  yield* k.eng.unlock(Kernel.mmapLock(mm), 1, 'sleep');
}

/**
 * __get_user_pages() of a syscall that fills or reads user pages without touching them
 * from the CPU (process_vm_writev/_readv, an O_DIRECT read, vmsplice): under
 * mmap_read_lock, per page check_vma_flags() (no VMA, VM_IO/VM_PFNMAP or a VMA without
 * the access's permission ends the walk: -EFAULT), follow_page_pte() and, when there is
 * no PTE fit for the access, faultin_page() (handle_mm_fault). The pages' pins are
 * dropped when the call is done, so none is left here. A file VMA's page cache is
 * outside the model: its pages are skipped. Returns the pages walked.
 */
export function* getUserPages(k: Kernel, mm: number, start: number, pages: number, write: boolean): KGen<number> {
  yield* k.eng.lock(Kernel.mmapLock(mm), 1, 'sleep');
  let vpn = start;
  for (; vpn < start + pages; vpn++) {
    const vma = vmaLookupIn(k, mm, vpn);
    if (!vma || vma.flags & (VM_IO | VM_PFNMAP) || !(vma.flags & (write ? VM_WRITE : VM_READ))) break;
    if (vma.file) continue;
    for (let faults = 0; faults <= MAX_FAULTS; faults++) {
      if (yield* followPagePte(k, mm, vpn, write, false)) break;
      if (faults === MAX_FAULTS || (yield* handleMmFault(k, vma.id, vpn, write)) !== 'ok') break;
    }
  }
  yield* k.eng.unlock(Kernel.mmapLock(mm), 1, 'sleep');
  return vpn - start;
}

/**
 * follow_page_pte(): under the PTE lock, is there a PTE fit for the access: present,
 * and writable for FOLL_WRITE (can_follow_write_pte; the zero page is not)? With
 * FOLL_PIN its folio is pinned. A PMD-mapped THP is looked at under its PMD lock
 * (follow_huge_pmd).
 */
function* followPagePte(k: Kernel, mm: number, vpn: number, write = true, pin = true): KGen<boolean> {
  const e = pmdEntry(k, mm, vpn);
  if (!e) return false; // no_page_table()
  const lock = e.kind === 'huge' ? Kernel.pmdLock(mm, vpn) : Kernel.ptl(mm, vpn);
  if (e.kind === 'huge') yield* k.eng.lock(lock, 0, 'spin');
  else yield* ptlLock(k, mm, vpn);
  const pte = getPte(k, mm, vpn);
  const ok = pte > 0 && (!write || (!isZeroPte(pte) && (pteFlags(pte) & PTE_WRITE) !== 0));
  if (ok && pin) {
    // try_grab_folio(FOLL_PIN): the PTE lock keeps the folio, a plain get is enough
    const f = folioOf(k, ptePfn(pte));
    k.eng.emit(E.FolioCount, f.pfn, FolioCounter.Pincount, 1);
    k.eng.emit(E.FolioCount, f.pfn, FolioCounter.Refcount, 1);
  }
  if (e.kind === 'huge') yield* k.eng.unlock(lock, 0, 'spin');
  else yield* ptlUnlock(k, mm, vpn);
  return ok;
}

/**
 * Is the page at vpn there for __get_user_pages() without a fault (follow_page_mask(),
 * no pages asked for: nothing grabbed)? A present PTE or huge PMD, writable when `write`
 * (can_follow_write_pte); the zero page counts for a read.
 */
function pagePresent(k: Kernel, mm: number, vpn: number, write: boolean): boolean {
  const e = pmdEntry(k, mm, vpn);
  if (!e) return false;
  if (e.kind === 'huge') return !write || (e.flags & PTE_WRITE) !== 0;
  const pte = getPte(k, mm, vpn);
  if (pte <= 0) return false;
  return !write || (!isZeroPte(pte) && (pteFlags(pte) & PTE_WRITE) !== 0);
}

/**
 * populate_vma_page_range(): fault [start, end) of one VMA in, as __get_user_pages()
 * does with no pages asked for. VM_LOCKONFAULT: nothing to do; PROT_NONE: -EFAULT; a
 * private writable VMA gets write faults (breaking COW), any other read faults (FOLL_FORCE).
 */
function* populateVmaPageRange(k: Kernel, vmaId: number, start: number, end: number): KGen<number> {
  const vma = k.vma(vmaId);
  if (vma.flags & VM_LOCKONFAULT) return 0;
  if (!(vma.flags & (VM_READ | VM_WRITE | VM_EXEC))) return -EFAULT;
  const write = (vma.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
  for (let vpn = start; vpn < end; vpn++) {
    for (let faults = 0; faults <= MAX_FAULTS; faults++) {
      if (pagePresent(k, vma.mm, vpn, write)) break;
      // faultin_page()
      if (faults === MAX_FAULTS || (yield* handleMmFault(k, vmaId, vpn, write)) !== 'ok') break;
    }
  }
  return 0;
}

/**
 * __mm_populate(start, len, ignore_errors) (mm/gup.c), as mlock(), mlockall(MCL_CURRENT)
 * and a locked mmap()/mremap() call it after dropping the mmap write lock: under
 * mmap_read_lock(), each VMA of the range but VM_IO/VM_PFNMAP ones is populated. Returns
 * 0 or the first error (none when ignoreErrors).
 */
export function* mmPopulate(k: Kernel, mm: number, start: number, pages: number, ignoreErrors: boolean): KGen<number> {
  const end = start + pages;
  let ret = 0;
  yield* k.eng.lock(Kernel.mmapLock(mm), 1, 'sleep');
  const ids = k.vmaIdsInRange(mm, start, end);
  for (const id of ids) {
    const vma = k.vma(id);
    if (vma.flags & (VM_IO | VM_PFNMAP)) continue;
    const r = yield* populateVmaPageRange(k, id, Math.max(start, vma.start), Math.min(end, vma.end));
    if (r < 0 && !ignoreErrors) {
      ret = r;
      break;
    }
  }
  yield* k.eng.unlock(Kernel.mmapLock(mm), 1, 'sleep');
  return ret;
}
