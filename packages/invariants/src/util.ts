/**
 * Small allocation-free containers for the hot path.
 */

/** A growable list of number pairs (e.g. mm, vpn) in one Float64Array. */
export class PairList {
  a = new Float64Array(256);
  n = 0;
  push(x: number, y: number): void {
    let a = this.a;
    if (this.n + 2 > a.length) {
      const b = new Float64Array(a.length * 2);
      b.set(a);
      this.a = a = b;
    }
    a[this.n++] = x;
    a[this.n++] = y;
  }
  get length(): number {
    return this.n >> 1;
  }
  clear(): void {
    this.n = 0;
  }
}

/** A growable Int32 array indexed by a non-negative integer (pfn). */
export class GrowI32 {
  a = new Int32Array(1 << 12);
  get(i: number): number {
    return i < this.a.length ? this.a[i] : 0;
  }
  private grow(i: number): void {
    let len = this.a.length;
    while (len <= i) len *= 2;
    const b = new Int32Array(len);
    b.set(this.a);
    this.a = b;
  }
  add(i: number, d: number): void {
    if (i >= this.a.length) this.grow(i);
    this.a[i] += d;
  }
  set(i: number, v: number): void {
    if (i >= this.a.length) {
      if (v === 0) return;
      this.grow(i);
    }
    this.a[i] = v;
  }
  /** All zero again (the explorer resets once per schedule: keep the array, no garbage). */
  reset(): void {
    if (this.a.length > 1 << 16) this.a = new Int32Array(1 << 12);
    else this.a.fill(0);
  }
  /** A copy of the contents (see restore). */
  save(): Int32Array {
    return this.a.slice();
  }
  /** The contents `save` returned, again (the array is kept when it has that length). */
  restore(saved: Int32Array): void {
    if (this.a.length === saved.length) this.a.set(saved);
    else this.a = saved.slice();
  }
}

/** Map<number, number> counter helpers. */
export function bump(m: Map<number, number>, k: number, d: number): void {
  const v = (m.get(k) ?? 0) + d;
  if (v === 0) m.delete(k);
  else m.set(k, v);
}

/**
 * pfn -> a folio's mapping (kind + 4 * target), as a typed array (stored + 1; 0: none):
 * a Map of a million folios costs more to update than the check it serves.
 */
export class MappingTable {
  private readonly t = new GrowI32();
  get(pfn: number): number | undefined {
    const v = this.t.get(pfn);
    return v === 0 ? undefined : v - 1;
  }
  set(pfn: number, m: number): void {
    this.t.set(pfn, m + 1);
  }
  delete(pfn: number): void {
    this.t.set(pfn, 0);
  }
  clear(): void {
    this.t.reset();
  }
  save(): Int32Array {
    return this.t.save();
  }
  restore(saved: Int32Array): void {
    this.t.restore(saved);
  }
}

/**
 * A set of pfns (small non-negative integers) as a byte map plus the list of members in
 * insertion order: add and clear without hashing (a fault-in dirties a million pfns).
 */
export class PfnSet {
  private mark = new Uint8Array(1 << 16);
  private list = new Int32Array(1 << 10);
  size = 0;
  add(p: number): void {
    if (p >= this.mark.length) {
      let len = this.mark.length;
      while (len <= p) len *= 2;
      const m = new Uint8Array(len);
      m.set(this.mark);
      this.mark = m;
    }
    if (this.mark[p]) return;
    this.mark[p] = 1;
    if (this.size === this.list.length) {
      const l = new Int32Array(this.list.length * 2);
      l.set(this.list);
      this.list = l;
    }
    this.list[this.size++] = p;
  }
  has(p: number): boolean {
    return p < this.mark.length && this.mark[p] === 1;
  }
  /** The i-th member (0 <= i < size), in insertion order. */
  at(i: number): number {
    return this.list[i];
  }
  clear(): void {
    for (let i = 0; i < this.size; i++) this.mark[this.list[i]] = 0;
    this.size = 0;
  }
}
