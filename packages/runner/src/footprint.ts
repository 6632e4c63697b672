/**
 * Footprints for the explorer's partial-order reduction: what one schedule segment
 * (a task's run from one scheduling point to the next) touched, as a set of object
 * keys, built from the events it emitted and the lockless accesses it declared
 * (Engine.lockless). Two segments with no common key are independent: running them
 * in either order gives the same state.
 *
 * Keys: `L<name>` a lock; `P<mm>:<pmd>` a PTE table (PTE and PMD events, lockless PTE
 * reads); `F<head>` a folio (its counters, flags, mapping, index, pages); `T` the VMA
 * and anon_vma structure (coarse: every VMA, anon_vma and chain change, RCU walks);
 * `S<slot>` a swap slot; `H<id>` a shmem object; `*` anything (an error event).
 */
import { ACCESS, E, type Engine, type TouchHook } from '@mmsim/core';

export type Footprint = Set<string>;

/** A TouchHook adding each touched key to `sink()` (the current segment's footprint). */
export function footprintHook(eng: Engine, sink: () => Footprint): TouchHook {
  const folioKey = (pfn: number): string => 'F' + (eng.pageFolio(pfn)?.pfn ?? pfn);
  const pteKey = (mm: number, vpn: number): string => 'P' + mm + ':' + Math.floor(vpn / 512);
  return (type, a, b, c, s) => {
    const fp = sink();
    switch (type) {
      case E.LockAcquire:
      case E.LockRelease:
      case E.LockTryFail:
      case ACCESS.Lock:
        fp.add('L' + s);
        return;
      case ACCESS.Pte:
      case E.PteSet:
      case E.PteClear:
      case E.PteFlags:
      case E.PteSwap:
      case E.PtAlloc:
      case E.PtFree:
      case E.PmdSet:
      case E.PmdClear:
      case E.PmdSplit:
      case E.PmdFlags:
        fp.add(pteKey(a, b));
        return;
      case E.PteMove:
      case E.PtMove:
      case E.PmdMove:
        fp.add(pteKey(a, b));
        fp.add(pteKey(a, c));
        return;
      case ACCESS.Folio:
      case E.FolioAlloc:
      case E.FolioFree:
      case E.FolioSplit:
      case E.FolioIndex:
      case E.FolioMapping:
      case E.FolioFlags:
      case E.PageAnonExclusive:
      case E.FolioCount:
      case E.PageContent:
        fp.add(folioKey(a));
        return;
      case E.SwapCount:
      case E.SwapCache:
        fp.add('S' + a);
        if (type === E.SwapCache && b) fp.add(folioKey(b));
        return;
      case E.ShmemCreate:
      case E.ShmemPage:
        fp.add('H' + a);
        return;
      case E.SpanOpen:
      case E.SpanClose:
      case E.TaskSwitch:
      case E.Note:
      case E.Fault:
      case E.PudMove:
        return;
      case E.Error:
        fp.add('*');
        return;
      default:
        // VMAs, anon_vmas, chains, mms, RCU walks of the VMA tree
        fp.add('T');
    }
  };
}

/** Do two segments commute? (No common key; `*` conflicts with everything.) */
export function independent(a: Footprint, b: Footprint): boolean {
  if (a.has('*') || b.has('*')) return false;
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  for (const k of small) if (big.has(k)) return false;
  return true;
}
