/**
 * A persistent table id -> record (the state's VMAs and anon_vmas by id): a radix trie
 * of 32-way nodes over the id's bits, like the page table. A change copies the path to
 * one slot (a few 32-slot nodes), never the table: the plain object it replaces was an
 * immer draft that the commit copied and walked whole, so a syscall that changed one
 * VMA among 65,530 cost 65,530 property copies.
 *
 * Nodes are class instances (immer leaves them alone, like Radix); a writer that batches
 * passes its `owned` set and changes nodes it copied in the batch in place.
 */

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;

/** A trie node: WIDTH slots, each a child node or (at shift 0) a record. */
export class IdNode {
  constructor(
    readonly slots: unknown[],
    public count: number,
  ) {}
}

type Owned = Set<object> | null | undefined;

function writable(n: IdNode | undefined, owned: Owned): IdNode {
  if (n && owned && owned.has(n)) return n;
  const c = n ? new IdNode(n.slots.slice(), n.count) : new IdNode(new Array<unknown>(WIDTH).fill(undefined), 0);
  if (owned) owned.add(c);
  return c;
}

export class IdTable<T> {
  private static readonly EMPTY_ = new IdTable<unknown>(null, 0, 0);
  /** The empty table (shared). */
  static empty<T>(): IdTable<T> {
    return IdTable.EMPTY_ as IdTable<T>;
  }

  private constructor(
    private readonly root: IdNode | null,
    /** bits above the leaf level: ids below 2^(shift + BITS) fit */
    private readonly shift: number,
    /** records in the table: O(1) */
    readonly size: number,
  ) {
    // the table is a value: only its nodes may be changed in place, by the batch that made them
    Object.freeze(this);
  }

  get(id: number): T | undefined {
    let n: IdNode | undefined = this.root ?? undefined;
    if (!n || id < 0 || id >= 2 ** (this.shift + BITS)) return undefined;
    for (let sh = this.shift; sh > 0; sh -= BITS) {
      n = n.slots[Math.floor(id / 2 ** sh) & MASK] as IdNode | undefined;
      if (!n) return undefined;
    }
    return n.slots[id & MASK] as T | undefined;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** A table with id -> v (v must not be undefined). */
  set(id: number, v: T, owned?: Owned): IdTable<T> {
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`IdTable: bad id ${id}`);
    let root = this.root;
    let shift = this.shift;
    // grow upwards until the id fits
    while (id >= 2 ** (shift + BITS)) {
      if (root) {
        const up = new IdNode(new Array<unknown>(WIDTH).fill(undefined), 1);
        up.slots[0] = root;
        if (owned) owned.add(up);
        root = up;
      }
      shift += BITS;
    }
    const top = writable(root ?? undefined, owned);
    let n = top;
    for (let sh = shift; sh > 0; sh -= BITS) {
      const i = Math.floor(id / 2 ** sh) & MASK;
      const child = n.slots[i] as IdNode | undefined;
      const w = writable(child, owned);
      if (!child) n.count++;
      n.slots[i] = w;
      n = w;
    }
    const i = id & MASK;
    const had = n.slots[i] !== undefined;
    if (!had) n.count++;
    n.slots[i] = v;
    return new IdTable<T>(top, shift, this.size + (had ? 0 : 1));
  }

  /** A table without id (the same table when it is not there). */
  delete(id: number, owned?: Owned): IdTable<T> {
    if (this.get(id) === undefined) return this;
    const path: IdNode[] = [];
    const top = writable(this.root!, owned);
    let n = top;
    for (let sh = this.shift; sh > 0; sh -= BITS) {
      path.push(n);
      const i = Math.floor(id / 2 ** sh) & MASK;
      const w = writable(n.slots[i] as IdNode, owned);
      n.slots[i] = w;
      n = w;
    }
    n.slots[id & MASK] = undefined;
    n.count--;
    // drop nodes left empty
    for (let sh = BITS, d = path.length - 1; d >= 0 && n.count === 0; d--, sh += BITS) {
      const p = path[d];
      p.slots[Math.floor(id / 2 ** sh) & MASK] = undefined;
      p.count--;
      n = p;
    }
    if (this.size === 1) return IdTable.empty<T>();
    return new IdTable<T>(top, this.shift, this.size - 1);
  }

  /** Visit every record by ascending id. */
  forEach(fn: (v: T, id: number) => void): void {
    if (!this.root) return;
    // base: the id bits above this node
    const walk = (n: IdNode, sh: number, base: number) => {
      const s = n.slots;
      for (let i = 0; i < WIDTH; i++) {
        const c = s[i];
        if (c === undefined) continue;
        if (sh === 0) fn(c as T, base * WIDTH + i);
        else walk(c as IdNode, sh - BITS, base * WIDTH + i);
      }
    };
    walk(this.root, this.shift, 0);
  }

  /** Every id, ascending. */
  keys(): number[] {
    const out: number[] = [];
    this.forEach((_v, id) => out.push(id));
    return out;
  }

  /** Every record, by ascending id. */
  values(): T[] {
    const out: T[] = [];
    this.forEach((v) => out.push(v));
    return out;
  }

  /** A table of the given records (tests, hand-built states). */
  static of<T>(entries: Iterable<readonly [number, T]>): IdTable<T> {
    let t = IdTable.empty<T>();
    const owned = new Set<object>();
    for (const [id, v] of entries) t = t.set(id, v, owned);
    return t;
  }
}
