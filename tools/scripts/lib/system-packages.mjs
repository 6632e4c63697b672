// System packages `npm test` needs on a fresh Debian machine, installed the way .ci/run
// does: only what is missing, with apt-get, only as root; otherwise a clear message.
//
//   chromium          the debugger's browser test (apps/debugger/src/e2e.test.ts)
//   gcc, libc6-dev    the kernel oracle (packages/kernel-oracle)
//
// MMSIM_NO_APT=1 skips installing (the tests that need them then say what is missing).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;

/** The apt packages that are missing (chromium: /usr/bin/chromium or MMSIM_CHROMIUM, as the test looks). */
export function missingSystemPackages(env = process.env) {
  const missing = [];
  const chromium = env.MMSIM_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) missing.push('chromium');
  if (!onPath('gcc')) missing.push('gcc', 'libc6-dev');
  return missing;
}

/**
 * Install what is missing. Returns { installed, missing, why } (why: the reason nothing
 * was installed). Never throws: a failed apt-get is reported, the tests then tell.
 */
export function ensureSystemPackages({ env = process.env, log = console.log, isRoot = process.getuid?.() === 0 } = {}) {
  const missing = missingSystemPackages(env);
  if (!missing.length) return { installed: [], missing: [] };
  const how = `apt-get install -y ${missing.join(' ')}`;
  if (env.MMSIM_NO_APT === '1') return { installed: [], missing, why: `MMSIM_NO_APT=1; install them with: ${how}` };
  if (process.platform !== 'linux' || !onPath('apt-get')) return { installed: [], missing, why: `no apt-get here; install ${missing.join(', ')} with your package manager` };
  if (!isRoot) return { installed: [], missing, why: `not root; install them with: sudo ${how}` };
  log(`pretest: installing ${missing.join(' ')} (apt-get, as .ci/run does)...`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => spawnSync('apt-get', args, { env: aptEnv, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const upd = run(['update', '-qq']);
  const inst = run(['install', '-y', '-qq', ...missing]);
  if (inst.status !== 0) {
    return { installed: [], missing, why: `apt-get failed (exit ${inst.status}): ${(inst.stderr || upd.stderr || '').trim().split('\n').slice(-3).join(' | ')}; run: ${how}` };
  }
  const still = missingSystemPackages(env);
  return { installed: missing.filter((m) => !still.includes(m)), missing: still, why: still.length ? `still missing after apt-get: ${still.join(', ')}` : undefined };
}
