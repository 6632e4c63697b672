import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RELOCATE_ANON_VARIANTS } from '@mmsim/scenario';
import { RELOCATE_VARIANTS, behaviourOf } from './index.js';

describe('the variants', () => {
  it('are the scenario format\'s list, each with its own behaviour (fixed: none of the bugs)', () => {
    expect(RELOCATE_VARIANTS).toEqual(Object.keys(RELOCATE_ANON_VARIANTS));
    const seen = new Set(RELOCATE_VARIANTS.map((v) => JSON.stringify(behaviourOf(v))));
    expect(seen.size).toBe(RELOCATE_VARIANTS.length);
    expect(Object.values(behaviourOf('fixed')).every((x) => x === false)).toBe(true);
  });

  it('the README says in one line what each one is, as --help does', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const [v, what] of Object.entries(RELOCATE_ANON_VARIANTS)) expect(readme).toContain(`| \`${v}\` | ${what} |`);
  });
});
