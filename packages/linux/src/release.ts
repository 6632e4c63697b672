/**
 * Kernel releases as the model knows them: the 6.18.y stable releases whose mm code
 * differs in a way an observation or a checker can tell. KernelConfig.release picks
 * one; the model asks `releaseHas(release, change)` where the code differs.
 *
 * Every change names the stable commit that brought it and the upstream commit it
 * backports, read from the stable tree's history (git log v6.18.7..v6.18.8 -- mm/vma.c).
 */

/** The newest code the model follows: every change below is in. */
export const LATEST_RELEASE = '6.18.y';

export interface ReleaseChange {
  /** what model code asks for */
  readonly id: string;
  /** the first 6.18.y release with the change */
  readonly since: string;
  /** the stable commit, then the upstream one */
  readonly commits: readonly string[];
  readonly title: string;
  /** what differs, in the model's terms */
  readonly what: string;
}

export const RELEASE_CHANGES = [
  {
    id: 'copied-from',
    since: '6.18.8',
    commits: ['a4d9dbfc1bab (upstream 61f67c230a5e)', '5b0caf3913e7 (upstream 3b617fd3d317)'],
    title: 'mm/vma: fix anon_vma UAF on mremap() faulted, unfaulted merge (CVE-2026-23077); mm/vma: enforce VMA fork limit on unfaulted,faulted mremap merge too',
    what:
      'copy_vma() merges through vma_merge_copied_range(): vmg->copied_from is the VMA mremap() copies, ' +
      'is_mergeable_anon_vma() refuses it when it is a fork child, and vma_expand() always dup_anon_vma()s from it. ' +
      'Before, copy_vma() passed middle = NULL to vma_merge_new_range(), and vma_expand() duplicated anon_vma ' +
      'state only from a next VMA it removed: an unfaulted prev or next that absorbed the moved folios kept no anon_vma',
  },
] as const satisfies readonly ReleaseChange[];

/**
 * Fixes of kernels before 6.18 whose bug the model can bring back, one at a time
 * (KernelConfig.revert, a scenario's "kernel": {"revert": [...]}): the bug zoo's variants.
 * The 6.18 code is not the old code; each revert brings back the wrong value or the
 * missing step the fix corrected, in the 6.18 function that does that job now.
 */
export const HISTORIC_FIXES = [
  {
    id: 'vma-merge-next-pgoff',
    since: '6.4 (and 6.3.2)',
    commits: ['7e7757876f25 (fixes 0503ea8f5ba7, v6.3)'],
    title: 'mm/mremap: fix vm_pgoff in vma_merge() case 3',
    what:
      'a new range merged into the VMA after it (vma_merge() case 3, now vma_merge_new_range() with target = next) ' +
      'moves its vm_start down without moving vm_pgoff with it: the folios it maps no longer sit at linear_page_index()',
  },
  {
    id: 'anon-vma-degree',
    since: '6.1 (and 6.0.3)',
    commits: ['2555283eb40d (CVE-2022-42703; fixes 7a3ef208e662, v3.19)'],
    title: 'mm/rmap: Fix anon_vma->degree ambiguity leading to double-reuse',
    what:
      'anon_vma_clone() reused an anon_vma of the source chain other than src->anon_vma whose degree ' +
      '(child anon_vmas + VMAs using it, one count) was below 2: a leaf still used by one VMA of another ' +
      'process qualifies, where the fix asks num_children < 2 && num_active_vmas == 0. ' +
      'The model keeps the two counters; their sum is the old degree at every event',
  },
  {
    id: 'dup-anon-vma-lock',
    since: '6.5 (and 6.4.8)',
    commits: ['d8ab9f7b644a (6.4.8: 912a99ac5e18; fixes 5e31275cc997, v6.4)'],
    title: 'mm: lock VMA in dup_anon_vma() before setting ->anon_vma',
    what:
      'vma_merge() called dup_anon_vma() on the VMA it expands before vma_prepare() write-locked it: ' +
      'dst->anon_vma is set while a page fault under the per-VMA lock can run on dst (and, if anon_vma_clone() ' +
      'fails, is reset with the fault\'s folios pointing to the anon_vma)',
  },
] as const satisfies readonly ReleaseChange[];

export type ReleaseChangeId = (typeof RELEASE_CHANGES)[number]['id'] | (typeof HISTORIC_FIXES)[number]['id'];
export type HistoricFixId = (typeof HISTORIC_FIXES)[number]['id'];

/** Is `id` a fix KernelConfig.revert can undo? */
export function isHistoricFix(id: string): id is HistoricFixId {
  return HISTORIC_FIXES.some((f) => f.id === id);
}

const RELEASE_RE = /^6\.18\.(\d{1,3}|y)$/;

/** The stable sublevel of "6.18.N" (Infinity for "6.18.y"), or null when it is not a 6.18 release. */
export function releaseSublevel(release: string): number | null {
  const m = RELEASE_RE.exec(release);
  if (!m) return null;
  return m[1] === 'y' ? Infinity : Number(m[1]);
}

/** The 6.18 release of a `uname -r` string ("6.18.44-fc-v1300" -> "6.18.44"), or null. */
export function releaseOfUname(uname: string): string | null {
  const m = /^(6\.18)(?:\.(\d+))?/.exec(uname);
  return m ? `${m[1]}.${m[2] ?? '0'}` : null;
}

function sublevelOrThrow(release: string): number {
  const n = releaseSublevel(release);
  if (n === null) throw new Error(`unknown kernel release "${release}": the model knows 6.18.N (N = 0, 1, ...) and ${LATEST_RELEASE}`);
  return n;
}

/** Does `release` have the change? (A historic fix is in every 6.18 release: see KernelConfig.revert.) */
export function releaseHas(release: string, id: ReleaseChangeId): boolean {
  const change = RELEASE_CHANGES.find((c) => c.id === id);
  if (!change) return true;
  return sublevelOrThrow(release) >= sublevelOrThrow(change.since);
}

/** The changes one of the two releases has and the other lacks: none means the model runs them alike. */
export function releaseDifferences(a: string, b: string): ReleaseChange[] {
  return RELEASE_CHANGES.filter((c) => releaseHas(a, c.id) !== releaseHas(b, c.id));
}
