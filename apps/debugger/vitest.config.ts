import { defineConfig } from 'vitest/config';

// The debugger's tests: unit tests of the worker protocol in node, and one end-to-end
// test that builds the app, serves it and drives Debian's chromium headless.
export default defineConfig({
  test: {
    name: '@mmsim/debugger',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
  },
});
