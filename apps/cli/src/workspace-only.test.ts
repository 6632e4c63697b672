/** An installed CLI has no @mmsim/bench or @mmsim/fuzz: the command says why and where to run it, exit 2. */
import { afterEach, describe, expect, it } from 'vitest';
import { overrideModule } from './integrations.js';
import { cli, tmp } from './testing/harness.js';

const dir = tmp('mmsim-workspace-only-');

describe('bench and fuzz without their private packages', () => {
  afterEach(() => {
    overrideModule('@mmsim/bench', undefined);
    overrideModule('@mmsim/fuzz', undefined);
  });

  it.each([
    ['bench', ['bench', '--quick'], '@mmsim/bench'],
    ['fuzz', ['fuzz', '--count', '1'], '@mmsim/fuzz'],
  ])('mmsim %s: not part of the published CLI, a private tool of the monorepo; run it in a clone', async (name, args, pkg) => {
    overrideModule(pkg, null);
    const r = await cli(args, dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^mmsim: mmsim ${name} is not part of the published CLI: ${pkg} is a private tool of the mmsim monorepo \\(.*kernel oracle.*\\); run it in a clone of the repository \\(\`npm ci && npx mmsim ${name}\`\\) \\[${pkg} is not installed\\]\\n$`));
    expect(r.err).not.toContain('npm pack');
  });
});
