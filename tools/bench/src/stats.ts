/** Small numeric helpers: percentiles, a seeded PRNG, clocks. */

/** The q-quantile (0..1) of xs by nearest rank; NaN for an empty list. */
export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** mulberry32 (core's): deterministic positions for the seek benchmark. */
export { prng } from '@mmsim/core';

export interface Clocks {
  wallMs: number;
  cpuMs: number;
}

/** Time fn on the wall clock and on process CPU time (user + system, all threads: GC and JIT count). */
export function timed<T>(fn: () => T): { value: T } & Clocks {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

/** Round to `d` significant-ish decimals for reports (keeps JSON short and stable). */
export function round(x: number, d = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
