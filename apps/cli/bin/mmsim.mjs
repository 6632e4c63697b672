#!/usr/bin/env node
// mmsim's executable. Which code it runs:
//
//  - the compiled dist/main.js when this is an installed @mmsim/cli: npm pack's prepack
//    hook (tools/scripts/pack-manifest.mjs) builds dist/ and points the published
//    manifest's "exports" at ./dist, so a manifest that does is the published one;
//  - otherwise the TypeScript sources through tsx: the workspace is source-first, and a
//    dist/ left there by an earlier `npm pack` or `nx build` may be stale, so it is only
//    used when asked for with MMSIM_FROM=dist (MMSIM_FROM=src forces the sources).
//
// Running dist/, tsx is still registered when an argument names a TypeScript file
// (`mmsim run s.json --plugin ./my-strategy.ts`), so TypeScript plugins keep working.
import { existsSync, readFileSync } from 'node:fs';

const here = (p) => new URL(p, import.meta.url);
const pkg = JSON.parse(readFileSync(here('../package.json'), 'utf8'));
const rootExport = pkg.exports?.['.'];
const rootTarget = typeof rootExport === 'string' ? rootExport : (rootExport?.default ?? rootExport?.import);
const published = typeof rootTarget === 'string' && rootTarget.startsWith('./dist/');
const hasDist = existsSync(here('../dist/main.js'));
const from = process.env.MMSIM_FROM || (published && hasDist ? 'dist' : 'src');

// a bad setting sets the exit code and runs nothing (the process then ends by itself)
if (from === 'dist' && !hasDist) {
  console.error('mmsim: MMSIM_FROM=dist but there is no dist/main.js (build it: npx nx run @mmsim/cli:build)');
  process.exitCode = 2;
} else if (from === 'dist') {
  if (process.argv.slice(2).some((a) => /\.[cm]?tsx?$/.test(a))) (await import('tsx/esm/api')).register();
  await import(here('../dist/main.js').href);
} else if (from === 'src') {
  (await import('tsx/esm/api')).register();
  await import(here('../src/main.ts').href);
} else {
  console.error(`mmsim: MMSIM_FROM must be "dist" or "src", not ${JSON.stringify(from)}`);
  process.exitCode = 2;
}
