import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RELOCATE_ANON_NAME, parseScenario } from '@mmsim/scenario';
import relocateAnon, { RELOCATE_ANON_VARIANTS, RELOCATE_VARIANTS, behaviourOf } from './index.js';

describe('the variants', () => {
  it('are one table: each name with its line and its own behaviour (fixed first: none of the bugs)', () => {
    expect(RELOCATE_VARIANTS).toEqual(Object.keys(RELOCATE_ANON_VARIANTS));
    expect(RELOCATE_VARIANTS[0]).toBe('fixed');
    const seen = new Set(RELOCATE_VARIANTS.map((v) => JSON.stringify(behaviourOf(v))));
    expect(seen.size).toBe(RELOCATE_VARIANTS.length);
    expect(Object.values(behaviourOf('fixed')).every((x) => x === false)).toBe(true);
  });

  it('the README says in one line what each one is, as --help does', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const [v, what] of Object.entries(RELOCATE_ANON_VARIANTS)) expect(readme).toContain(`| \`${v}\` | ${what} |`);
  });

  it("every name is one a scenario's kernel block can carry, and the plugin refuses any other", () => {
    for (const v of RELOCATE_VARIANTS) {
      expect(v).toMatch(RELOCATE_ANON_NAME);
      const s = parseScenario({ format: 'mmsim-scenario/1', name: 'k', arena: { pages: 4 }, kernel: { relocateAnon: v }, steps: [] });
      expect(s.kernel?.relocateAnon).toBe(v);
    }
    const host = { provide: () => {} };
    expect(() => relocateAnon.setup(host, { variant: 'v2' as never })).toThrow(/unknown variant "v2"; choose one of fixed, wp-seq, patch-v1, /);
  });
});
