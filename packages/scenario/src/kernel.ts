/**
 * The optional top-level `"kernel"` block of an mmsim-scenario/1: which kernel the
 * scenario is meant for. Every field is optional; a missing one is the profile's (the
 * default profile: Linux 6.18.y with the MREMAP_RELOCATE_ANON series).
 *
 *   "kernel": { "relocateAnon": "none", "largeFolio": false, "mthp": [4], "thp": "always" }
 */

/**
 * `"none"` (the stock kernel, without the MREMAP_RELOCATE_ANON series: flags 8 and 16 are
 * EINVAL) or the name of a variant of @mmsim/relocate-anon (e.g. "fixed"). The variants
 * are that plugin's: the format checks the name's shape, the run's profile that the
 * plugin knows it.
 */
export type RelocateAnonSetting = string;
/** A variant name's shape: lowercase words joined by hyphens ("fixed", "bug-skip-swap"). */
export const RELOCATE_ANON_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

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
    if (typeof o.relocateAnon !== 'string' || !RELOCATE_ANON_NAME.test(o.relocateAnon))
      fail(`must be "none" or a variant of @mmsim/relocate-anon such as "fixed" (lowercase, hyphenated), got ${show(o.relocateAnon)}`, 'kernel.relocateAnon');
    out.relocateAnon = o.relocateAnon;
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
