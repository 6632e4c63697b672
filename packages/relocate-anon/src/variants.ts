/**
 * The variants of MREMAP_RELOCATE_ANON, in one table: each name, its one line (--help,
 * the README) and what its code does differently. `fixed` is what the series converged
 * on; `patch-v1` is the seed's text to the letter; the `bug-*` variants reproduce what
 * review found, so that the invariant checkers can be shown to catch each one. `none`
 * is not a variant: it is the stock kernel, without the series (flags 8 and 16 are
 * EINVAL), and means "do not load this plugin".
 */

/** Where a variant's code departs from the series' converged form. */
export interface Behaviour {
  /** folio_lock() (sleeps) instead of folio_trylock() under the PTE lock */
  blockingFolioLock: boolean;
  /** a pinned folio is skipped (walk goes on) instead of aborting the relocation */
  skipPinned: boolean;
  /** swap entries are skipped instead of aborting */
  skipSwap: boolean;
  /** vma_maybe_has_shared_anon_folios(): only the chain check (misses the fork parent) */
  chainCheckOnly: boolean;
  /** the parent check counts only direct children of the VMA's own anon_vma (misses grandchildren) */
  directChildrenOnly: boolean;
  /** undo rewrites every folio in the range, not only those it edited */
  undoAll: boolean;
  /**
   * the seed's undo: relocate_anon_folios(undo = true), the forward walk again over the
   * whole range with the same checks (folio_lock, a pinned folio skipped, a large one
   * ends it), each folio put back at the old VMA
   */
  undoAsForward: boolean;
  /** the new VMA's anon_vma is not locked while folios are rewritten */
  noNewAnonVmaLock: boolean;
  /** the page-table move takes the rmap lock again and leaves one held */
  unbalancedRmapLock: boolean;
  /**
   * the relocation (pin checks, rewrites, the page-table move, an undo) runs inside a
   * write section of mm->write_protect_seq, as fork's copy_page_range() does, so a
   * FOLL_PIN GUP-fast that overlaps it backs off (read_seqcount_retry in gup_fast)
   */
  writeProtectSeq: boolean;
}

const VARIANTS = {
  fixed: { doc: 'the series as it converged in review (the default)', departs: {} },
  'wp-seq': {
    doc: "the fix for GUP-fast: the relocation inside mm->write_protect_seq (fork's way), so an overlapping FOLL_PIN GUP-fast backs off",
    departs: { writeProtectSeq: true },
  },
  'patch-v1': {
    doc: 'the seed patch to the letter: folio_lock() under the PTE lock, pinned folios and swap entries skipped',
    departs: { blockingFolioLock: true, skipPinned: true, skipSwap: true, undoAsForward: true },
  },
  'bug-folio-lock': { doc: 'seeded bug: folio_lock() (sleeps) instead of folio_trylock() under the PTE lock', departs: { blockingFolioLock: true } },
  'bug-unbalanced-rmap-lock': { doc: 'seeded bug: the page-table move takes the rmap lock again and leaves one held', departs: { unbalancedRmapLock: true } },
  'bug-fork-parent': { doc: 'seeded bug: the shared-folio check looks only at the anon_vma chain (misses the fork parent)', departs: { chainCheckOnly: true } },
  'bug-grandchildren': { doc: 'seeded bug: the shared-folio check counts only direct children (misses grandchildren)', departs: { directChildrenOnly: true } },
  'bug-skip-swap': { doc: 'seeded bug: swap entries are skipped instead of aborting the relocation', departs: { skipSwap: true } },
  'bug-undo-all': { doc: 'seeded bug: the undo rewrites every folio of the range, not only those it edited', departs: { undoAll: true } },
  'bug-unlocked-new-anon-vma': { doc: "seeded bug: the new VMA's anon_vma is not locked while folios are rewritten", departs: { noNewAnonVmaLock: true } },
  'bug-skip-pinned': { doc: 'seeded bug: a pinned folio is skipped instead of aborting the relocation', departs: { skipPinned: true } },
} as const satisfies Record<string, { doc: string; departs: Partial<Behaviour> }>;

export type RelocateVariant = keyof typeof VARIANTS;

/** The variant names, the default first. */
export const RELOCATE_VARIANTS: readonly RelocateVariant[] = Object.keys(VARIANTS) as RelocateVariant[];

/** Each variant's one line, by name (--help, the README). */
export const RELOCATE_ANON_VARIANTS: Readonly<Record<RelocateVariant, string>> = Object.freeze(
  Object.fromEntries(RELOCATE_VARIANTS.map((v) => [v, VARIANTS[v].doc])) as Record<RelocateVariant, string>,
);

const CONVERGED: Readonly<Behaviour> = Object.freeze({
  blockingFolioLock: false,
  skipPinned: false,
  skipSwap: false,
  chainCheckOnly: false,
  directChildrenOnly: false,
  undoAll: false,
  undoAsForward: false,
  noNewAnonVmaLock: false,
  unbalancedRmapLock: false,
  writeProtectSeq: false,
});

/** What variant `v`'s code does. */
export function behaviourOf(v: RelocateVariant): Behaviour {
  return { ...CONVERGED, ...VARIANTS[v].departs };
}

export function isRelocateVariant(v: unknown): v is RelocateVariant {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(VARIANTS, v);
}
