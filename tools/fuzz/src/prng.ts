/** mulberry32: a tiny deterministic 32-bit PRNG. Same seed, same sequence, on every platform. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** uniform in [0, 1) */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** integer in [lo, hi] (inclusive) */
  int(lo: number, hi: number): number {
    if (hi <= lo) return lo;
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** true with probability p */
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  /** index chosen with the given non-negative weights (at least one > 0) */
  weighted(ws: readonly number[]): number {
    const total = ws.reduce((a, b) => a + b, 0);
    let x = this.next() * total;
    for (let k = 0; k < ws.length; k++) {
      x -= ws[k];
      if (x < 0 && ws[k] > 0) return k;
    }
    for (let k = ws.length - 1; k >= 0; k--) if (ws[k] > 0) return k;
    return 0;
  }
  /** small sizes more often than large ones: in [1, max] */
  size(max: number): number {
    const r = this.next();
    if (r < 0.45) return this.int(1, Math.min(4, max));
    if (r < 0.8) return this.int(1, Math.min(16, max));
    return this.int(1, max);
  }
}

/** A 32-bit mix of (seed, index): the seed of scenario `index` of a fuzz run. */
export function scenarioSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
