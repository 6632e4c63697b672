#!/usr/bin/env node
// `npm run docs:api`: TypeDoc HTML for the public API of every publishable @mmsim/*
// package into docs/api/ (gitignored). typedoc.json holds the options; the entry points
// are computed here (every non-private package with a src/index.ts), because TypeDoc's
// "packages" strategy gives up on all packages when one has no entry point yet.
// Extra arguments go to typedoc (e.g. `npm run docs:api -- --treatWarningsAsErrors`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, isPublishable, listPackages } from './lib/workspace.mjs';

const publishable = listPackages().filter(isPublishable);
const pkgs = publishable.filter((p) => existsSync(join(p.dir, 'src', 'index.ts')));
const skipped = publishable.filter((p) => !pkgs.includes(p));
if (skipped.length) console.log(`docs:api: no src/index.ts yet, skipped: ${skipped.map((p) => p.name).join(', ')}`);
console.log(`docs:api: ${pkgs.map((p) => p.name).join(', ')}`);
const args = ['--options', join(ROOT, 'typedoc.json'), ...pkgs.flatMap((p) => ['--entryPoints', p.rel]), ...process.argv.slice(2)];
const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'typedoc'), args, { stdio: 'inherit', cwd: ROOT });
if (r.status === 0) console.log(`docs:api: open ${join(ROOT, 'docs/api/index.html')}`);
process.exit(r.status ?? 1);
