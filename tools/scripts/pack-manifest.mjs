#!/usr/bin/env node
// npm `prepack` / `postpack` hook of the publishable @mmsim/* packages.
//
//   "scripts": {
//     "prepack": "node ../../tools/scripts/pack-manifest.mjs prepack",
//     "postpack": "node ../../tools/scripts/pack-manifest.mjs postpack"
//   }
//
// Why: in the workspace the packages are source-first ("exports" -> ./src/*.ts), which
// a published package cannot be (Node does not run .ts from node_modules). npm, unlike
// pnpm and Yarn, ignores `publishConfig.exports`/`main`/`types` (it only honours
// registry-related keys such as access, tag and registry), so the manifest inside the
// tarball has to be rewritten while npm packs it:
//
//   prepack  builds the package (and its @mmsim/* deps, for their .d.ts) to dist/,
//            saves package.json as package.json.prepack-orig and writes the publish
//            manifest: every "./src/X.ts" export target becomes "./dist/X.js" (the
//            "types" condition "./dist/X.d.ts"), "main"/"types" are added for old
//            resolvers, .ts `bin` entries point at dist, "files" gains "dist",
//            the prepack/postpack hooks themselves are dropped (workspace-only),
//            the workspace-only "nx" block is dropped, and optional (or dev)
//            dependencies on private workspace packages are dropped (they are never
//            on the registry; a required or peer one is an error). A package with a
//            "prepack:assets" script runs it after the build (the debugger: its page
//            built by Vite into app/); the script is dropped from the manifest too.
//   postpack restores package.json byte for byte and removes the backup.
//
// With MMSIM_PACK_SESSION=<file>, a package built by an earlier prepack of the same
// session (as a dependency) is not built again.
//
// npm runs both around `npm pack` and `npm publish` (also `changeset publish`, which
// calls `npm publish`). If a pack is interrupted between the two, the next prepack
// (or `node tools/scripts/pack-manifest.mjs restore` in the package folder) restores
// the original first; `tools/scripts/check-packages.mjs` verifies the round trip.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildPackage } from './build-package.mjs';
import { listPackages } from './lib/workspace.mjs';

export const BACKUP = 'package.json.prepack-orig';

const srcToDist = (target, kind) => {
  if (typeof target !== 'string') return target;
  const m = /^\.\/src\/(.+)\.(m|c)?tsx?$/.exec(target);
  if (!m) return target;
  const ext = m[2] === 'm' ? 'mjs' : m[2] === 'c' ? 'cjs' : 'js';
  const dts = m[2] === 'm' ? 'd.mts' : m[2] === 'c' ? 'd.cts' : 'd.ts';
  return `./dist/${m[1]}.${kind === 'types' ? dts : ext}`;
};

/** Rewrites an "exports" value (string, conditions object, subpath map, null). */
function rewriteExports(value, cond = 'default') {
  if (value === null || typeof value === 'string') return srcToDist(value, cond);
  if (Array.isArray(value)) return value.map((v) => rewriteExports(v, cond));
  const out = {};
  for (const [k, v] of Object.entries(value)) out[k] = rewriteExports(v, k.startsWith('.') ? 'default' : k);
  // a string-only subpath ("./x": "./src/x.ts") gets a types condition too
  return out;
}

function withTypes(entry) {
  if (typeof entry === 'string' && entry.startsWith('./src/')) return { types: srcToDist(entry, 'types'), default: srcToDist(entry) };
  return rewriteExports(entry);
}

/** Names of the private workspace packages (never on the registry). */
export function privateWorkspaceNames() {
  return listPackages()
    .filter((p) => p.pkg.private)
    .map((p) => p.name);
}

/**
 * Dependencies on private workspace packages cannot be installed from the registry:
 * optional and dev ones are dropped from the published manifest, a required or peer one
 * is an error. (Declare none at all: Changesets refuses to run while a versioned package
 * names a private one in any field. The CLI loads @mmsim/debugger, @mmsim/fuzz and
 * @mmsim/bench with dynamic imports instead.)
 */
function dropPrivateDeps(out, privateNames) {
  const bad = [];
  for (const field of ['dependencies', 'peerDependencies']) {
    for (const n of Object.keys(out[field] ?? {})) if (privateNames.includes(n)) bad.push(`${field}.${n}`);
  }
  if (bad.length) throw new Error(`pack-manifest: ${out.name} depends on private workspace packages: ${bad.join(', ')}`);
  for (const field of ['optionalDependencies', 'devDependencies']) {
    if (!out[field]) continue;
    const kept = Object.fromEntries(Object.entries(out[field]).filter(([n]) => !privateNames.includes(n)));
    if (Object.keys(kept).length) out[field] = kept;
    else delete out[field];
  }
}

export function publishManifest(pkg, privateNames = []) {
  const out = { ...pkg };
  dropPrivateDeps(out, privateNames);
  if (pkg.exports !== undefined) {
    const e = pkg.exports;
    if (typeof e === 'string') out.exports = withTypes(e);
    else {
      const isSubpathMap = Object.keys(e).some((k) => k.startsWith('.'));
      out.exports = isSubpathMap
        ? Object.fromEntries(Object.entries(e).map(([k, v]) => [k, withTypes(v)]))
        : rewriteExports(e);
    }
    const root = typeof e === 'string' ? e : (e['.'] ?? (Object.keys(e).some((k) => k.startsWith('.')) ? undefined : e));
    const rootTypes = typeof root === 'string' ? root : root?.types;
    const rootJs = typeof root === 'string' ? root : (root?.import ?? root?.default);
    if (rootJs) out.main = srcToDist(rootJs);
    if (rootTypes) out.types = srcToDist(rootTypes, 'types');
  } else {
    if (pkg.main) out.main = srcToDist(pkg.main);
    if (pkg.types) out.types = srcToDist(pkg.types, 'types');
  }
  if (typeof pkg.bin === 'string') out.bin = srcToDist(pkg.bin);
  else if (pkg.bin) out.bin = Object.fromEntries(Object.entries(pkg.bin).map(([k, v]) => [k, srcToDist(v)]));
  const files = new Set(pkg.files ?? ['src']);
  files.add('dist');
  out.files = [...files];
  delete out.nx;
  if (out.scripts) {
    // the pack hooks are workspace-only (they reach into ../../tools)
    const { prepack: _a, postpack: _b, 'prepack:assets': _c, ...rest } = out.scripts;
    if (Object.keys(rest).length) out.scripts = rest;
    else delete out.scripts;
  }
  return out;
}

function restore(dir) {
  const backup = join(dir, BACKUP);
  if (existsSync(backup)) {
    renameSync(backup, join(dir, 'package.json'));
    return true;
  }
  return false;
}

export function prepack(dir = process.cwd()) {
  if (restore(dir)) console.warn(`prepack: restored package.json from a leftover ${BACKUP} (an earlier pack was interrupted)`);
  const file = join(dir, 'package.json');
  const text = readFileSync(file, 'utf8');
  const pkg = JSON.parse(text);
  // MMSIM_PACK_SESSION=<file>: several packs in a row (check-packages.mjs, the pack test)
  // build each package once; the file lists the packages already built in this session.
  const session = process.env.MMSIM_PACK_SESSION;
  const done = new Set(session && existsSync(session) ? JSON.parse(readFileSync(session, 'utf8')) : []);
  buildPackage(dir, { withDeps: true, quiet: true, done });
  if (session) writeFileSync(session, JSON.stringify([...done]));
  // what tsc does not build: the debugger's page (Vite, into app/), published built
  if (pkg.scripts?.['prepack:assets']) {
    const r = spawnSync('npm', ['run', '--silent', 'prepack:assets'], { cwd: dir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`pack-manifest: ${pkg.name}: npm run prepack:assets failed (exit ${r.status})`);
  }
  writeFileSync(join(dir, BACKUP), text);
  writeFileSync(file, `${JSON.stringify(publishManifest(pkg, privateWorkspaceNames()), null, 2)}\n`);
}

export function postpack(dir = process.cwd()) {
  if (!restore(dir)) console.warn(`postpack: no ${BACKUP} in ${dir}; package.json left as it is`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cmd = process.argv[2];
  try {
    if (cmd === 'prepack') prepack();
    else if (cmd === 'postpack' || cmd === 'restore') postpack();
    else if (cmd === 'print') console.log(JSON.stringify(publishManifest(JSON.parse(readFileSync('package.json', 'utf8')), privateWorkspaceNames()), null, 2));
    else {
      console.error('usage: pack-manifest.mjs prepack|postpack|restore|print   (run in the package folder)');
      process.exit(2);
    }
  } catch (e) {
    if (cmd === 'prepack') restore(process.cwd());
    rmSync(join(process.cwd(), BACKUP), { force: true });
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
