import { describe, expect, it } from 'vitest';
import { decodeLogFile, defineExtensionPoint, definePlugin, encodeLogFile } from '@mmsim/core';
import { parseScenario } from '@mmsim/scenario';
import { MERGE_POLICY, definePolicyPlugin, linuxMergePolicy, linuxMergePolicyPlugin } from '@mmsim/linux';
import { DEFAULT_PROFILE, ProfileError, STOCK_PROFILE, effectiveProfile, profilePlugins, providedPoints } from './profile.js';
import { resolveRun, runScenario } from './run.js';

const scenario = (kernel?: unknown) =>
  parseScenario({
    format: 'mmsim-scenario/1',
    name: 'p',
    arena: { pages: 32 },
    ...(kernel ? { kernel } : {}),
    steps: [
      { op: 'mmap', page: 0, pages: 10, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 10 },
      { op: 'mremap', page: 5, pages: 5, flags: ['MAYMOVE', 'FIXED'], to: 20 },
      { op: 'mremap', page: 20, pages: 5, flags: ['MAYMOVE', 'FIXED'], to: 5 },
    ],
  });

describe('effectiveProfile: default, then the scenario, then options', () => {
  it('is the default profile without a kernel block or options', () => {
    const e = effectiveProfile(scenario());
    expect(e.profile).toEqual(DEFAULT_PROFILE);
    expect(Object.values(e.from)).toEqual(['default', 'default', 'default', 'default']);
  });

  it('takes each field of the kernel block, and an option over it (recorded as an override)', () => {
    const e = effectiveProfile(scenario({ relocateAnon: 'patch-v1', thp: 'never' }), { relocateAnon: 'none', mthp: [4] });
    expect(e.profile).toEqual({ relocateAnon: 'none', largeFolio: true, mthp: [4], thp: 'never' });
    expect(e.from).toEqual({ relocateAnon: 'option', largeFolio: 'default', mthp: 'option', thp: 'scenario' });
    expect(e.overridden).toEqual([{ field: 'relocateAnon', scenario: 'patch-v1', option: 'none' }]);
  });

  it('an option equal to the block is not an override', () => {
    expect(effectiveProfile(scenario({ thp: 'always' }), { thp: 'always' }).overridden).toEqual([]);
  });
});

describe('profilePlugins: one slot per extension point', () => {
  it('the stock profile has only the model\'s merge policy', () => {
    expect(profilePlugins(STOCK_PROFILE)).toEqual([linuxMergePolicyPlugin]);
  });

  it('a profile that needs a missing implementation names its package', () => {
    let err: unknown;
    try {
      profilePlugins(DEFAULT_PROFILE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProfileError);
    expect((err as ProfileError).missingPackage).toBe('@mmsim/relocate-anon');
    expect((err as Error).message).toMatch(/relocateAnon "none"/);
  });

  it("a user's plugin that provides MERGE_POLICY takes the slot (and changes the outcome)", () => {
    const never = definePolicyPlugin('never-merge', { ...linuxMergePolicy, name: 'never', canVmaMergeAfter: () => false, canVmaMergeBefore: () => false });
    expect([...providedPoints(never)]).toEqual([MERGE_POLICY.id]);
    expect(profilePlugins(STOCK_PROFILE, {}, [never])).toEqual([never]);
    //                    0123456789
    // two mmaps:         AAAAABBBBB  -> one VMA with mm/vma.c's rules, two with never-merge
    const s = parseScenario({
      format: 'mmsim-scenario/1',
      name: 'two-mmaps',
      arena: { pages: 16 },
      kernel: { relocateAnon: 'none' },
      steps: [
        { op: 'mmap', page: 0, pages: 5, prot: 'rw-' },
        { op: 'mmap', page: 5, pages: 5, prot: 'rw-' },
      ],
    });
    expect(runScenario(s).observation.snapshots[0].procs[0].vmas).toEqual([{ start: 0, end: 10, perms: 'rw-p', vmFlags: 'ac' }]);
    const r = runScenario(s, { plugins: [never] });
    expect(r.observation.snapshots[0].procs[0].vmas).toEqual([
      { start: 0, end: 5, perms: 'rw-p', vmFlags: 'ac' },
      { start: 5, end: 10, perms: 'rw-p', vmFlags: 'ac' },
    ]);
    expect(r.header.config.plugins).toEqual([{ name: 'never-merge', version: null, options: null }]);
  });

  it('a variant the relocate-anon implementation refuses is a ProfileError with its reason, before any run', () => {
    // the variant table is the plugin's: the runner asks it (a dry run of its setup)
    const relocateAnon = definePlugin<{ variant: string }>({
      name: 'stand-in-relocate',
      setup: (_h, o) => {
        if (o?.variant !== 'fixed') throw new Error(`unknown variant "${o?.variant}"; choose one of fixed`);
      },
    });
    const profile = { ...DEFAULT_PROFILE, largeFolio: false, relocateAnon: 'v2' };
    expect(() => profilePlugins(profile, { relocateAnon })).toThrow(ProfileError);
    expect(() => profilePlugins(profile, { relocateAnon })).toThrow('relocateAnon "v2": unknown variant "v2"; choose one of fixed');
    expect(profilePlugins({ ...profile, relocateAnon: 'fixed' }, { relocateAnon })).toEqual([linuxMergePolicyPlugin, [relocateAnon, { variant: 'fixed' }]]);
  });

  it("a user's plugin that provides the large-folio implementation's point takes that slot", () => {
    // the runner knows no plugin's points: the slot is whatever its implementation provides
    const POINT = defineExtensionPoint<{ name: string }>('test/large', 'single', 'a stand-in for LARGE_FOLIO');
    const largeFolio = definePlugin({ name: 'stand-in-large-folio', setup: (h) => h.provide(POINT, { name: 'default' }) });
    const relocateAnon = definePlugin<{ variant: string }>({ name: 'stand-in-relocate', setup: () => {} });
    const mine = definePlugin({ name: 'my-large-folio', setup: (h) => h.provide(POINT, { name: 'mine' }) });
    const impls = { relocateAnon, largeFolio };
    expect(profilePlugins(DEFAULT_PROFILE, impls)).toEqual([linuxMergePolicyPlugin, [relocateAnon, { variant: 'fixed' }], largeFolio]);
    expect(profilePlugins(DEFAULT_PROFILE, impls, [mine])).toEqual([linuxMergePolicyPlugin, [relocateAnon, { variant: 'fixed' }], mine]);
  });
});

describe('a scenario with a kernel block runs under a profile; its log header says which', () => {
  it('the header records the profile, where each setting came from, the plugins and the scenario', () => {
    const s = scenario({ relocateAnon: 'none', thp: 'never', mthp: [2] });
    const r = runScenario(s);
    expect(r.kernel.config.thp).toBe('never');
    expect(r.kernel.config.mthpOrders).toEqual([2]);
    const back = decodeLogFile(encodeLogFile(r.engine.log, r.header)).header;
    expect(back.config.profile).toEqual({ relocateAnon: 'none', largeFolio: true, mthp: [2], thp: 'never' });
    expect(back.config.profileFrom).toEqual({ relocateAnon: 'scenario', largeFolio: 'default', mthp: 'scenario', thp: 'scenario' });
    expect(back.config.plugins).toEqual([{ name: '@mmsim/linux/merge-policy', version: '0.1.0', options: null }]);
    expect(back.config.scenarioSpec).toEqual(s);
    // the recorded scenario runs again to the same observation
    expect(runScenario(parseScenario(back.config.scenarioSpec)).observation).toEqual(r.observation);
  });

  it("config (this machine's settings) replaces the profile's defaults, not the kernel block's choices", () => {
    const host = { thp: 'always' as const, mthpOrders: [3] };
    const a = resolveRun(scenario({ relocateAnon: 'none' }), { config: host });
    expect(a.config).toMatchObject({ thp: 'always', mthpOrders: [3] });
    expect(a.profile?.profile).toMatchObject({ thp: 'always', mthp: [3] });
    const b = resolveRun(scenario({ relocateAnon: 'none', thp: 'never' }), { config: host });
    expect(b.config).toMatchObject({ thp: 'never', mthpOrders: [3] });
    const c = resolveRun(scenario({ relocateAnon: 'none' }), { config: host, kernelOptions: { mthp: [] } });
    expect(c.config.mthpOrders).toEqual([]);
  });

  it('without a block or profile options a run has the given plugins only (profile null)', () => {
    const r = resolveRun(scenario());
    expect(r.profile).toBeNull();
    expect(r.plugins).toEqual([]);
    expect(runScenario(scenario()).header.config.profile).toBeNull();
  });
});
