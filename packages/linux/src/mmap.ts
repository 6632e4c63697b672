/**
 * mmap, munmap, mprotect and madvise (mm/mmap.c, mm/vma.c __mmap_region, mm/mprotect.c,
 * mm/madvise.c). Each returns a result: >= 0 (an address in pages, or 0), or -errno.
 */
import {
  E,
  PTE_WRITE,
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_EXEC,
  VM_HUGEPAGE,
  VM_DONTDUMP,
  VM_HUGETLB,
  VM_IO,
  VM_LOCKED,
  VM_LOCKONFAULT,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_PFNMAP,
  VM_RAND_READ,
  VM_READ,
  VM_SEALED,
  VM_SEQ_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WIPEONFORK,
  VM_WRITE,
  finished,
  pageAnonExclusive,
  pteFlags,
  ptePfn,
  type KGen,
} from '@mmsim/core';
import { MADVISE_ADVICE } from '@mmsim/core';
import { EEXIST, EINVAL, ENOMEM, EACCES, EAGAIN, EPERM } from './errno.js';
import { canMadviseModify } from './mseal.js';
import { mmPopulate } from './gup.js';
import { Kernel, TASK_SIZE } from './kernel.js';
import {
  accountedPages,
  doVmiMunmap,
  findVmaPrev,
  mmapWriteLock,
  mmapWriteUnlock,
  vmaInsert,
  vmaIsAnonymous,
  vmaMergeNewRange,
  applyToVmaRange,
  vmaModifyFlagsReset,
  vmaNextFrom,
  vmgState,
} from './vma.js';
import { getPte, isZeroPte, pmdEntry, ptlLock, ptlUnlock, tlbRemoveTableSync, zapPageRange } from './pgtable.js';
import { madviseCollapse, splitHugePmd } from './huge_memory.js';
import { ksmMadvise, madviseColdOrPageout, madviseFree } from './madvise.js';
import { ksmVmaFlags } from './ksm.js';

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

/** calc_vm_prot_bits() */
export function calcVmProtBits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

export interface MmapArgs {
  prot: number;
  shared: boolean;
  fixed: boolean;
  noreserve: boolean;
  /**
   * A file mapping (replayed traces): the shmem object standing for the open file
   * description (vm_file: the kernel compares struct file pointers when merging,
   * mm/vma.c is_mergeable_vma) and the page offset into it. 0 / absent: anonymous.
   */
  file?: number;
  pgoff?: number;
  /** more vm_flags: VM_GROWSDOWN (MAP_GROWSDOWN), VM_NOHUGEPAGE (MAP_STACK), VM_SPECIAL bits */
  vmFlags?: number;
}

/** accountable_mapping(): private, writable, not VM_NORESERVE */
function accountableMapping(flags: number): boolean {
  return (flags & (VM_NORESERVE | VM_SHARED | VM_WRITE)) === VM_WRITE;
}

/** do_mmap() of anonymous memory at vpn (MAP_FIXED or MAP_FIXED_NOREPLACE) */
export function* doMmap(k: Kernel, mm: number, vpn: number, pages: number, a: MmapArgs): KGen<number> {
  return yield* k.eng.span('do_mmap', () => doMmapBody(k, mm, vpn, pages, a), vpn, pages);
}

/** body of doMmap, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doMmapBody(k: Kernel, mm: number, vpn: number, pages: number, a: MmapArgs): KGen<number> {
  if (pages <= 0) return -EINVAL;
  if (vpn + pages > TASK_SIZE) return -ENOMEM;
  // do_mmap(): "Too many mappings?" is map_count > max: one mapping past the limit is let in
  if (k.mapCount(mm) > k.config.maxMapCount) return -ENOMEM;
  yield* mmapWriteLock(k, mm);
  const r = yield* mmapRegion(k, mm, vpn, pages, a);
  yield* mmapWriteUnlock(k, mm);
  // vm_mmap_pgoff(): a VM_LOCKED mapping (MAP_LOCKED, mlockall(MCL_FUTURE)) is populated, errors ignored
  if (r >= 0 && (k.defFlags(mm) | (a.vmFlags ?? 0)) & VM_LOCKED) {
    const v = k.vmaAt(mm, r);
    if (v && v.flags & VM_LOCKED && !(v.flags & VM_LOCKONFAULT)) yield* mmPopulate(k, mm, r, pages, true);
  }
  return r;
}

function* mmapRegion(k: Kernel, mm: number, vpn: number, pages: number, a: MmapArgs): KGen<number> {
  const end = vpn + pages;
  if (!a.fixed) {
    // MAP_FIXED_NOREPLACE
    const { vma } = findVmaPrev(k, mm, vpn);
    if (vma && vma.start < end) return -EEXIST;
  }
  let flags = calcVmProtBits(a.prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  let pgoff: number;
  flags |= (a.vmFlags ?? 0) | k.defFlags(mm);
  // __mmap_complete(): a special mapping is never locked
  if (flags & VM_SPECIAL) flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
  if (a.file) {
    pgoff = a.pgoff ?? 0;
    if (a.shared) flags |= VM_SHARED | VM_MAYSHARE;
  } else if (a.shared) {
    pgoff = 0;
    flags |= VM_SHARED | VM_MAYSHARE;
  } else pgoff = vpn; /* Set pgoff according to addr for anon_vma. */
  if (a.noreserve && k.config.overcommit !== 2) flags |= VM_NORESERVE;
  return yield* k.eng.span('__mmap_region', () => mmapRegionBody(k, mm, vpn, pages, a, end, flags, pgoff), vpn, pages);
}

/**
 * body of mmapRegion, in the span (a top-level generator: an inline generator closure costs ~1 µs to create).
 * `flags` is passed by value: it may gain VM_ACCOUNT here, and mmapRegion does not read it afterwards.
 */
function* mmapRegionBody(k: Kernel, mm: number, vpn: number, pages: number, a: MmapArgs, end: number, flags: number, pgoff: number): KGen<number> {
  // MAP_FIXED: whatever is there goes first (vms_gather_munmap_vmas + vms_clean_up_area)
  const replaced = accountedPages(k, mm, vpn, end);
  void replaced;
  const { vma: over } = findVmaPrev(k, mm, vpn);
  if (over && over.start < end) {
    const r = yield* doVmiMunmap(k, mm, vpn, pages);
    if (r < 0) return r;
  }
  if (accountableMapping(flags)) flags |= VM_ACCOUNT;
  flags = ksmVmaFlags(k, mm, flags); // update_ksm_flags(): early, before the merge (can_set_ksm_flags_early)
  const { prev } = findVmaPrev(k, mm, vpn);
  const next = vmaNextFrom(k, mm, end);
  let id = 0;
  // a file mapping merges like private anonymous memory (same vm_file, contiguous pgoff);
  // shared anonymous memory gets a fresh shmem file below and never merges
  if ((!a.shared || a.file) && (prev || next)) {
    const vmg = vmgState(mm, vpn, end, flags, pgoff);
    vmg.file = a.file ?? 0;
    vmg.prev = prev;
    vmg.next = next;
    const merged = yield* vmaMergeNewRange(k, vmg);
    if (merged) id = merged.id;
  }
  if (!id) {
    let file = a.file ?? 0;
    if (a.shared && !file) {
      // shmem_zero_setup(): a shmem object backs the mapping; it never merges
      file = k.eng.ids.shmem++;
      k.eng.emit(E.ShmemCreate, file, pages);
    }
    id = yield* vmaInsert(k, mm, vpn, end, pgoff, flags, file);
  }
  return vpn;
}

/** munmap() */
export function* doMunmap(k: Kernel, mm: number, vpn: number, pages: number): KGen<number> {
  return yield* k.eng.span('__vm_munmap', () => doMunmapBody(k, mm, vpn, pages), vpn, pages);
}

/** body of doMunmap, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doMunmapBody(k: Kernel, mm: number, vpn: number, pages: number): KGen<number> {
  if (pages <= 0) return -EINVAL;
  yield* mmapWriteLock(k, mm);
  const r = yield* doVmiMunmap(k, mm, vpn, pages);
  yield* mmapWriteUnlock(k, mm);
  return r;
}

/* ------------------------------------ mprotect ------------------------------------ */

/** change_protection() over [start, end) of a VMA whose flags are now `flags` */
function* changeProtection(k: Kernel, vmaId: number, start: number, end: number): KGen<void> {
  const vma = k.vma(vmaId);
  const mm = vma.mm;
  const writable = (vma.flags & VM_WRITE) !== 0;
  // private anon writable: exclusive anon PTEs become writable at once (MM_CP_TRY_CHANGE_WRITABLE)
  const tryWrite = writable && !(vma.flags & VM_SHARED);
  let vpn = start;
  while (vpn < end) {
    const base = vpn - (vpn % 512);
    const next = Math.min(end, base + 512);
    const e = pmdEntry(k, mm, vpn);
    if (e && e.kind === 'huge') {
      if (next - vpn !== 512) yield* splitHugePmd(k, vma, vpn);
      else {
        const f = e.flags;
        const nf = writable ? (tryWrite && k.eng.pageFolio(e.pfn) && pageAnonExclusive(k.eng.pageFolio(e.pfn)!, e.pfn) ? f | PTE_WRITE : f) : f & ~PTE_WRITE;
        if (nf !== f) k.eng.emit(E.PmdFlags, mm, base, nf);
        vpn = next;
        continue;
      }
    }
    const t = pmdEntry(k, mm, vpn);
    if (t && t.kind === 'table' && t.ptes[512]) {
      yield* ptlLock(k, mm, vpn);
      for (let v = vpn; v < next; v++) {
        const pte = getPte(k, mm, v);
        if (pte <= 0) continue;
        const f = pteFlags(pte);
        let nf = f;
        if (!writable) nf = f & ~PTE_WRITE;
        else if (tryWrite && !isZeroPte(pte)) {
          const fo = k.eng.pageFolio(ptePfn(pte));
          if (fo && pageAnonExclusive(fo, ptePfn(pte))) nf = f | PTE_WRITE;
        }
        if (nf !== f) k.eng.emit(E.PteFlags, mm, v, nf);
      }
      yield* ptlUnlock(k, mm, vpn);
    }
    vpn = next;
  }
}

/** mprotect_fixup(): the VM_ACCOUNT rule, then vma_modify_flags (merge or split) */
function* mprotectFixup(k: Kernel, vmaId: number, prevId: number, start: number, end: number, newflagsIn: number): KGen<{ err: number; vma: number }> {
  const vma = k.vma(vmaId);
  const oldflags = vma.flags;
  if (oldflags & VM_SEALED) return { err: -EPERM, vma: vmaId };
  let newflags = newflagsIn;
  if (newflags === oldflags) return { err: 0, vma: vmaId };
  if (newflags & VM_WRITE) {
    if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))) newflags |= VM_ACCOUNT;
  } else if (oldflags & VM_ACCOUNT && vmaIsAnonymous(vma) && !vma.anonVma) {
    // only an unfaulted anonymous VMA drops its accounting when it loses write
    newflags &= ~VM_ACCOUNT;
  }
  const id = yield* vmaModifyFlagsReset(k, prevId, vmaId, start, end, newflags);
  if (id < 0) return { err: id, vma: vmaId };
  yield* changeProtection(k, id, start, end);
  return { err: 0, vma: id };
}

/** do_mprotect_pkey() */
export function* doMprotect(k: Kernel, mm: number, start: number, pages: number, prot: number): KGen<number> {
  return yield* k.eng.span('do_mprotect_pkey', () => doMprotectBody(k, mm, start, pages, prot), start, pages);
}

/** body of doMprotect, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doMprotectBody(k: Kernel, mm: number, start: number, pages: number, prot: number): KGen<number> {
  if (pages === 0) return 0;
  const end = start + pages;
  yield* mmapWriteLock(k, mm);
  const r = yield* mprotectLocked(k, mm, start, end, prot);
  yield* mmapWriteUnlock(k, mm);
  return r;
}

function mprotectLocked(k: Kernel, mm: number, start: number, end: number, prot: number): KGen<number> {
  return applyToVmaRange(k, mm, start, end, (cur, prevId, nstart, tmp) => {
    const newflags = calcVmProtBits(prot) | (cur.flags & ~(VM_READ | VM_WRITE | VM_EXEC));
    // the VM_MAY* bits must allow the new access
    if ((newflags & ~(newflags >> 4)) & (VM_READ | VM_WRITE | VM_EXEC)) return finished({ err: -EACCES, vma: cur.id });
    return mprotectFixup(k, cur.id, prevId, nstart, tmp, newflags);
  });
}

/* ------------------------------------ madvise ------------------------------------- */

/**
 * CONFIG_PT_RECLAIM (zap_pte_range with details->reclaim_pt, MADV_DONTNEED only): a PTE
 * table whose whole 2 MiB the range covered and that the zap left empty is freed, so a
 * later fault there sees pmd_none (and may get a THP).
 */
function* reclaimPtes(k: Kernel, mm: number, start: number, end: number): KGen<void> {
  for (let base = start - (start % 512); base < end; base += 512) {
    if (base < start || base + 512 > end) continue;
    const e = pmdEntry(k, mm, base);
    if (!e || e.kind !== 'table' || e.ptes[512] !== 0) continue;
    // try_to_free_pte() (mm/pt_reclaim.c): under the PMD lock and the PTE lock, the
    // table is checked empty again: a fault (mmap_read_lock or the per-VMA lock, both
    // shared with this madvise) may have mapped a page since the zap
    yield* k.eng.lock(Kernel.pmdLock(mm, base), 0, 'spin');
    yield* ptlLock(k, mm, base);
    const now = pmdEntry(k, mm, base);
    const empty = !!now && now.kind === 'table' && now.ptes[512] === 0;
    if (empty) k.eng.emit(E.PtFree, mm, base);
    yield* ptlUnlock(k, mm, base);
    yield* k.eng.unlock(Kernel.pmdLock(mm, base), 0, 'spin');
    if (empty) yield* tlbRemoveTableSync(k, mm);
  }
}


/** madvise_vma_behavior() for [start, end) of one VMA */
function* madviseVmaBehavior(k: Kernel, vmaId: number, prevId: number, start: number, end: number, advice: string): KGen<{ err: number; vma: number }> {
  const vma = k.vma(vmaId);
  let newFlags = vma.flags;
  if (!canMadviseModify(vma, advice)) return { err: -EPERM, vma: vmaId };
  switch (advice) {
    case 'DONTNEED':
    case 'FREE': {
      if (vma.flags & (VM_PFNMAP | VM_LOCKED)) return { err: -EINVAL, vma: vmaId };
      if (advice === 'FREE' && !vmaIsAnonymous(vma)) return { err: -EINVAL, vma: vmaId };
      if (advice === 'DONTNEED') {
        yield* zapPageRange(k, vma, start, end);
        yield* reclaimPtes(k, vma.mm, start, end);
      }
      else yield* madviseFree(k, vmaId, start, end);
      return { err: 0, vma: vmaId };
    }
    case 'COLLAPSE':
      return { err: yield* madviseCollapse(k, vmaId, start, end), vma: vmaId };
    case 'COLD':
    case 'PAGEOUT':
      return { err: yield* madviseColdOrPageout(k, vmaId, start, end, advice === 'PAGEOUT'), vma: vmaId };
    case 'MERGEABLE':
    case 'UNMERGEABLE':
      newFlags = ksmMadvise(newFlags, advice);
      break;
    case 'DONTFORK':
      newFlags |= VM_DONTCOPY;
      break;
    case 'DOFORK':
      if (newFlags & VM_IO) return { err: -EINVAL, vma: vmaId };
      newFlags &= ~VM_DONTCOPY;
      break;
    case 'WIPEONFORK':
      if (vma.file || newFlags & VM_SHARED) return { err: -EINVAL, vma: vmaId };
      newFlags |= VM_WIPEONFORK;
      break;
    case 'KEEPONFORK':
      // VM_DROPPABLE (MAP_DROPPABLE) is not modelled
      newFlags &= ~VM_WIPEONFORK;
      break;
    case 'NORMAL':
      newFlags &= ~(VM_RAND_READ | VM_SEQ_READ);
      break;
    case 'SEQUENTIAL':
      newFlags = (newFlags & ~VM_RAND_READ) | VM_SEQ_READ;
      break;
    case 'RANDOM':
      newFlags = (newFlags & ~VM_SEQ_READ) | VM_RAND_READ;
      break;
    case 'DONTDUMP':
      newFlags |= VM_DONTDUMP;
      break;
    case 'DODUMP':
      if (newFlags & VM_SPECIAL) return { err: -EINVAL, vma: vmaId };
      newFlags &= ~VM_DONTDUMP;
      break;
    case 'HUGEPAGE':
      newFlags = (newFlags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
      break;
    case 'NOHUGEPAGE':
      newFlags = (newFlags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
      break;
    default:
      return { err: -EINVAL, vma: vmaId };
  }
  // madvise_update_vma(): nothing changes, nothing splits
  if (newFlags === vma.flags) return { err: 0, vma: vmaId };
  const id = yield* vmaModifyFlagsReset(k, prevId, vmaId, start, end, newFlags);
  return id < 0 ? { err: id, vma: vmaId } : { err: 0, vma: id };
}


/** do_madvise(): per VMA over the range; holes give ENOMEM after the mapped parts are done */
export function* doMadvise(k: Kernel, mm: number, start: number, pages: number, advice: string): KGen<number> {
  return yield* k.eng.span('do_madvise', () => doMadviseBody(k, mm, start, pages, advice), start, pages);
}

/** body of doMadvise, in the span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doMadviseBody(k: Kernel, mm: number, start: number, pages: number, advice: string): KGen<number> {
  if (!(advice in MADVISE_ADVICE)) return -EINVAL;
  if (pages === 0) return 0;
  const end = start + pages;
  // madvise_need_mmap_write(): these only walk the page tables, under mmap_read_lock()
  const write = !['DONTNEED', 'FREE', 'COLLAPSE', 'COLD', 'PAGEOUT'].includes(advice);
  if (write) yield* mmapWriteLock(k, mm);
  else yield* k.eng.lock(Kernel.mmapLock(mm), 1, 'sleep');
  let unmappedError = 0;
  let err = 0;
  let { vma, prev } = findVmaPrev(k, mm, start);
  if (vma && start > vma.start) prev = vma;
  let rs = start;
  for (;;) {
    if (!vma) {
      err = -ENOMEM;
      break;
    }
    if (rs < vma.start) {
      unmappedError = -ENOMEM;
      rs = vma.start;
      if (rs >= end) break;
    }
    const re = Math.min(vma.end, end);
    const r = yield* madviseVmaBehavior(k, vma.id, prev ? prev.id : 0, rs, re, advice);
    if (r.err) {
      err = r.err === -ENOMEM ? -EAGAIN : r.err;
      break;
    }
    const cur = k.vma(r.vma);
    let rend = re;
    if (rend < cur.end) rend = cur.end;
    if (rend >= end) break;
    prev = cur;
    vma = vmaNextFrom(k, mm, cur.end);
    rs = rend;
  }
  if (write) yield* mmapWriteUnlock(k, mm);
  else yield* k.eng.unlock(Kernel.mmapLock(mm), 1, 'sleep');
  return err || unmappedError;
}
