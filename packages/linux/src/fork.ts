/**
 * fork() and exit() of an address space (mm/mmap.c dup_mmap, mm/memory.c
 * copy_page_range, exit_mmap).
 */
import {
  E,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  PTE_YOUNG,
  VM_DONTCOPY,
  VM_LOCKED_MASK,
  VM_MAYWRITE,
  VM_SHARED,
  VM_WIPEONFORK,
  pmdBase,
  pteFlags,
  ptePfn,
  pteSwapSlot,
  type KGen,
  type Vma,
} from '@mmsim/core';
import { Kernel } from './kernel.js';
import { anonVmaFork, folioAddNewAnonRmap, folioAlloc, folioGet, folioOf, folioPut, folioTestAnon, folioTryDupAnonRmapPte } from './rmap.js';
import { freePgtables, isZeroPte, pmdEntry, pteAlloc, tlbRemoveTableSync, zapPageRange } from './pgtable.js';
import { copyHugePmd, newAnonPteFlags } from './huge_memory.js';
import { mmapWriteLock, mmapWriteUnlock, removeVma, vmaInsert, vmaStartWrite } from './vma.js';

/** is_cow_mapping(): private and may become writable */
function isCowMapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/** copy_pte_range() for one PTE table: [start, end) */
function* copyPteRange(k: Kernel, dst: Vma, src: Vma, start: number, end: number): KGen<void> {
  const e = pmdEntry(k, src.mm, start);
  if (!e || e.kind !== 'table' || e.ptes[512] === 0) return;
  pteAlloc(k, dst.mm, start);
  yield* k.eng.lock(Kernel.ptl(dst.mm, start), 0, 'spin');
  yield* k.eng.lock(Kernel.ptl(src.mm, start), 0, 'spin'); // spin_lock_nested(SINGLE_DEPTH_NESTING)
  const cow = isCowMapping(src.flags);
  const base = pmdBase(start);
  const ptes = e.ptes.slice(start - base, end - base);
  for (let i = 0; i < ptes.length; i++) {
    const pte = ptes[i];
    const vpn = start + i;
    if (pte === 0) continue;
    if (pte < 0) {
      // copy_nonpresent_pte(): both share the swap slot, neither is exclusive any more
      const slot = pteSwapSlot(pte);
      k.eng.emit(E.SwapCount, slot, 1);
      const f = pteFlags(pte) & ~PTE_SWP_EXCLUSIVE;
      if (pteFlags(pte) & PTE_SWP_EXCLUSIVE) k.eng.emit(E.PteSwap, src.mm, vpn, slot, f);
      k.eng.emit(E.PteSwap, dst.mm, vpn, slot, f);
      continue;
    }
    let flags = pteFlags(pte);
    if (!isZeroPte(pte)) {
      const pfn = ptePfn(pte);
      const f = folioOf(k, pfn);
      folioGet(k, f.pfn);
      if (folioTestAnon(f) && !folioTryDupAnonRmapPte(k, pfn)) {
        // copy_present_page(): the page may be pinned; the child gets its own copy at once
        folioPut(k, f.pfn);
        const head = folioAlloc(k, 0);
        if (f.content[pfn - f.pfn]) k.eng.emit(E.PageContent, head, 1);
        folioAddNewAnonRmap(k, head, k.vma(dst.id), vpn, true);
        k.eng.emit(E.PteSet, dst.mm, vpn, head, newAnonPteFlags(dst));
        continue;
      }
    }
    // __copy_present_ptes(): a COW mapping is write-protected in both
    if (cow && flags & PTE_WRITE) {
      k.eng.emit(E.PteFlags, src.mm, vpn, flags & ~PTE_WRITE);
      flags &= ~PTE_WRITE;
    }
    k.eng.emit(E.PteSet, dst.mm, vpn, ptePfn(pte), flags & ~PTE_YOUNG);
  }
  yield* k.eng.unlock(Kernel.ptl(src.mm, start), 0, 'spin');
  yield* k.eng.unlock(Kernel.ptl(dst.mm, start), 0, 'spin');
}

/** copy_page_range(): only VMAs with an anon_vma have anything the child must copy */
function* copyPageRange(k: Kernel, dstId: number, srcId: number): KGen<void> {
  const src = k.vma(srcId);
  if (!src.anonVma) return;
  yield* k.eng.span('copy_page_range', () => copyPageRangeBody(k, dstId, srcId, src), dstId, srcId);
}

/** body of copyPageRange, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* copyPageRangeBody(k: Kernel, dstId: number, srcId: number, src: Vma): KGen<void> {
  let vpn = src.start;
  while (vpn < src.end) {
    const next = Math.min(src.end, pmdBase(vpn) + 512);
    const e = pmdEntry(k, src.mm, vpn);
    if (e && e.kind === 'huge') {
      if (yield* copyHugePmd(k, k.vma(dstId).mm, k.vma(srcId), pmdBase(vpn))) {
        vpn = next;
        continue;
      }
    }
    yield* copyPteRange(k, k.vma(dstId), k.vma(srcId), vpn, next);
    vpn = next;
  }
}

/** dup_mmap(): the child's VMAs, anon_vmas and page tables */
export function* dupMmap(k: Kernel, oldMm: number, newMm: number): KGen<void> {
  yield* k.eng.span('dup_mmap', () => dupMmapBody(k, oldMm, newMm), oldMm, newMm);
}

/** body of dupMmap, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* dupMmapBody(k: Kernel, oldMm: number, newMm: number): KGen<void> {
  yield* mmapWriteLock(k, oldMm);
  yield* mmapWriteLock(k, newMm);
  // mm_init() gave the child mm->flags & MMF_INIT_MASK, MMF_VM_MERGE_ANY among them
  // (dup_mm, before dup_mmap); vm_area_dup() keeps each VMA's VM_MERGEABLE
  if (k.mm(oldMm).mergeAny) k.eng.emit(E.MmMergeAny, newMm, 1);
  for (const id of k.vmaIds(oldMm)) {
    yield* vmaStartWrite(k, id);
    const mpnt = k.vma(id);
    if (mpnt.flags & VM_DONTCOPY) continue;
    const tmp = yield* vmaInsert(k, newMm, mpnt.start, mpnt.end, mpnt.pgoff, mpnt.flags & ~VM_LOCKED_MASK, mpnt.file);
    // vma_dup_policy()
    if (mpnt.policy) k.eng.emit(E.VmaPolicy, tmp, mpnt.policy);
    if (!(mpnt.flags & VM_WIPEONFORK)) {
      if (mpnt.anonVma) k.eng.emit(E.VmaSetAnonVma, tmp, mpnt.anonVma);
      yield* anonVmaFork(k, tmp, id);
      yield* copyPageRange(k, tmp, id);
    }
  }
  yield* mmapWriteUnlock(k, newMm);
  yield* mmapWriteUnlock(k, oldMm);
}

/** exit_mmap(): unmap everything, free page tables, remove every VMA */
export function* exitMmap(k: Kernel, mm: number): KGen<void> {
  yield* k.eng.span('exit_mmap', () => exitMmapBody(k, mm), mm);
  k.eng.emit(E.MmExit, mm);
}

/** body of exitMmap, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* exitMmapBody(k: Kernel, mm: number): KGen<void> {
  yield* mmapWriteLock(k, mm);
  const ids = k.vmaIds(mm);
  for (const id of ids) {
    const v = k.vma(id);
    yield* zapPageRange(k, v, v.start, v.end);
  }
  if (ids.length) {
    const first = k.vma(ids[0]).start;
    const last = k.vma(ids[ids.length - 1]).end;
    freePgtables(k, mm, first, last, 0, Number.MAX_SAFE_INTEGER);
    yield* tlbRemoveTableSync(k, mm);
  }
  for (const id of ids) yield* removeVma(k, id);
  yield* mmapWriteUnlock(k, mm);
}
