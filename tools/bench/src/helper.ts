/**
 * The real kernel's side of the benchmark: a small C program (c/bench_helper.c),
 * compiled with the system C compiler and cached by source hash, like the kernel
 * oracle's helper (packages/kernel-oracle/src/build.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The C source of the helper. */
export const HELPER_SOURCE = join(HERE, 'c', 'bench_helper.c');
/** Default cache directory for the compiled helper (`build/` is gitignored). */
export const DEFAULT_HELPER_DIR = join(HERE, '..', 'build');
const CFLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra'];

/** The helper cannot be built or run here (not Linux, no C compiler). */
export class HelperUnavailableError extends Error {
  override name = 'HelperUnavailableError';
}

export interface HelperBuildOptions {
  /** C compiler (default `$CC` or `gcc`) */
  cc?: string;
  /** where binaries are cached (default `tools/bench/build`) */
  buildDir?: string;
}

/** Compiles the helper once per (source, compiler, flags) and returns the binary's path. */
export function ensureHelper(opts: HelperBuildOptions = {}): string {
  if (process.platform !== 'linux') throw new HelperUnavailableError(`the kernel side of the benchmark needs Linux (this is ${process.platform})`);
  const cc = opts.cc ?? process.env.CC ?? 'gcc';
  const dir = opts.buildDir ?? DEFAULT_HELPER_DIR;
  const src = readFileSync(HELPER_SOURCE);
  const hash = createHash('sha256').update(src).update(cc).update(CFLAGS.join(' ')).digest('hex').slice(0, 16);
  const bin = join(dir, `bench_helper-${hash}`);
  if (existsSync(bin)) return bin;
  const probe = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    throw new HelperUnavailableError(`cannot run the C compiler "${cc}" (${probe.error?.message ?? `exit ${probe.status}`}); install gcc or set CC`);
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}-${Date.now()}`;
  const r = spawnSync(cc, [...CFLAGS, '-o', tmp, HELPER_SOURCE], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`compiling ${HELPER_SOURCE} with ${cc} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  renameSync(tmp, bin); // atomic: concurrent builders race harmlessly
  return bin;
}

export type KernelOp = 'fault' | 'mremap';

export interface Timing {
  wallMs: number;
  cpuMs: number;
}

export interface KernelMeasurement {
  op: KernelOp;
  mib: number;
  pages: number;
  /** best (smallest) of the runs, on each clock separately */
  best: Timing;
  runs: Timing[];
}

/** Run the helper: `reps` runs of `op` on `mib` MiB; the best of them is kept. */
export function runKernel(op: KernelOp, mib: number, reps: number, bin = ensureHelper()): KernelMeasurement {
  const r = spawnSync(bin, [op, String(mib), String(reps)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`bench helper ${op} ${mib} MiB failed (exit ${r.status}): ${r.stderr.trim()}`);
  const o = JSON.parse(r.stdout) as { op: KernelOp; mib: number; pages: number; runs: { wallNs: number; cpuNs: number }[] };
  const runs = o.runs.map((x) => ({ wallMs: x.wallNs / 1e6, cpuMs: x.cpuNs / 1e6 }));
  return {
    op,
    mib,
    pages: o.pages,
    best: { wallMs: Math.min(...runs.map((x) => x.wallMs)), cpuMs: Math.min(...runs.map((x) => x.cpuMs)) },
    runs,
  };
}
