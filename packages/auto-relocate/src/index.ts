/**
 * @mmsim/auto-relocate: MREMAP_RELOCATE_ANON without the flag, as David Hildenbrand
 * asked in review of the series: a move relocates its folios whenever every folio in
 * the range is exclusive to it (not COW-shared, not pinned, not KSM, no large folio
 * crossing the range edges); otherwise it is the ordinary move. The relocation itself
 * is @mmsim/relocate-anon's (the `fixed` variant), so its locking and undo are reused.
 *
 *   runScenario(s, { plugins: [autoRelocatePlugin] });
 */
import { definePlugin, pageAnonExclusive, ptePfn, VM_HUGETLB, VM_SPECIAL, type Plugin } from '@mmsim/core';
import { MREMAP_STRATEGY, folioMaybeMappedShared, folioOf, folioTestKsm, getPte, isHugeZeroPmd, isZeroPte, pmdEntry, type Kernel, type MoveContext, type MremapStrategy } from '@mmsim/linux';
import { MREMAP_RELOCATE_ANON, relocateAnonStrategy, vmaMaybeHasSharedAnonFolios } from '@mmsim/relocate-anon';

/** Why a move is (not) relocated; 'exclusive' relocates. */
export type MoveVerdict =
  | 'exclusive'
  | 'no-vma'
  | 'not-anonymous'
  | 'unfaulted'
  | 'cow-shared'
  | 'pinned'
  | 'ksm'
  | 'large-folio-crossing'
  | 'swapped'
  | 'anon-vma-shared';

export const MOVE_VERDICTS: readonly MoveVerdict[] = [
  'exclusive',
  'no-vma',
  'not-anonymous',
  'unfaulted',
  'cow-shared',
  'pinned',
  'ksm',
  'large-folio-crossing',
  'swapped',
  'anon-vma-shared',
];

/**
 * The rule, per folio of [vpn, vpn + pages) of mm: folio_maybe_mapped_shared() or a page
 * not PageAnonExclusive is COW-shared; folio_maybe_dma_pinned() is pinned;
 * folio_test_ksm(); a large folio whose pages reach outside the range crosses it. The
 * relocation code also refuses an anon_vma with children (vma_maybe_has_shared_anon_folios:
 * 'anon-vma-shared') even when every folio is exclusive.
 */
export function moveVerdict(k: Kernel, mm: number, vpn: number, pages: number): MoveVerdict {
  const vma = k.vmaAt(mm, vpn);
  if (!vma) return 'no-vma';
  if (vma.file || vma.flags & (VM_SPECIAL | VM_HUGETLB)) return 'not-anonymous';
  if (!vma.anonVma) return 'unfaulted';
  const end = Math.min(vpn + pages, vma.end);
  for (let v = vpn; v < end; ) {
    const e = pmdEntry(k, mm, v);
    const base = v - (v % 512);
    if (!e) {
      v = base + 512;
      continue;
    }
    // the huge zero page has no folio: move_huge_pmd() moves it as is (is_huge_zero_pmd),
    // nothing to relocate, like a zero PTE below
    if (isHugeZeroPmd(e)) {
      v = base + 512;
      continue;
    }
    if (e.kind === 'huge') {
      const f = folioOf(k, e.pfn);
      if (folioTestKsm(f)) return 'ksm';
      if (f.pincount > 0) return 'pinned';
      if (folioMaybeMappedShared(k, f)) return 'cow-shared';
      if (base < vpn || base + 512 > end) return 'large-folio-crossing';
      v = base + 512;
      continue;
    }
    const pte = getPte(k, mm, v);
    if (pte < 0) return 'swapped';
    if (pte > 0 && !isZeroPte(pte)) {
      const pfn = ptePfn(pte);
      const f = folioOf(k, pfn);
      if (folioTestKsm(f)) return 'ksm';
      if (f.pincount > 0) return 'pinned';
      if (folioMaybeMappedShared(k, f) || !pageAnonExclusive(f, pfn)) return 'cow-shared';
      if (f.order > 0) {
        const first = v - (pfn - f.pfn);
        if (first < vpn || first + 2 ** f.order > end) return 'large-folio-crossing';
      }
    }
    v++;
  }
  if (vmaMaybeHasSharedAnonFolios(k, vma)) return 'anon-vma-shared';
  return 'exclusive';
}

/** The strategy: relocate-anon's copy_vma_and_data() when the verdict is 'exclusive', else the ordinary move. */
export function autoRelocateStrategy(): MremapStrategy {
  const inner = relocateAnonStrategy({ variant: 'fixed' });
  // the move as relocate-anon sees it (the flag added), by the move: its afterMove must be
  // handed the same one (relocate-anon keys what it leaves for afterMove by the move)
  const asRelocate = new WeakMap<MoveContext['vrm'], MoveContext['vrm']>();
  return {
    name: 'auto-relocate',
    extraFlags: 0,
    *copyVmaAndData(ctx) {
      const v = ctx.vrm;
      if (moveVerdict(ctx.k, ctx.k.vma(v.vma).mm, v.addr, v.oldLen) !== 'exclusive') return null;
      const vrm = { ...v, flags: v.flags | MREMAP_RELOCATE_ANON };
      asRelocate.set(v, vrm);
      return yield* inner.copyVmaAndData!({ ...ctx, vrm });
    },
    *afterMove(ctx, newVma) {
      const vrm = asRelocate.get(ctx.vrm);
      asRelocate.delete(ctx.vrm);
      yield* inner.afterMove!(vrm ? { ...ctx, vrm } : ctx, newVma);
    },
  };
}

export const autoRelocatePlugin: Plugin = definePlugin({
  name: '@mmsim/auto-relocate',
  version: '0.1.0',
  setup(host) {
    host.provide(MREMAP_STRATEGY, autoRelocateStrategy());
  },
});

export default autoRelocatePlugin;
