import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OracleUnavailableError, OracleError } from './errors.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The C source of the oracle. */
export const ORACLE_SOURCE = join(HERE, 'oracle.c');
/** Default cache directory for compiled binaries (gitignored). */
export const DEFAULT_BUILD_DIR = join(HERE, '..', 'build');
const CFLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra'];

export interface BuildOptions {
  /** C compiler (default `$CC` or `gcc`). */
  cc?: string;
  /** Where binaries are cached (default `packages/kernel-oracle/build`). */
  buildDir?: string;
}

/**
 * Compiles `oracle.c` (once per source hash, compiler and flags) and returns the path
 * of the binary: `build/oracle-<hash>`. Throws `OracleUnavailableError` when not on
 * Linux or when the compiler is missing, `OracleError` when compilation fails.
 */
export function ensureOracleBinary(opts: BuildOptions = {}): string {
  if (process.platform !== 'linux')
    throw new OracleUnavailableError('platform', `the kernel oracle needs Linux (this is ${process.platform})`);
  const cc = opts.cc ?? process.env.CC ?? 'gcc';
  const dir = opts.buildDir ?? DEFAULT_BUILD_DIR;
  const src = readFileSync(ORACLE_SOURCE);
  const hash = createHash('sha256').update(src).update(cc).update(CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const bin = join(dir, `oracle-${hash}`);
  if (existsSync(bin)) return bin;
  const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    throw new OracleUnavailableError(
      'compiler',
      `cannot run the C compiler "${cc}" to build the kernel oracle (${probe.error?.message ?? `exit ${probe.status}`}); install gcc (apt-get install gcc) or set CC`,
    );
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}-${Date.now()}`;
  const r = spawnSync(cc, [...CFLAGS, '-o', tmp, ORACLE_SOURCE], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new OracleError(`compiling ${ORACLE_SOURCE} with ${cc} failed (exit ${r.status})`, `${r.stdout}${r.stderr}`);
  }
  renameSync(tmp, bin); // atomic: concurrent builders race harmlessly
  return bin;
}
