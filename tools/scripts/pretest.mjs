#!/usr/bin/env node
// Runs before `npm test` (root "test": "node tools/scripts/pretest.mjs && vitest run").
//
// * Builds the C kernel oracle ahead of time with @mmsim/kernel-oracle's own
//   ensureOracleBinary() (same compiler, flags and cache: packages/kernel-oracle/build/),
//   so the parallel test workers find it compiled instead of racing to compile it.
// * Prints the running kernel version and whether the oracle can observe it (root).
//
// * On a fresh Debian machine, installs the system packages the tests need (chromium for
//   the debugger's browser test, gcc for the oracle) when they are missing and this is
//   root, like .ci/run (lib/system-packages.mjs); otherwise it says how to install them.
//
// Only a C source that does not compile fails (exit 1): that is a bug in the repo.
// No Linux, no compiler, or not root are warnings: the oracle tests then report the
// oracle as unavailable themselves.
import { existsSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, listPackages } from './lib/workspace.mjs';
import { ensureSystemPackages } from './lib/system-packages.mjs';

const warn = (m) => console.warn(`pretest: warning: ${m}`);
const t0 = Date.now();

console.log(`pretest: node ${process.version} on ${process.platform}/${process.arch}, kernel ${release()}`);

// a pack interrupted between prepack and postpack leaves a rewritten package.json
for (const p of listPackages()) {
  if (existsSync(join(p.dir, 'package.json.prepack-orig')))
    warn(`${p.rel}/package.json is the publish manifest of an interrupted npm pack; restore it: (cd ${p.rel} && node ../../tools/scripts/pack-manifest.mjs restore)`);
}

const sys = ensureSystemPackages();
if (sys.installed.length) console.log(`pretest: installed ${sys.installed.join(', ')}`);
if (sys.missing.length) warn(`missing system packages: ${sys.missing.join(', ')} (${sys.why}); the debugger's browser test needs chromium, the kernel oracle gcc`);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot)
  warn('not running as root: the kernel oracle cannot read PFNs or /proc/kpageflags, so its real-kernel tests report it unavailable');

let oracle;
try {
  // @mmsim/kernel-oracle is source-first TypeScript: load it through tsx's loader API
  const { tsImport } = await import('tsx/esm/api');
  oracle = await tsImport(pathToFileURL(join(ROOT, 'packages/kernel-oracle/src/index.ts')).href, import.meta.url);
} catch (e) {
  warn(`cannot load packages/kernel-oracle (${e instanceof Error ? e.message : e}); the oracle will be compiled by its tests`);
}

if (oracle) {
  console.log(`pretest: kernel version (kernelVersion()): ${oracle.kernelVersion()}`);
  try {
    const t = Date.now();
    const dir = oracle.DEFAULT_BUILD_DIR;
    const before = existsSync(dir) ? new Set(readdirSync(dir)) : new Set();
    const bin = oracle.ensureOracleBinary();
    const fresh = !before.has(bin.split('/').pop());
    console.log(`pretest: kernel oracle ${fresh ? 'compiled' : 'up to date'}: ${bin.slice(ROOT.length + 1)} (${Date.now() - t} ms)`);
  } catch (e) {
    if (e instanceof oracle.OracleUnavailableError) {
      warn(`kernel oracle unavailable (${e.reason}): ${e.message}`);
    } else {
      console.error(`pretest: error: ${e instanceof Error ? e.message : e}`);
      process.exit(1);
    }
  }
}
// mmsim record (packages/record) runs the workloads under perf's tracepoints
{
  const { spawnSync } = await import('node:child_process');
  const perf = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  if (perf.error || perf.status !== 0) warn('perf is missing: mmsim record and its tests need it (Debian: apt-get install linux-perf; .ci/run installs it)');
  else console.log(`pretest: ${perf.stdout.trim()} (mmsim record)`);
  if (!existsSync('/sys/kernel/tracing/events/syscalls') && isRoot) console.log('pretest: tracefs is not mounted; mmsim record mounts it at /sys/kernel/tracing');
}
console.log(`pretest: done in ${Date.now() - t0} ms`);
