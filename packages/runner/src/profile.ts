/**
 * Kernel profiles: which kernel a run simulates. A profile is data (the fields of a
 * scenario's `"kernel"` block) plus the implementations it chooses for the model's
 * extension points: MERGE_POLICY (the model's own mm/vma.c rules by default),
 * MREMAP_STRATEGY (@mmsim/relocate-anon's variant, or none) and LARGE_FOLIO
 * (@mmsim/large-folio, or none). Every slot is wired the same way, and a user's plugin
 * that provides a single point replaces the profile's choice for it.
 *
 * The runner cannot import the plugin packages (they build on it), so whoever has them
 * passes them in as `ProfileImplementations` (the CLI loads them by package name). It
 * knows no plugin's points either: a slot is taken when a user's plugin provides a point
 * the slot's implementation provides.
 */
import type { ExtensionPoint, Plugin } from '@mmsim/core';
import type { KernelBlock, RelocateAnonSetting, Scenario, ThpMode } from '@mmsim/scenario';
import { linuxMergePolicyPlugin, type KernelConfig } from '@mmsim/linux';

export type PluginSpec = Plugin<unknown> | [Plugin<unknown>, unknown];

/** Every field of a scenario's kernel block, all set. */
export interface KernelProfile {
  relocateAnon: RelocateAnonSetting;
  largeFolio: boolean;
  mthp: number[];
  thp: ThpMode;
}

/** Linux 6.18.y with the MREMAP_RELOCATE_ANON series (its converged form, large folios included). */
export const DEFAULT_PROFILE: Readonly<KernelProfile> = Object.freeze({ relocateAnon: 'fixed', largeFolio: true, mthp: [], thp: 'madvise' });
/** Linux 6.18.y as released: mremap() flags 8 and 16 are EINVAL. */
export const STOCK_PROFILE: Readonly<KernelProfile> = Object.freeze({ relocateAnon: 'none', largeFolio: false, mthp: [], thp: 'madvise' });

/** Where an effective setting came from. */
export type ProfileSource = 'default' | 'scenario' | 'option';

export interface EffectiveProfile {
  profile: KernelProfile;
  /** per field: the profile's default, the scenario's kernel block, or an option (the CLI) */
  from: Record<keyof KernelProfile, ProfileSource>;
  /** fields an option set over a different value of the scenario's kernel block */
  overridden: { field: keyof KernelProfile; scenario: unknown; option: unknown }[];
}

const FIELDS: readonly (keyof KernelProfile)[] = ['relocateAnon', 'largeFolio', 'mthp', 'thp'];

/**
 * The profile a scenario runs under: `base` (default: DEFAULT_PROFILE), then the
 * scenario's kernel block, then `options` (a command line's), each field on its own.
 */
export function effectiveProfile(s: Pick<Scenario, 'kernel'>, options: KernelBlock = {}, base: Readonly<KernelProfile> = DEFAULT_PROFILE): EffectiveProfile {
  const profile: KernelProfile = { ...base, mthp: [...base.mthp] };
  const from = { relocateAnon: 'default', largeFolio: 'default', mthp: 'default', thp: 'default' } as Record<keyof KernelProfile, ProfileSource>;
  const overridden: EffectiveProfile['overridden'] = [];
  const set = (f: keyof KernelProfile, v: unknown, src: ProfileSource) => {
    (profile as unknown as Record<string, unknown>)[f] = Array.isArray(v) ? [...v] : v;
    from[f] = src;
  };
  for (const f of FIELDS) {
    const sv = s.kernel?.[f];
    const ov = options[f];
    if (sv !== undefined) set(f, sv, 'scenario');
    if (ov !== undefined) {
      if (sv !== undefined && JSON.stringify(sv) !== JSON.stringify(ov)) overridden.push({ field: f, scenario: sv, option: ov });
      set(f, ov, 'option');
    }
  }
  return { profile, from, overridden };
}

/** The implementations a profile chooses from, one per extension point. */
export interface ProfileImplementations {
  /** MERGE_POLICY (default: the model's mm/vma.c rules) */
  mergePolicy: PluginSpec;
  /** MREMAP_STRATEGY: the @mmsim/relocate-anon plugin; it takes `{ variant }` */
  relocateAnon?: Plugin<{ variant?: string }>;
  /** LARGE_FOLIO: the @mmsim/large-folio plugin */
  largeFolio?: Plugin<unknown>;
}

export const DEFAULT_IMPLEMENTATIONS: Readonly<ProfileImplementations> = Object.freeze({ mergePolicy: linuxMergePolicyPlugin });

/** A profile asks for an implementation nobody passed (its package is named). */
export class ProfileError extends Error {
  override name = 'ProfileError';
  constructor(
    message: string,
    /** the npm package that provides the missing implementation */
    readonly missingPackage?: string,
  ) {
    super(message);
  }
}

const pluginOf = (p: PluginSpec): Plugin<unknown> => (Array.isArray(p) ? p[0] : p);

/** A plugin's setup run against a recording host: the single points it provides, or what it threw. */
function dryRunSetup(p: PluginSpec): { points: Set<string>; error?: unknown } {
  const points = new Set<string>();
  const [plugin, options] = Array.isArray(p) ? p : [p, undefined];
  try {
    plugin.setup({ provide: (point: ExtensionPoint<unknown>) => void (point.kind === 'single' && points.add(point.id)) }, options);
  } catch (error) {
    return { points, error };
  }
  return { points };
}

/** The single extension points a plugin's setup provides (run against a recording host). */
export function providedPoints(p: PluginSpec): Set<string> {
  // an error is reported by the plugin's real registration, with the plugin named
  return dryRunSetup(p).points;
}

/**
 * The plugins a profile runs with: its merge policy, relocate-anon with the variant
 * (unless "none"), large-folio (when on, with relocate-anon), then `extra` (a user's). A user's plugin
 * that provides MERGE_POLICY or LARGE_FOLIO takes that slot: the profile's choice for
 * it is left out.
 */
export function profilePlugins(profile: KernelProfile, impls: Partial<ProfileImplementations> = {}, extra: readonly PluginSpec[] = []): PluginSpec[] {
  const all: ProfileImplementations = { ...DEFAULT_IMPLEMENTATIONS, ...impls };
  const taken = new Set<string>();
  for (const p of extra) for (const id of providedPoints(p)) taken.add(id);
  const out: PluginSpec[] = [];
  /** a user's plugin provides a single point this implementation provides */
  const isTaken = (impl: PluginSpec) => [...providedPoints(impl)].some((id) => taken.has(id));
  if (!isTaken(all.mergePolicy)) out.push(all.mergePolicy);
  if (profile.relocateAnon !== 'none') {
    if (!all.relocateAnon)
      throw new ProfileError(
        `the profile asks for MREMAP_RELOCATE_ANON (relocateAnon "${profile.relocateAnon}"), which needs @mmsim/relocate-anon; install it, or run the stock kernel (relocateAnon "none")`,
        '@mmsim/relocate-anon',
      );
    const spec: PluginSpec = [all.relocateAnon as Plugin<unknown>, { variant: profile.relocateAnon }];
    // which variants exist is the plugin's to say (its variant table): ask it before the run
    const { error } = dryRunSetup(spec);
    if (error !== undefined) throw new ProfileError(`relocateAnon "${profile.relocateAnon}": ${error instanceof Error ? error.message : String(error)}`);
    out.push(spec);
  }
  // the large-folio extension is the series': only MREMAP_RELOCATE_ANON's walk calls it
  if (profile.largeFolio && profile.relocateAnon !== 'none') {
    if (!all.largeFolio)
      throw new ProfileError('the profile asks for large folios (largeFolio true), which needs @mmsim/large-folio; install it, or turn it off (largeFolio false)', '@mmsim/large-folio');
    if (!isTaken(all.largeFolio)) out.push(all.largeFolio);
  }
  for (const p of extra) if (!out.some((q) => pluginOf(q).name === pluginOf(p).name)) out.push(p);
  return out;
}

/** The KernelConfig fields a profile sets (sysfs: transparent_hugepage/enabled, hugepages-*kB/enabled). */
export function profileConfig(p: KernelProfile): Partial<KernelConfig> {
  return { thp: p.thp, mthpOrders: [...p.mthp] };
}
