/**
 * Kernel profiles on the command line: the options that choose one, their help text, and
 * the lines that say which profile a run had (and what an option overrode).
 */
import type { Command } from 'commander';
import {
  MREMAP_FLAGS,
  THP_MODES,
  parseKernelBlock,
  type KernelBlock,
  type Observation,
  type Scenario,
} from '@mmsim/scenario';
import { LATEST_RELEASE, RELEASE_CHANGES, releaseDifferences, releaseOfUname } from '@mmsim/linux';
import { RELOCATE_ANON_VARIANTS } from '@mmsim/relocate-anon';
import { CliError, EXIT } from './context.js';
import type { LogHeader } from '@mmsim/core';
import type { EffectiveProfile, KernelProfile } from '@mmsim/runner';

export interface ProfileCliOptions {
  relocateVariant?: string;
  largeFolio?: string;
  thp?: string;
  mthp?: string;
  kernel?: string;
}

const OPTION_OF: Record<string, string> = {
  'kernel.relocateAnon': '--relocate-variant',
  'kernel.largeFolio': '--large-folio',
  'kernel.thp': '--thp',
  'kernel.mthp': '--mthp',
  'kernel.release': '--kernel',
};

/** "none" (the stock kernel) and every variant of @mmsim/relocate-anon, whose table they are. */
const RELOCATE_ANON_SETTINGS: readonly string[] = ['none', ...Object.keys(RELOCATE_ANON_VARIANTS)];

/** Add --relocate-variant, --large-folio, --thp and --mthp, and the profiles' help. */
export function addProfileOptions(cmd: Command): Command {
  const width = Math.max(...RELOCATE_ANON_SETTINGS.map((v) => v.length));
  const variants = [
    `  ${'none'.padEnd(width)}  the stock 6.18 kernel: mremap() flags 8 and 16 (RELOCATE_ANON, MUST_RELOCATE_ANON) are EINVAL`,
    ...Object.entries(RELOCATE_ANON_VARIANTS).map(([v, what]) => `  ${v.padEnd(width)}  ${what}`),
  ];
  return cmd
    .option('--relocate-variant <variant>', `MREMAP_RELOCATE_ANON variant (@mmsim/relocate-anon), or none for the stock kernel (default: fixed; list below)`)
    .option('--large-folio <on|off>', 'the series\' large-folio extension (@mmsim/large-folio; default: on)')
    .option('--thp <mode>', `transparent_hugepage/enabled: ${THP_MODES.join(', ')} (default: madvise)`)
    .option('--mthp <orders>', 'mTHP orders enabled at PTE level, comma-separated, e.g. 4 or 2,4; "none" for none (default: none)')
    .option('--kernel <release>', `the 6.18 stable release whose code runs, e.g. 6.18.7 (default: ${LATEST_RELEASE}, the newest; list below)`)
    .addHelpText(
      'after',
      `
Kernel profiles:
  A run simulates Linux 6.18.y with the MREMAP_RELOCATE_ANON series (relocate-anon "fixed",
  large folios on, THP "madvise", no mTHP). A scenario's "kernel" block sets any of these for
  that scenario ({"relocateAnon", "largeFolio", "mthp", "thp"}); an option here overrides the
  block, and the output says so. The log header records the profile, so later commands need
  no options.

MREMAP_RELOCATE_ANON variants (--relocate-variant, "kernel": {"relocateAnon": ...}):
${variants.join('\n')}

Kernel releases (--kernel, "kernel": {"release": ...}): where 6.18 stable releases differ, the
model runs the named one's code; the log header records it, and diff says "not comparable"
when this machine's release runs other code. What differs:
${RELEASE_CHANGES.map((c) => `  before ${c.since}: ${c.title} (${c.commits.join(', ')})`).join('\n')}
`,
    );
}

/** The options as a kernel block, validated as strictly as a scenario's (the option named). */
export function kernelOptionsFrom(o: ProfileCliOptions): KernelBlock {
  const raw: Record<string, unknown> = {};
  if (o.relocateVariant !== undefined) {
    if (!RELOCATE_ANON_SETTINGS.includes(o.relocateVariant))
      throw new CliError(`--relocate-variant: must be one of ${RELOCATE_ANON_SETTINGS.map((v) => JSON.stringify(v)).join(', ')}, got string ${JSON.stringify(o.relocateVariant)}`, EXIT.BAD_INPUT);
    raw.relocateAnon = o.relocateVariant;
  }
  if (o.largeFolio !== undefined) {
    if (o.largeFolio !== 'on' && o.largeFolio !== 'off') throw new CliError(`--large-folio must be "on" or "off", got "${o.largeFolio}"`, EXIT.BAD_INPUT);
    raw.largeFolio = o.largeFolio === 'on';
  }
  if (o.thp !== undefined) raw.thp = o.thp;
  if (o.mthp !== undefined) {
    const t = o.mthp.trim();
    raw.mthp = t === '' || t === 'none' ? [] : t.split(',').map((x) => (/^\s*\d+\s*$/.test(x) ? Number(x) : x.trim()));
  }
  if (o.kernel !== undefined) raw.release = o.kernel;
  return parseKernelBlock(raw, (reason, field) => {
    const opt = OPTION_OF[field.replace(/\[\d+\]$/, '')] ?? field;
    throw new CliError(`${opt}: ${reason}`, EXIT.BAD_INPUT);
  });
}

/** "Linux 6.18.y + MREMAP_RELOCATE_ANON (fixed), large folios, THP madvise"; `release`: the 6.18 release that ran, when one was named */
export function describeProfile(p: KernelProfile, release = '6.18.y'): string {
  const linux = `Linux ${release}`;
  const parts = [p.relocateAnon === 'none' ? `${linux} (stock: no MREMAP_RELOCATE_ANON)` : `${linux} + MREMAP_RELOCATE_ANON (${p.relocateAnon})`];
  // the large-folio extension is the series' (it changes only what MREMAP_RELOCATE_ANON does)
  if (p.relocateAnon !== 'none') parts.push(p.largeFolio ? 'large folios' : 'without its large-folio extension');
  parts.push(`THP ${p.thp}`);
  if (p.mthp.length) parts.push(`mTHP orders ${p.mthp.join(',')}`);
  return parts.join(', ');
}

const FIELD_OPTION: Record<keyof KernelProfile, string> = { relocateAnon: '--relocate-variant', largeFolio: '--large-folio', thp: '--thp', mthp: '--mthp' };
const show = (field: keyof KernelProfile, v: unknown) => (field === 'largeFolio' ? (v ? 'on' : 'off') : Array.isArray(v) ? v.join(',') || 'none' : String(v));

/**
 * Why a run of `release` cannot be compared with this machine's kernel (`uname`), or
 * null: the model runs them alike when no change of release.ts lies between them.
 */
export function releaseNotComparable(release: string | undefined, uname: string, revert: readonly string[] = []): string | null {
  if (revert.length) return `the run reverts ${revert.join(', ')}, a fix this machine's kernel has`;
  if (release === undefined) return null;
  const machine = releaseOfUname(uname);
  if (machine === null) return `the run is Linux ${release}, this machine runs ${uname}, which the model does not know`;
  const diff = releaseDifferences(release, machine);
  if (!diff.length) return null;
  return `the run is Linux ${release}, whose code differs from this machine's ${machine}: ${diff.map((c) => `${c.title} (since ${c.since})`).join('; ')}`;
}

/** The 6.18 release a run's scenario or options named (its log header's kernel config), if any. */
export function runRelease(res: { header: { config?: Record<string, unknown> } }): string | undefined {
  const r = (res.header.config?.kernel as { release?: unknown } | undefined)?.release;
  return typeof r === 'string' ? r : undefined;
}

/** The fixes a run reverted (its log header's kernel config). */
export function runReverts(res: { header: { config?: Record<string, unknown> } }): string[] {
  const r = (res.header.config?.kernel as { revert?: unknown } | undefined)?.revert;
  return Array.isArray(r) ? r.filter((x): x is string => typeof x === 'string') : [];
}

/** What the run's profile was, when the scenario or an option chose any of it (or named a release). */
export function profileLines(eff: EffectiveProfile | null | undefined, release?: string): string[] {
  if (!eff) return [];
  const chosen = (Object.keys(eff.from) as (keyof KernelProfile)[]).filter((f) => eff.from[f] !== 'default');
  if (!chosen.length && release === undefined) return [];
  const out = [`kernel: ${describeProfile(eff.profile, release)}`];
  for (const o of eff.overridden)
    out.push(`note: ${FIELD_OPTION[o.field]} ${show(o.field, o.option)} overrides the scenario's kernel.${o.field} ${JSON.stringify(o.scenario)}`);
  return out;
}

/** The default profile's settings (@mmsim/runner DEFAULT_PROFILE), for commands that run no simulator. */
export const DEFAULT_KERNEL_SETTINGS = { relocateAnon: 'fixed', largeFolio: true, mthp: [] as number[], thp: 'madvise' } as const;

const RELOCATE_FLAGS = MREMAP_FLAGS.filter((f) => f.includes('RELOCATE'));

/** Does the scenario use MREMAP_RELOCATE_ANON or MREMAP_MUST_RELOCATE_ANON? */
export function usesRelocateFlags(s: Scenario): boolean {
  return s.steps.some((st) => st.op === 'mremap' && st.flags.some((f) => (RELOCATE_FLAGS as readonly string[]).includes(f)));
}

/**
 * The hint for an EINVAL that surprises: a RELOCATE flag under relocateAnon "none"
 * (the stock kernel has no such flag). One line per such step, naming what turns it on.
 */
export function relocateHints(s: Scenario, obs: Observation, eff: EffectiveProfile | null | undefined): string[] {
  if (!eff || eff.profile.relocateAnon !== 'none') return [];
  const from =
    eff.from.relocateAnon === 'option' ? '--relocate-variant none' : eff.from.relocateAnon === 'scenario' ? 'the scenario\'s "kernel": {"relocateAnon": "none"}' : 'the profile';
  const out: string[] = [];
  for (const st of obs.steps) {
    const step = s.steps[st.i];
    if (step?.op !== 'mremap' || !step.flags.some((f) => (RELOCATE_FLAGS as readonly string[]).includes(f))) continue;
    if (st.result.ok || !('errno' in st.result) || st.result.errno !== 'EINVAL') continue;
    out.push(
      `hint: step ${st.i}: EINVAL because ${from} runs the stock kernel, which has no ${step.flags.filter((f) => f.includes('RELOCATE')).join('/')}; ` +
        `--relocate-variant fixed (or "kernel": {"relocateAnon": "fixed"}) turns it on`,
    );
  }
  return out;
}

/** What a log header says about its run: the profile and the plugins (older logs: less). */
export function headerLines(header: LogHeader): string[] {
  const c = header.config as { profile?: KernelProfile | null; plugins?: { name?: string; version?: string | null; options?: unknown }[] };
  const out: string[] = [];
  if (c.profile) out.push(`kernel: ${describeProfile(c.profile)}`);
  if (Array.isArray(c.plugins) && c.plugins.length)
    out.push(
      `plugins: ${c.plugins
        .map((p) => `${p.name}${p.version ? `@${p.version}` : ''}${p.options !== null && p.options !== undefined ? ` ${JSON.stringify(p.options)}` : ''}`)
        .join(', ')}`,
    );
  return out;
}
