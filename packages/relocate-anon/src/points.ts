/**
 * The contract of MREMAP_RELOCATE_ANON's relocation walk with large folios: the walk
 * (relocate.ts) calls LARGE_FOLIO for every large folio it meets; @mmsim/large-folio
 * provides it. The point belongs to this plugin, the one that calls it: the model never
 * does, and @mmsim/large-folio builds on this package.
 */
import { defineExtensionPoint, type Folio, type KGen } from '@mmsim/core';
import type { Kernel } from '@mmsim/linux';

/*
 * The large-folio point of the relocation walk's relocation walk. The seed gives up on
 * large folios ("a subsequent commit will extend the functionality"); @mmsim/large-folio
 * provides the series' patch 3 behaviour through this point.
 */

/** One relocation in progress: the old and new VMA, the range, what was rewritten. */
export interface RelocateWalk {
  readonly k: Kernel;
  readonly oldVma: number;
  readonly newVma: number;
  /** first page of the moved range in the old VMA */
  readonly oldAddr: number;
  readonly newAddr: number;
  readonly len: number;
  readonly undo: boolean;
  /** [folio head pfn, old address of its first mapped page] of every folio rewritten */
  readonly rewritten: [number, number][];
  /** root of the new VMA's anon_vma, whose lock the walk holds (0 when it holds none) */
  readonly lockedRoot: number;
}

export interface LargeFolioHandler {
  readonly name: string;
  /**
   * A present PTE at `oldAddr` maps a page of large folio `folio` (the PTE lock of its
   * table is held). Relocate what it can and return the pages the walk may skip (>= 1),
   * or 0 to make the relocation fail.
   */
  pte?(w: RelocateWalk, oldAddr: number, folio: Folio): KGen<number>;
  /**
   * A PMD-mapped THP at `haddr` (covering [haddr, end) of the range): 'done' when it was
   * relocated at PMD level, 'split' when the PMD was split and the PTE walk should go
   * on, 'fail' to make the relocation fail.
   */
  pmd?(w: RelocateWalk, haddr: number, end: number): KGen<'done' | 'split' | 'fail'>;
}

export const LARGE_FOLIO = defineExtensionPoint<LargeFolioHandler>(
  'relocate-anon/large-folio',
  'single',
  'how MREMAP_RELOCATE_ANON treats large folios (default: give up, as the seed)',
);
