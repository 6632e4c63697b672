/**
 * The demo's scenarios, as `mmsim-scenario/1` objects: the story of the
 * MREMAP_RELOCATE_ANON series. A VMA is split by moving half of it away with mremap;
 * both halves are written to (faulted) while apart, each gets its own anon_vma and the
 * moved half keeps the page offset of where it was faulted. Moving it back puts it
 * exactly where it came from, yet the kernel cannot merge the two halves again
 * (different anon_vma, vm_pgoff that does not line up): one mapping is now two VMAs,
 * two anon_vmas, two anon_vma_chains, for good. With MREMAP_RELOCATE_ANON the move
 * back rewrites the folios' index and mapping, and the halves merge into one VMA.
 */
import type { Scenario } from '@mmsim/scenario';

export const DEMO_PAGES = 10;

function story(name: string, description: string, relocate: boolean): Scenario {
  return {
    format: 'mmsim-scenario/1',
    name,
    description,
    arena: { pages: 64 },
    steps: [
      { op: 'mmap', proc: 0, page: 0, pages: DEMO_PAGES, prot: 'rw-', shared: false, fixed: false, noreserve: false },
      { op: 'snapshot', proc: 0, label: 'mapped' },
      { op: 'mremap', proc: 0, page: 5, pages: 5, newPages: 5, flags: ['MAYMOVE', 'FIXED'], to: 40 },
      { op: 'touch', proc: 0, page: 0, pages: 5, access: 'write' },
      { op: 'touch', proc: 0, page: 40, pages: 5, access: 'write' },
      { op: 'snapshot', proc: 0, label: 'moved away and faulted' },
      {
        op: 'mremap',
        proc: 0,
        page: 40,
        pages: 5,
        newPages: 5,
        flags: relocate ? ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'] : ['MAYMOVE', 'FIXED'],
        to: 5,
      },
      { op: 'snapshot', proc: 0, label: 'moved back' },
    ],
  };
}

/** Mainline Linux 6.18: the move back leaves two VMAs. */
export const DEMO_MAINLINE: Scenario = story(
  'demo-move-away-and-back',
  'half of a 10-page mapping is moved away with mremap, both halves are faulted, then the half is moved back',
  false,
);

/** The same with MREMAP_RELOCATE_ANON on the move back. */
export const DEMO_RELOCATE: Scenario = story(
  'demo-move-away-and-back-relocate-anon',
  'the same story, moving back with MREMAP_RELOCATE_ANON: the folios are relocated and the VMAs merge',
  true,
);
