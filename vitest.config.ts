import { defineConfig } from 'vitest/config';

// One Vitest project per workspace package (tests live beside the code in src/).
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tools/*'],
    // the oracle and fuzz suites run real processes; keep them from starving each other
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
