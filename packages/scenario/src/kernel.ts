/**
 * The optional top-level `"kernel"` block of an mmsim-scenario/1: which kernel the
 * scenario is meant for. Every field is optional; a missing one is the profile's (the
 * default profile: Linux 6.18.y with the MREMAP_RELOCATE_ANON series).
 *
 *   "kernel": { "relocateAnon": "none", "largeFolio": false, "mthp": [4], "thp": "always" }
 */

/**
 * The MREMAP_RELOCATE_ANON variants (@mmsim/relocate-anon), each in one line. `none` is
 * not one of them: it is the stock kernel, without the series (flags 8 and 16 are EINVAL).
 */
export const RELOCATE_ANON_VARIANTS = {
  fixed: 'the series as it converged in review (the default)',
  'patch-v1': 'the seed patch to the letter: folio_lock() under the PTE lock, pinned folios and swap entries skipped',
  'bug-folio-lock': 'seeded bug: folio_lock() (sleeps) instead of folio_trylock() under the PTE lock',
  'bug-unbalanced-rmap-lock': 'seeded bug: the page-table move takes the rmap lock again and leaves one held',
  'bug-fork-parent': 'seeded bug: the shared-folio check looks only at the anon_vma chain (misses the fork parent)',
  'bug-grandchildren': "seeded bug: the shared-folio check counts only direct children (misses grandchildren)",
  'bug-skip-swap': 'seeded bug: swap entries are skipped instead of aborting the relocation',
  'bug-undo-all': 'seeded bug: the undo rewrites every folio of the range, not only those it edited',
  'bug-unlocked-new-anon-vma': "seeded bug: the new VMA's anon_vma is not locked while folios are rewritten",
  'bug-skip-pinned': 'seeded bug: a pinned folio is skipped instead of aborting the relocation',
} as const;
export type RelocateAnonVariant = keyof typeof RELOCATE_ANON_VARIANTS;
/** A variant name, or `"none"` for the stock kernel. */
export type RelocateAnonSetting = RelocateAnonVariant | 'none';
export const RELOCATE_ANON_SETTINGS: readonly RelocateAnonSetting[] = ['none', ...(Object.keys(RELOCATE_ANON_VARIANTS) as RelocateAnonVariant[])];

/** /sys/kernel/mm/transparent_hugepage/enabled */
export const THP_MODES = ['always', 'madvise', 'never'] as const;
export type ThpMode = (typeof THP_MODES)[number];

/** mTHP orders the PTE-level fault path may allocate (1 .. HPAGE_PMD_ORDER - 1). */
export const MTHP_MIN_ORDER = 1;
export const MTHP_MAX_ORDER = 8;

export interface KernelBlock {
  /** a variant of @mmsim/relocate-anon, or "none" (the stock kernel) */
  relocateAnon?: RelocateAnonSetting;
  /** the large-folio extension of the series (@mmsim/large-folio) */
  largeFolio?: boolean;
  /** enabled mTHP orders, ascending (hugepages-<size>kB/enabled = always) */
  mthp?: number[];
  thp?: ThpMode;
  /**
   * the 6.18 stable release whose code the simulator runs, "6.18.N" or "6.18.y" (the
   * newest it models): where releases differ (@mmsim/linux release.ts), e.g. "6.18.7",
   * before the CVE-2026-23077 fix. Absent: the newest.
   */
  release?: string;
  /** fixes the simulator undoes (the bug zoo's variants; @mmsim/linux release.ts HISTORIC_FIXES) */
  revert?: string[];
}

export const KERNEL_BLOCK_FIELDS = ['relocateAnon', 'largeFolio', 'mthp', 'thp', 'release', 'revert'] as const;

/** "6.18.N" (a 6.18 stable release) or "6.18.y" (the newest the model follows). */
export const KERNEL_RELEASE_RE = /^6\.18\.(0|[1-9][0-9]{0,2}|y)$/;

const show = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `string ${JSON.stringify(v)}` : `${typeof v} ${JSON.stringify(v)}`;

/**
 * Validate a `"kernel"` value strictly. `fail(reason, field)` throws (the caller's
 * ScenarioError with the file); fields are named `kernel.<name>`.
 */
export function parseKernelBlock(raw: unknown, fail: (reason: string, field: string) => never): KernelBlock {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(`must be an object, got ${show(raw)}`, 'kernel');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!(KERNEL_BLOCK_FIELDS as readonly string[]).includes(k)) fail(`unknown field (known: ${KERNEL_BLOCK_FIELDS.join(', ')})`, `kernel.${k}`);
  const out: KernelBlock = {};
  if (o.relocateAnon !== undefined) {
    if (typeof o.relocateAnon !== 'string' || !(RELOCATE_ANON_SETTINGS as readonly string[]).includes(o.relocateAnon))
      fail(`must be one of ${RELOCATE_ANON_SETTINGS.map((v) => JSON.stringify(v)).join(', ')}, got ${show(o.relocateAnon)}`, 'kernel.relocateAnon');
    out.relocateAnon = o.relocateAnon as RelocateAnonSetting;
  }
  if (o.largeFolio !== undefined) {
    if (typeof o.largeFolio !== 'boolean') fail(`must be true or false, got ${show(o.largeFolio)}`, 'kernel.largeFolio');
    out.largeFolio = o.largeFolio;
  }
  if (o.mthp !== undefined) {
    if (!Array.isArray(o.mthp)) fail(`must be an array of mTHP orders, got ${show(o.mthp)}`, 'kernel.mthp');
    const seen = new Set<number>();
    (o.mthp as unknown[]).forEach((v, i) => {
      if (!Number.isSafeInteger(v) || (v as number) < MTHP_MIN_ORDER || (v as number) > MTHP_MAX_ORDER)
        fail(`must be an order in [${MTHP_MIN_ORDER}, ${MTHP_MAX_ORDER}] (order 4 = 64 KiB folios), got ${show(v)}`, `kernel.mthp[${i}]`);
      if (seen.has(v as number)) fail(`duplicate order ${v}`, `kernel.mthp[${i}]`);
      seen.add(v as number);
    });
    out.mthp = [...seen].sort((a, b) => a - b);
  }
  if (o.thp !== undefined) {
    if (typeof o.thp !== 'string' || !(THP_MODES as readonly string[]).includes(o.thp))
      fail(`must be one of ${THP_MODES.map((m) => JSON.stringify(m)).join(', ')}, got ${show(o.thp)}`, 'kernel.thp');
    out.thp = o.thp as ThpMode;
  }
  if (o.release !== undefined) {
    if (typeof o.release !== 'string' || !KERNEL_RELEASE_RE.test(o.release))
      fail(`must be a 6.18 release such as "6.18.7", or "6.18.y" for the newest, got ${show(o.release)}`, 'kernel.release');
    out.release = o.release as string;
  }
  if (o.revert !== undefined) {
    if (!Array.isArray(o.revert) || !o.revert.every((x) => typeof x === 'string' && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(x)))
      fail(`must be an array of fix names such as "vma-merge-next-pgoff", got ${show(o.revert)}`, 'kernel.revert');
    out.revert = [...new Set(o.revert as string[])];
  }
  return out;
}
