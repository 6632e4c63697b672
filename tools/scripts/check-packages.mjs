#!/usr/bin/env node
// Publishability check of every workspace package.
//
//   npm run check:packages [-- [--strict] [--no-install] [name ...]]
//
// For each publishable @mmsim/* package (not "private"):
//   1. `npm pack` into a temp folder (this runs the package's prepack hook, which builds
//      dist/ and writes the publish manifest, and its postpack hook, which restores
//      package.json: the check fails if package.json is not byte-identical afterwards);
//   2. publint on the tarball (errors fail; warnings and suggestions are printed);
//   3. @arethetypeswrong/cli (`attw <tarball> --profile esm-only`: the packages are
//      ESM-only, so CommonJS `require` and node10 resolution are not checked);
//   4. unless --no-install: installs all the tarballs together into a scratch project
//      (dependencies from the registry) and imports every one with plain Node.
// A publishable package that depends on a private one (any dependency field) fails:
// Changesets refuses to run then, and npm cannot install it. The packs share one
// MMSIM_PACK_SESSION, so each package is built once. `npm test` runs a similar check on
// a copy of the workspace (tools/pack-test), which leaves the working tree alone; this
// script packs in place: do not run it while tests run in the same tree.
// Private packages are listed as skipped. A publishable package without the prepack
// hook is "not set up" (its tarball would ship .ts entry points): reported, and a
// failure only with --strict. Exit status 1 when any check failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, isPublishable, listPackages } from './lib/workspace.mjs';

const args = process.argv.slice(2);
const strict = args.includes('--strict');
const install = !args.includes('--no-install');
const only = args.filter((a) => !a.startsWith('--'));
const PUBLINT = join(ROOT, 'node_modules', '.bin', 'publint');
const ATTW = join(ROOT, 'node_modules', '.bin', 'attw');

const out = mkdtempSync(join(tmpdir(), 'mmsim-packs-'));
const keep = process.env.MMSIM_KEEP_PACKS === '1';
// one build per package for all the packs below (pack-manifest.mjs reads this)
const session = join(out, 'pack-session.json');

function run(cmd, argv, opts = {}) {
  const env = { ...process.env, FORCE_COLOR: '0', MMSIM_PACK_SESSION: session };
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: ROOT, env, ...opts });
  return { ok: r.status === 0, status: r.status, text: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim(), stdout: r.stdout ?? '' };
}
const indent = (s) => s.split('\n').map((l) => `      ${l}`).join('\n');

/** @type {{name: string, rel: string, result: string, ok: boolean, notes: string[], tgz?: string}[]} */
const results = [];
const privateNames = new Set(listPackages().filter((p) => !isPublishable(p)).map((p) => p.name));
for (const p of listPackages()) {
  if (only.length && !only.includes(p.name)) continue;
  const r = { name: p.name, rel: p.rel, result: '', ok: true, notes: [] };
  results.push(r);
  if (!isPublishable(p)) {
    r.result = 'skipped (private)';
    continue;
  }
  const scripts = p.pkg.scripts ?? {};
  const hooked = /pack-manifest\.mjs prepack/.test(scripts.prepack ?? '') && /pack-manifest\.mjs postpack/.test(scripts.postpack ?? '');
  if (!hooked) {
    r.result = 'NOT SET UP: package.json needs the prepack/postpack hooks (CONTRIBUTING.md, "How a source-first package gets published")';
    r.ok = !strict;
    continue;
  }
  // Changesets refuses every command while a versioned package depends (in any field)
  // on a private one, and npm could not install such a dependency from the registry
  const onPrivate = ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'].flatMap((f) =>
    Object.keys(p.pkg[f] ?? {})
      .filter((n) => privateNames.has(n))
      .map((n) => `${f}.${n}`),
  );
  if (onPrivate.length) {
    r.ok = false;
    r.notes.push(`depends on private workspace packages (load them with a dynamic import instead): ${onPrivate.join(', ')}`);
  }
  process.stdout.write(`checking ${p.name} ...\n`);
  const before = readFileSync(join(p.dir, 'package.json'));
  const pack = run('npm', ['pack', '--json', '--pack-destination', out], { cwd: p.dir });
  const after = readFileSync(join(p.dir, 'package.json'));
  if (!before.equals(after)) {
    r.ok = false;
    r.notes.push('package.json was NOT restored after npm pack (see package.json.prepack-orig)');
  }
  if (!pack.ok) {
    r.ok = false;
    r.result = `npm pack failed (exit ${pack.status})`;
    r.notes.push(pack.text.slice(-3000));
    continue;
  }
  // the JSON array is npm's last output, on a line of its own: a prepack's output before it
  // (the debugger's vite build) may hold '[' in its colour codes
  const info = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[$/m)))[0];
  r.tgz = join(out, info.filename);
  const tests = info.files.filter((f) => /\.test\.|\.spec\./.test(f.path)).map((f) => f.path);
  if (tests.length) r.notes.push(`warning: tarball contains test files: ${tests.join(', ')}`);
  const sizes = `${info.files.length} files, ${(info.size / 1024).toFixed(1)} kB packed`;

  const pl = run(PUBLINT, ['run', r.tgz, '--level', 'warning']);
  const plProblems = !/All good!/.test(pl.text);
  if (!pl.ok) r.ok = false;
  if (!pl.ok || plProblems) r.notes.push(`publint${pl.ok ? ' (warnings)' : ' FAILED'}:\n${indent(pl.text)}`);

  const at = run(ATTW, [r.tgz, '--profile', 'esm-only', '--format', 'ascii', '--no-emoji', '--no-color']);
  if (!at.ok) {
    r.ok = false;
    r.notes.push(`attw FAILED:\n${indent(at.text)}`);
  }
  r.result = `${r.ok ? 'ok' : 'FAILED'}: publint ${pl.ok ? (plProblems ? 'warnings' : 'ok') : 'errors'}, attw ${at.ok ? 'ok' : 'problems'} (${sizes})`;
}

// 4. install the tarballs together and import each with plain Node (no TypeScript loader)
const packed = results.filter((r) => r.tgz);
if (install && packed.length) {
  process.stdout.write(`installing ${packed.length} tarball(s) into a scratch project ...\n`);
  const proj = join(out, 'consumer');
  mkdirSync(proj);
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const inst = run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', ...packed.map((r) => r.tgz)], {
    cwd: proj,
  });
  if (!inst.ok) {
    for (const r of packed) {
      r.ok = false;
      r.result += '; install FAILED';
    }
    console.error(inst.text.slice(-3000));
  } else {
    for (const r of packed) {
      const imp = run(
        process.execPath,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(r.name)}); console.log(Object.keys(m).length)`],
        { cwd: proj },
      );
      if (imp.ok) r.result += `; imports in Node (${imp.text} exports)`;
      else {
        r.ok = false;
        r.result += '; import FAILED';
        r.notes.push(`import:\n${indent(imp.text.slice(-2000))}`);
      }
    }
  }
}

console.log('\npackage                      folder                      result');
for (const r of results) {
  console.log(`${r.ok ? ' ' : '✗'} ${r.name.padEnd(27)} ${r.rel.padEnd(27)} ${r.result}`);
  for (const n of r.notes) console.log(indent(n));
}
const failed = results.filter((r) => !r.ok);
if (keep) console.log(`\ntarballs kept in ${out}`);
else rmSync(out, { recursive: true, force: true });
const count = (re) => results.filter((r) => re.test(r.result)).length;
console.log(
  `\n${results.length} packages: ${count(/^ok/)} ok, ${count(/^skipped/)} skipped (private), ` +
    `${count(/^NOT SET UP/)} not set up${strict ? ' (failures: --strict)' : ''}, ${failed.length} failed` +
    (failed.length ? `: ${failed.map((r) => r.name).join(', ')}` : ''),
);
process.exit(failed.length ? 1 : 0);
