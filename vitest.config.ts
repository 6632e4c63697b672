import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * One Vitest project per workspace package (tests live beside the code in src/).
 * Packages without a config of their own inherit the settings below (`extends: true`),
 * so the timeouts hold everywhere; a package with its own vitest.config.ts keeps it.
 */
const projects = ['packages', 'apps', 'tools'].flatMap((group) =>
  readdirSync(group, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(group, d.name, 'package.json')))
    .map((d) => {
      const root = join(group, d.name);
      if (existsSync(join(root, 'vitest.config.ts'))) return root;
      const name = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string }).name;
      return { extends: true, test: { name, include: [`${root}/src/**/*.test.ts`] } };
    }),
);

export default defineConfig({
  test: {
    projects,
    // the oracle and fuzz suites run real processes; give them room on a 2-core machine
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
