/**
 * mremap() (mm/mremap.c, 6.18): parameter checks, shrink, grow in place
 * (vma_merge_extend), moves (move_vma -> copy_vma_and_data -> move_page_tables) at PTE,
 * PMD and PUD level with need_rmap_locks as copy_vma decides, DONTUNMAP, and the 6.17+
 * multi-VMA move. Move strategies (MREMAP_RELOCATE_ANON) plug in at MREMAP_STRATEGY.
 */
import { ACCESS, E, HPAGE_PUD_NR, PluginConflictError, VM_ACCOUNT, VM_DONTEXPAND, VM_LOCKED, VM_MAYSHARE, VM_PFNMAP, VM_SEALED, VM_SHARED, pgdIndex, pmdBase, pudIndex, type KGen } from '@mmsim/core';
import { MREMAP_FLAG_BITS } from '@mmsim/core';
import { EFAULT, EINVAL, ENOMEM, EPERM } from './errno.js';
import { Kernel, MMAP_BASE, TASK_SIZE } from './kernel.js';
import { MREMAP_STRATEGY, type MoveContext, type MremapStrategy } from './points.js';
import { unlinkAnonVmas } from './rmap.js';
import { pmdEntry, pteAlloc, ptlLock, ptlUnlock } from './pgtable.js';
import { moveHugePmd, splitHugePmd } from './huge_memory.js';
import { vmaLookupIn } from './lookup.js';
import { mmPopulate } from './gup.js';
import {
  copyVma,
  doVmiMunmap,
  findVmaPrev,
  mmapWriteLock,
  mmapWriteUnlock,
  vmaMergeNewRange,
  vmaNextFrom,
  vmaStartWrite,
  vmgVmaState,
} from './vma.js';

// the uapi values, from the one table scenarios and the oracle use too
export const MREMAP_MAYMOVE = MREMAP_FLAG_BITS.MAYMOVE;
export const MREMAP_FIXED = MREMAP_FLAG_BITS.FIXED;
export const MREMAP_DONTUNMAP = MREMAP_FLAG_BITS.DONTUNMAP;

/** struct vma_remap_struct */
export interface Vrm {
  mm: number;
  addr: number;
  oldLen: number;
  newLen: number;
  flags: number;
  newAddr: number;
  vma: number;
  delta: number;
  remapType: 'invalid' | 'no_resize' | 'shrink' | 'expand';
  /** mlock()'d and expanded: populate the new part after the lock is dropped (vrm->populate_expand) */
  populateExpand?: boolean;
}

function strategies(k: Kernel): { impl: MremapStrategy; plugin: string }[] {
  return k.eng.plugins.all(MREMAP_STRATEGY);
}

/** "strategies A (plugin a) and B (plugin b) both claim MREMAP_RELOCATE_ANON (0x20)" */
function flagConflict(before: { impl: MremapStrategy; plugin: string }[], s: { impl: MremapStrategy; plugin: string }, claimed: number): string {
  const names = Object.entries(MREMAP_FLAG_BITS).filter(([, bit]) => claimed & bit).map(([n]) => `MREMAP_${n}`);
  const flags = `${names.join(', ') || 'flag'} (0x${claimed.toString(16)})`;
  const owner = before.find((o) => o.impl.extraFlags & claimed);
  const who = (x: { impl: MremapStrategy; plugin: string }) => `${x.impl.name} (plugin ${x.plugin})`;
  if (!owner) return `mremap strategy ${who(s)} claims ${flags}, which mremap() itself implements`;
  return `mremap strategies ${who(owner)} and ${who(s)} both claim ${flags}: load only one of them`;
}

/** vrm_implies_new_addr() */
function impliesNewAddr(v: Vrm): boolean {
  return (v.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
}

/** check_mremap_params(): everything that needs no lock */
function checkMremapParams(k: Kernel, v: Vrm): number {
  let known = MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
  const list = strategies(k);
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    // two strategies implementing one flag would run by registration order, silently
    const claimed = s.impl.extraFlags & known;
    if (claimed) throw new PluginConflictError(flagConflict(list.slice(0, i), s, claimed));
    known |= s.impl.extraFlags;
  }
  if (v.flags & ~known) return -EINVAL;
  if (!v.newLen) return -EINVAL;
  if (v.newLen > TASK_SIZE) return -EINVAL;
  for (const s of strategies(k)) {
    const r = s.impl.checkParams?.(v.flags) ?? 0;
    if (r) return r;
  }
  if (!impliesNewAddr(v)) return 0;
  if (v.newAddr > TASK_SIZE - v.newLen) return -EINVAL;
  if (!(v.flags & MREMAP_MAYMOVE)) return -EINVAL;
  if (v.flags & MREMAP_DONTUNMAP && v.oldLen !== v.newLen) return -EINVAL;
  // the ranges may not overlap
  if (v.addr + v.oldLen > v.newAddr && v.newAddr + v.newLen > v.addr) return -EINVAL;
  if (k.mapCount(v.mm) + 2 >= k.config.maxMapCount - 3) return -ENOMEM;
  return 0;
}

/** check_prep_vma() */
function checkPrepVma(k: Kernel, v: Vrm): number {
  const vma = vmaLookupIn(k, v.mm, v.addr);
  if (!vma) return -EFAULT;
  // If mseal()'d, mremap() is prohibited.
  if (vma.flags & VM_SEALED) return -EPERM;
  v.vma = vma.id;
  v.delta = Math.abs(v.oldLen - v.newLen);
  v.remapType = v.delta === 0 ? 'no_resize' : v.oldLen > v.newLen ? 'shrink' : 'expand';
  if (!impliesNewAddr(v)) v.newAddr = v.addr;
  // vrm_will_map_new()
  if (!(v.remapType === 'expand' || impliesNewAddr(v))) return 0;
  let oldLen = v.oldLen;
  if (!oldLen && !(vma.flags & (VM_SHARED | VM_MAYSHARE))) return -EINVAL;
  if (v.flags & MREMAP_DONTUNMAP && vma.flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EINVAL;
  if (v.remapType === 'shrink') oldLen = v.newLen;
  if (oldLen > vma.end - v.addr) return -EFAULT;
  if (v.newLen === oldLen) return 0;
  // We are expanding and the VMA is mlock()'d so we need to populate.
  if (vma.flags & VM_LOCKED) v.populateExpand = true;
  if (vma.flags & (VM_DONTEXPAND | VM_PFNMAP)) return -EFAULT;
  return 0;
}

/** vma_find(): the first VMA ending after addr */
function findVmaFrom(k: Kernel, mm: number, addr: number) {
  return findVmaPrev(k, mm, addr).vma;
}

/** check_prep_vma() plus what move strategies add (should_relocate_anon's MUST check) */
function prepVma(k: Kernel, v: Vrm): number {
  const r = checkPrepVma(k, v);
  if (r) return r;
  for (const s of strategies(k)) {
    const e = s.impl.checkPrepVma?.(moveContext(k, v)) ?? 0;
    if (e) return e;
  }
  return 0;
}

/** get_unmapped_area(): the hint if free, else the highest gap below mmap_base (2 MiB aligned for PMD multiples) */
export function getUnmappedArea(k: Kernel, mm: number, hint: number, len: number): number {
  const free = (a: number) => {
    if (a < 16 || a + len > TASK_SIZE) return false;
    const x = k.findVma(mm, a);
    return !x || x.start >= a + len;
  };
  if (hint && free(hint)) return hint;
  const align = !hint && len % 512 === 0 ? 512 : 1;
  let top = MMAP_BASE;
  // the gaps below mmap_base, top-down (unmapped_area_topdown(); a linear walk over
  // the gaps where the kernel's maple tree keeps the largest gap per node)
  const t = k.mm(mm).vmas;
  const below = t.lowerRank(MMAP_BASE); // VMAs starting below mmap_base
  for (let i = below; i >= 0; i--) {
    const prev = i > 0 ? k.vma(t.idAt(i - 1)!) : null;
    const lo = prev ? prev.end : 16;
    const hi = Math.min(top, i < below ? k.vma(t.idAt(i)!).start : MMAP_BASE);
    let a = hi - len;
    a -= a % align;
    if (a >= lo) return a;
    if (prev) top = prev.start;
  }
  return -ENOMEM;
}

/* --------------------------------- page-table move -------------------------------- */

/** struct pagetable_move_control */
export interface Pmc {
  mm: number;
  old: number;
  new: number;
  oldAddr: number;
  newAddr: number;
  oldEnd: number;
  lenIn: number;
  needRmapLocks: boolean;
  /** the caller holds the rmap locks already (MREMAP_RELOCATE_ANON's pmc->relocate_locked) */
  relocateLocked?: boolean;
}

/** take_rmap_locks(): the anon_vma root lock of the moving VMA */
export function* takeRmapLocks(k: Kernel, vmaId: number): KGen<number> {
  const av = k.vma(vmaId).anonVma;
  if (!av) return 0;
  const root = k.anonVma(av).root;
  yield* k.eng.lock(Kernel.anonVmaLock(root), 0, 'sleep');
  return root;
}
export function* dropRmapLocks(k: Kernel, root: number): KGen<void> {
  if (root) yield* k.eng.unlock(Kernel.anonVmaLock(root), 0, 'sleep');
}

/** get_extent(): the run up to the next PMD boundary of either address */
function getExtent(pmc: Pmc): number {
  const a = 512 - (pmc.oldAddr % 512);
  const b = 512 - (pmc.newAddr % 512);
  return Math.min(a, b, pmc.oldEnd - pmc.oldAddr);
}

/** move_ptes(): PTE by PTE under both PTE locks (and the rmap locks if need_rmap_locks) */
function* movePtes(k: Kernel, pmc: Pmc, extent: number): KGen<void> {
  const mm = pmc.mm;
  const root = pmc.needRmapLocks && !pmc.relocateLocked ? yield* takeRmapLocks(k, pmc.old) : 0;
  const oldPtl = Kernel.ptl(mm, pmc.oldAddr);
  const newPtl = Kernel.ptl(mm, pmc.newAddr);
  yield* k.eng.lock(oldPtl, 0, 'spin');
  if (newPtl !== oldPtl) yield* k.eng.lock(newPtl, 0, 'spin'); // spin_lock_nested(SINGLE_DEPTH_NESTING)
  const e = pmdEntry(k, mm, pmc.oldAddr);
  if (e && e.kind === 'table') {
    const base = pmdBase(pmc.oldAddr);
    const t = e.ptes;
    const off = pmc.oldAddr - base;
    const delta = pmc.newAddr - pmc.oldAddr;
    // read the entries first: the table is copied on the first write
    const vals = t.slice(off, off + extent);
    for (let i = 0; i < extent; i++) {
      if (vals[i] === 0) continue;
      // ptep_get_and_clear + set_pte_at: GUP-fast reads PTEs without the PTE lock
      yield* k.eng.lockless(ACCESS.Pte, mm, pmc.oldAddr + i);
      k.eng.emit(E.PteMove, mm, pmc.oldAddr + i, pmc.oldAddr + i + delta);
    }
  }
  if (newPtl !== oldPtl) yield* k.eng.unlock(newPtl, 0, 'spin');
  yield* k.eng.unlock(oldPtl, 0, 'spin');
  yield* dropRmapLocks(k, root);
}

/** move_normal_pmd(): a whole PTE table changes PMD slot (rmap locks always taken) */
function* moveNormalPmd(k: Kernel, pmc: Pmc): KGen<boolean> {
  const mm = pmc.mm;
  if (pmdEntry(k, mm, pmc.newAddr)) return false;
  const root = pmc.relocateLocked ? 0 : yield* takeRmapLocks(k, pmc.old);
  const oldL = Kernel.pmdLock(mm, pmc.oldAddr);
  const newL = Kernel.pmdLock(mm, pmc.newAddr);
  yield* k.eng.lock(oldL, 0, 'spin');
  if (newL !== oldL) yield* k.eng.lock(newL, 0, 'spin');
  k.eng.emit(E.PtMove, mm, pmdBase(pmc.oldAddr), pmdBase(pmc.newAddr), 1);
  if (newL !== oldL) yield* k.eng.unlock(newL, 0, 'spin');
  yield* k.eng.unlock(oldL, 0, 'spin');
  yield* dropRmapLocks(k, root);
  return true;
}

/** move_normal_pud(): a whole PMD table changes PUD slot (rmap locks always taken) */
function* moveNormalPud(k: Kernel, pmc: Pmc): KGen<boolean> {
  const mm = k.mm(pmc.mm);
  const src = mm.pgd[pgdIndex(pmc.oldAddr)]?.[pudIndex(pmc.oldAddr)];
  const dst = mm.pgd[pgdIndex(pmc.newAddr)]?.[pudIndex(pmc.newAddr)];
  if (!src || dst) return false;
  const root = pmc.relocateLocked ? 0 : yield* takeRmapLocks(k, pmc.old);
  yield* k.eng.lock(Kernel.pageTableLock(pmc.mm), 0, 'spin'); // pud_lock() is mm->page_table_lock
  k.eng.emit(E.PtMove, pmc.mm, pmc.oldAddr, pmc.newAddr, 2);
  yield* k.eng.unlock(Kernel.pageTableLock(pmc.mm), 0, 'spin');
  yield* dropRmapLocks(k, root);
  return true;
}

/** can_align_down(): nothing else lives between the aligned-down address and the VMA start */
function canAlignDown(k: Kernel, vmaId: number, addr: number): boolean {
  const vma = k.vma(vmaId);
  if (vma.start !== addr) return false;
  const masked = pmdBase(addr);
  // the VMA before it is the only one that can reach into [masked, vma.start)
  const prev = k.vmaPrev(vma);
  return !(prev && prev.end > masked);
}

/** try_realign_addr(): move the first partial PMD whole when both ends can be aligned down */
function tryRealignAddr(k: Kernel, pmc: Pmc): void {
  const oldAlign = pmc.oldAddr % 512;
  const newAlign = pmc.newAddr % 512;
  if (pmc.lenIn < 512 - oldAlign) return;
  if (oldAlign === 0 || oldAlign !== newAlign) return;
  if (!canAlignDown(k, pmc.old, pmc.oldAddr) || !canAlignDown(k, pmc.new, pmc.newAddr)) return;
  pmc.oldAddr -= oldAlign;
  pmc.newAddr -= newAlign;
}

/** move_page_tables(): returns the pages moved */
export function* movePageTables(k: Kernel, pmc: Pmc): KGen<number> {
  if (!pmc.lenIn) return 0;
  return yield* k.eng.span('move_page_tables', function* () {
    const start = pmc.oldEnd - pmc.lenIn;
    tryRealignAddr(k, pmc);
    const mm = pmc.mm;
    for (; pmc.oldAddr < pmc.oldEnd; ) {
      // move_normal_pud(): both ends 1 GiB aligned with a whole PUD to go: the PMD table moves
      if (pmc.oldAddr % HPAGE_PUD_NR === 0 && pmc.newAddr % HPAGE_PUD_NR === 0 && pmc.oldEnd - pmc.oldAddr >= HPAGE_PUD_NR) {
        if (yield* moveNormalPud(k, pmc)) {
          pmc.oldAddr += HPAGE_PUD_NR;
          pmc.newAddr += HPAGE_PUD_NR;
          continue;
        }
      }
      const extent = getExtent(pmc);
      const e = pmdEntry(k, mm, pmc.oldAddr);
      if (e) {
        if (e.kind === 'huge') {
          if (extent === 512) {
            const root = pmc.needRmapLocks && !pmc.relocateLocked ? yield* takeRmapLocks(k, pmc.old) : 0;
            const ok = yield* moveHugePmd(k, mm, pmc.oldAddr, pmc.newAddr);
            yield* dropRmapLocks(k, root);
            if (ok) {
              pmc.oldAddr += extent;
              pmc.newAddr += extent;
              continue;
            }
          }
          yield* splitHugePmd(k, k.vma(pmc.old), pmc.oldAddr);
        } else if (extent === 512) {
          if (yield* moveNormalPmd(k, pmc)) {
            pmc.oldAddr += extent;
            pmc.newAddr += extent;
            continue;
          }
        }
        const t = pmdEntry(k, mm, pmc.oldAddr);
        if (t && t.kind === 'table' && t.ptes[512] > 0) {
          pteAlloc(k, mm, pmc.newAddr);
          yield* movePtes(k, pmc, extent);
        }
      }
      pmc.oldAddr += extent;
      pmc.newAddr += extent;
    }
    return pmc.oldAddr - start;
  }, pmc.oldAddr, pmc.newAddr);
}

/* ------------------------------------ move_vma ------------------------------------ */

export interface CopyResult {
  err: number;
  /** new VMA (0 when none was made) */
  newVma: number;
  /** the source VMA (copy_vma may have merged it) */
  vma: number;
}

/** copy_vma_and_data(): the destination VMA and the page tables under it (the default strategy) */
export function* copyVmaAndData(k: Kernel, v: Vrm): KGen<CopyResult> {
  return yield* k.eng.span('copy_vma_and_data', () => copyVmaAndDataBody(k, v), v.addr, v.newAddr);
}

/** copyVmaAndData's body, inside its span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* copyVmaAndDataBody(k: Kernel, v: Vrm): KGen<CopyResult> {
  const vma = k.vma(v.vma);
  const newPgoff = vma.pgoff + (v.addr - vma.start);
  const c = yield* copyVma(k, v.vma, v.newAddr, v.newLen, newPgoff);
  if (!c) return { err: -ENOMEM, newVma: 0, vma: v.vma };
  v.vma = c.vma;
  const pmc: Pmc = {
    mm: v.mm,
    old: c.vma,
    new: c.newVma,
    oldAddr: v.addr,
    newAddr: v.newAddr,
    oldEnd: v.addr + v.oldLen,
    lenIn: v.oldLen,
    needRmapLocks: c.needRmapLocks,
  };
  const moved = yield* movePageTables(k, pmc);
  if (moved < v.oldLen) return { err: -ENOMEM, newVma: c.newVma, vma: c.vma };
  return { err: 0, newVma: c.newVma, vma: c.vma };
}

/** The context handed to move strategies. */
function moveContext(k: Kernel, v: Vrm): MoveContext {
  return { k, vrm: v, copyVmaAndData: () => copyVmaAndData(k, v) };
}

/** unmap_source_vma(): the old range goes; the pieces left keep VM_ACCOUNT */
function* unmapSourceVma(k: Kernel, v: Vrm): KGen<void> {
  yield* k.eng.span('unmap_source_vma', function* () {
    const vma = k.vma(v.vma);
    const accountableMove = (vma.flags & VM_ACCOUNT) !== 0 && !(v.flags & MREMAP_DONTUNMAP);
    const vmStart = vma.start;
    const vmEnd = vma.end;
    if (accountableMove) k.eng.emit(E.VmaFlags, vma.id, vma.flags & ~VM_ACCOUNT);
    yield* doVmiMunmap(k, v.mm, v.addr, v.oldLen);
    if (accountableMove) {
      if (vmStart < v.addr) {
        const { prev } = findVmaPrev(k, v.mm, v.addr);
        if (prev) k.eng.emit(E.VmaFlags, prev.id, prev.flags | VM_ACCOUNT);
      }
      if (vmEnd > v.addr + v.oldLen) {
        const next = vmaNextFrom(k, v.mm, v.addr + v.oldLen);
        if (next) k.eng.emit(E.VmaFlags, next.id, next.flags | VM_ACCOUNT);
      }
    }
  });
}

/** dontunmap_complete(): the source stays, empty, unlocked; a whole moved VMA drops its anon_vma */
function* dontunmapComplete(k: Kernel, v: Vrm, newVma: number): KGen<void> {
  const vma = k.vma(v.vma);
  if (vma.flags & VM_LOCKED) k.eng.emit(E.VmaFlags, vma.id, vma.flags & ~VM_LOCKED);
  if (newVma !== v.vma && vma.start === v.addr && vma.end === v.addr + v.oldLen) yield* unlinkAnonVmas(k, v.vma);
}

/** move_vma() */
export function* moveVma(k: Kernel, v: Vrm): KGen<number> {
  return yield* k.eng.span('move_vma', () => moveVmaBody(k, v), v.addr, v.newAddr);
}

/** moveVma's body, inside its span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* moveVmaBody(k: Kernel, v: Vrm): KGen<number> {
  if (k.mapCount(v.mm) >= k.config.maxMapCount - 3) return -ENOMEM;
  yield* vmaStartWrite(k, v.vma);
  let res: CopyResult | null = null;
  for (const s of strategies(k)) {
    if (!s.impl.copyVmaAndData) continue;
    res = yield* s.impl.copyVmaAndData(moveContext(k, v));
    if (res) break;
  }
  res ??= yield* copyVmaAndData(k, v);
  if (res.err && !res.newVma) return res.err;
  if (res.err) {
    // move the pages back and unmap the new VMA instead (the error path of copy_vma_and_data)
    v.vma = res.newVma;
    v.addr = v.newAddr;
    v.oldLen = v.newLen;
    yield* unmapSourceVma(k, v);
    return res.err;
  }
  if (v.flags & MREMAP_DONTUNMAP) yield* dontunmapComplete(k, v, res.newVma);
  else yield* unmapSourceVma(k, v);
  for (const s of strategies(k)) if (s.impl.afterMove) yield* s.impl.afterMove(moveContext(k, v), res.newVma);
  return v.newAddr;
}

/** mremap_to(): FIXED and/or DONTUNMAP */
function* mremapTo(k: Kernel, v: Vrm): KGen<number> {
  if (v.flags & MREMAP_FIXED) {
    const r = yield* doVmiMunmap(k, v.mm, v.newAddr, v.newLen);
    if (r) return r;
    const vma = vmaLookupIn(k, v.mm, v.addr);
    if (!vma) return -EFAULT;
    v.vma = vma.id;
  }
  if (v.remapType === 'shrink') {
    const r = yield* doVmiMunmap(k, v.mm, v.addr + v.newLen, v.delta);
    if (r) return r;
    const vma = vmaLookupIn(k, v.mm, v.addr);
    if (!vma) return -EFAULT;
    v.vma = vma.id;
    v.oldLen = v.newLen;
  }
  if (!(v.flags & MREMAP_FIXED)) {
    const a = getUnmappedArea(k, v.mm, v.flags & MREMAP_DONTUNMAP ? v.newAddr : 0, v.newLen);
    if (a < 0) return a;
    v.newAddr = a;
  }
  return yield* moveVma(k, v);
}

/** vma_merge_extend(): grow vma by delta in place, merging with next if it fits */
function* vmaMergeExtend(k: Kernel, vmaId: number, delta: number): KGen<number> {
  const vma = k.vma(vmaId);
  const vmg = vmgVmaState(vma, vma, vma.end, vma.end + delta);
  vmg.next = vmaNextFrom(k, vma.mm, vma.end + delta);
  vmg.middle = null;
  const r = yield* vmaMergeNewRange(k, vmg);
  return r ? r.id : 0;
}

/** mremap_at(): no new address */
function* mremapAt(k: Kernel, v: Vrm): KGen<number> {
  switch (v.remapType) {
    case 'no_resize':
      return v.addr;
    case 'shrink': {
      const r = yield* doVmiMunmap(k, v.mm, v.addr + v.newLen, v.delta);
      return r || v.addr;
    }
    case 'expand': {
      const vma = k.vma(v.vma);
      // vrm_can_expand_in_place(): the range ends at vm_end and the space after is free
      if (vma.end - v.addr === v.oldLen) {
        const end = vma.end + v.delta;
        const after = k.findVma(v.mm, vma.end);
        const clash = !!after && after.start < end;
        if (!clash && end <= TASK_SIZE) {
          const id = yield* vmaMergeExtend(k, vma.id, v.delta);
          return id ? v.addr : -ENOMEM;
        }
      }
      if (!(v.flags & MREMAP_MAYMOVE)) return -ENOMEM;
      const a = getUnmappedArea(k, v.mm, 0, v.newLen);
      if (a < 0) return a;
      v.newAddr = a;
      return yield* moveVma(k, v);
    }
    case 'invalid':
      // "Should not be possible." (WARN_ON_ONCE in mremap_at())
      return -EINVAL;
  }
}

/** remap_move(): MREMAP_FIXED, same size: every VMA in the range moves, gaps kept */
function* remapMove(k: Kernel, v: Vrm): KGen<number> {
  const start = v.addr;
  const end = start + v.oldLen;
  let targetAddr = v.newAddr;
  let res = -EFAULT;
  let seen = false;
  let lastEnd = 0;
  // for_each_vma_range() with vma_iter_invalidate(): after each piece the tree may have
  // changed (a moved piece can merge with a later source VMA), so the next VMA is looked
  // up again from the end of the one just handled
  let cursor = start;
  // vma_find(vmi, end) after mas_pause(): the search resumes past the previous VMA's
  // old end and stops at `end` (a moved piece may have merged into that VMA)
  while (cursor < end) {
    const vma = findVmaFrom(k, v.mm, cursor);
    if (!vma || vma.start >= end) break;
    const addr = Math.max(vma.start, start);
    const len = Math.min(end, vma.end) - addr;
    if (!seen && start < vma.start) return -EFAULT;
    const offset = seen ? vma.start - lastEnd : 0;
    lastEnd = vma.end;
    cursor = vma.end;
    const piece: Vrm = { ...v, vma: vma.id, addr, newAddr: targetAddr + offset, oldLen: len, newLen: len };
    let r = prepVma(k, piece);
    if (!r) r = yield* mremapTo(k, piece);
    if (r < 0) return r;
    if (!seen) res = r;
    seen = true;
    targetAddr = r + len;
  }
  return res;
}

/** The mremap syscall, addresses and lengths in pages. */
export function* doMremap(k: Kernel, mm: number, addr: number, oldLen: number, newLen: number, flags: number, newAddr: number): KGen<number> {
  return yield* k.eng.span('do_mremap', () => doMremapBody(k, mm, addr, oldLen, newLen, flags, newAddr), addr, newAddr);
}

/** doMremap's body, inside its span (a top-level generator: an inline generator closure costs ~1 µs to create) */
function* doMremapBody(k: Kernel, mm: number, addr: number, oldLen: number, newLen: number, flags: number, newAddr: number): KGen<number> {
  const v: Vrm = { mm, addr, oldLen, newLen, flags, newAddr, vma: 0, delta: 0, remapType: 'invalid' };
  const p = checkMremapParams(k, v);
  if (p) return p;
  yield* mmapWriteLock(k, mm);
  let res: number;
  if (v.flags & MREMAP_FIXED && v.oldLen === v.newLen) res = yield* remapMove(k, v);
  else {
    res = prepVma(k, v);
    if (!res) res = impliesNewAddr(v) ? yield* mremapTo(k, v) : yield* mremapAt(k, v);
  }
  yield* mmapWriteUnlock(k, mm);
  if (res >= 0 && v.populateExpand) yield* mmPopulate(k, mm, res + v.oldLen, v.delta, true);
  return res;
}

export { splitHugePmd, ptlLock, ptlUnlock };
