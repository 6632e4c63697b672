/**
 * An mm's VMA set: a persistent B+tree of (vm_start, vma id) entries in ascending
 * vm_start order, after the kernel's maple tree (lib/maple_tree.c). Every update
 * copies the path from the root to one leaf (at most a few nodes of MAPLE_RANGE64_SLOTS
 * entries), so a state keeps its tree while the next one shares all other nodes:
 * insert, erase, lookup, next and prev are O(log n) in the number of VMAs, where the
 * sorted array it replaces copied all n ids on every change.
 *
 * Nodes are class instances, not plain objects: immer treats them as values, as it does
 * the page-table Radix nodes, so a commit never walks or freezes them. Writers that
 * batch many changes (the reducer) pass their `owned` set: a node they copied in this
 * batch is theirs and is changed in place instead of copied again.
 *
 * Equal keys are allowed: while a merge moves one VMA's start onto another's, both are
 * in the tree for a moment (commit_merge() sets the target's range before removing the
 * VMA merged away). An entry is inserted before the entries with the same key, as the
 * sorted array did, and erased by (key, id).
 */

/** Entries per node (MAPLE_RANGE64_SLOTS in include/linux/maple_tree.h). */
export const MAPLE_NODE_SLOTS = 16;
/** A node other than the root is merged with or refilled from a sibling below this. */
const MIN_SLOTS = MAPLE_NODE_SLOTS >> 2;

/**
 * A tree node. A leaf holds keys and ids; an internal node holds its children and, in
 * `keys`, each child's first key. `size` is the number of entries below the node (the
 * rank of an entry is found by summing sizes, so positions are O(log n) too).
 */
export class MapleNode {
  constructor(
    readonly keys: number[],
    /** leaf: the ids; internal: null */
    readonly vals: number[] | null,
    /** internal: the children; leaf: null */
    readonly kids: MapleNode[] | null,
    public size: number,
  ) {}
}

type Owned = Set<object> | null | undefined;

/**
 * Work done on every MapleTree, for tests that bound it (no timing): nodes visited on
 * the way down and nodes copied. Monotonic; read the difference around an operation.
 */
export const mapleWork = { visits: 0, copies: 0 };

function writable(n: MapleNode, owned: Owned): MapleNode {
  mapleWork.visits++;
  if (owned && owned.has(n)) return n;
  mapleWork.copies++;
  const c = new MapleNode(n.keys.slice(), n.vals ? n.vals.slice() : null, n.kids ? n.kids.slice() : null, n.size);
  if (owned) owned.add(c);
  return c;
}

function slots(n: MapleNode): number {
  return n.keys.length;
}

/** Index of the child of internal node n holding the first entry with key >= key, and the entries before it. */
function childFor(n: MapleNode, key: number): number {
  const ks = n.keys;
  // the last child whose first key is < key (all entries before it are smaller); else 0
  let lo = 0;
  let hi = ks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ks[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? lo - 1 : 0;
}

function lowerInLeaf(ks: number[], key: number): number {
  let lo = 0;
  let hi = ks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ks[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperInLeaf(ks: number[], key: number): number {
  let lo = 0;
  let hi = ks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ks[mid] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Split an overfull node into two halves. */
function splitNode(n: MapleNode, owned: Owned): [MapleNode, MapleNode] {
  const half = slots(n) >> 1;
  const mk = (a: number, b: number) => {
    const keys = n.keys.slice(a, b);
    if (n.vals) return new MapleNode(keys, n.vals.slice(a, b), null, b - a);
    const kids = n.kids!.slice(a, b);
    let size = 0;
    for (const k of kids) size += k.size;
    return new MapleNode(keys, null, kids, size);
  };
  const l = mk(0, half);
  const r = mk(half, slots(n));
  if (owned) {
    owned.add(l);
    owned.add(r);
  }
  return [l, r];
}

/** The leaf entry at rank `rank` below n: [key, id]. */
function entryAt(n: MapleNode, rank: number): [number, number] {
  while (n.kids) {
    mapleWork.visits++;
    let i = 0;
    while (rank >= n.kids[i].size) {
      rank -= n.kids[i].size;
      i++;
    }
    n = n.kids[i];
  }
  return [n.keys[rank], n.vals![rank]];
}

/**
 * Insert (key, val) at rank `rank` (which must keep the keys sorted). Returns the new
 * node, or two when it split.
 */
function insertAt(n: MapleNode, rank: number, key: number, val: number, owned: Owned): MapleNode | [MapleNode, MapleNode] {
  const w = writable(n, owned);
  w.size++;
  if (w.vals) {
    w.keys.splice(rank, 0, key);
    w.vals.splice(rank, 0, val);
  } else {
    const kids = w.kids!;
    let i = 0;
    // past the end of a child goes to its end (not the next child's start): the last child takes appends
    while (i < kids.length - 1 && rank > kids[i].size) {
      rank -= kids[i].size;
      i++;
    }
    const r = insertAt(kids[i], rank, key, val, owned);
    if (Array.isArray(r)) {
      kids.splice(i, 1, r[0], r[1]);
      w.keys.splice(i, 1, r[0].keys[0], r[1].keys[0]);
    } else {
      kids[i] = r;
      w.keys[i] = r.keys[0];
    }
  }
  return slots(w) > MAPLE_NODE_SLOTS ? splitNode(w, owned) : w;
}

/** Merge or even out kids[i] and a neighbour after kids[i] lost entries (w is writable). */
function rebalance(w: MapleNode, i: number, owned: Owned): void {
  const kids = w.kids!;
  if (kids.length < 2) return;
  const j = i + 1 < kids.length ? i + 1 : i - 1;
  const [a, b] = j > i ? [i, j] : [j, i];
  const l = kids[a];
  const r = kids[b];
  const keys = l.keys.concat(r.keys);
  const vals = l.vals ? l.vals.concat(r.vals!) : null;
  const ch = l.kids ? l.kids.concat(r.kids!) : null;
  const merged = new MapleNode(keys, vals, ch, l.size + r.size);
  if (owned) owned.add(merged);
  if (keys.length <= MAPLE_NODE_SLOTS) {
    kids.splice(a, 2, merged);
    w.keys.splice(a, 2, merged.keys[0]);
  } else {
    const [x, y] = splitNode(merged, owned);
    kids.splice(a, 2, x, y);
    w.keys.splice(a, 2, x.keys[0], y.keys[0]);
  }
}

/** Erase the entry at rank `rank` below n. Returns the new node (possibly with fewer slots). */
function eraseAt(n: MapleNode, rank: number, owned: Owned): MapleNode {
  const w = writable(n, owned);
  w.size--;
  if (w.vals) {
    w.keys.splice(rank, 1);
    w.vals.splice(rank, 1);
    return w;
  }
  const kids = w.kids!;
  let i = 0;
  while (rank >= kids[i].size) {
    rank -= kids[i].size;
    i++;
  }
  const c = eraseAt(kids[i], rank, owned);
  if (c.size === 0) {
    kids.splice(i, 1);
    w.keys.splice(i, 1);
    return w;
  }
  kids[i] = c;
  w.keys[i] = c.keys[0];
  if (slots(c) < MIN_SLOTS) rebalance(w, i, owned);
  return w;
}

/** Number of entries with key < key (the rank of the first entry with key >= key). */
function lowerRank(n: MapleNode, key: number): number {
  let rank = 0;
  while (n.kids) {
    mapleWork.visits++;
    const i = childFor(n, key);
    for (let j = 0; j < i; j++) rank += n.kids[j].size;
    n = n.kids[i];
  }
  return rank + lowerInLeaf(n.keys, key);
}

/** Number of entries with key <= key. */
function upperRank(n: MapleNode, key: number): number {
  let rank = 0;
  while (n.kids) {
    mapleWork.visits++;
    // the last child whose first key is <= key
    const ks = n.keys;
    let lo = 0;
    let hi = ks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ks[mid] <= key) lo = mid + 1;
      else hi = mid;
    }
    const i = lo > 0 ? lo - 1 : 0;
    for (let j = 0; j < i; j++) rank += n.kids[j].size;
    n = n.kids[i];
  }
  return rank + upperInLeaf(n.keys, key);
}

const EMPTY_LEAF = Object.freeze(new MapleNode(Object.freeze([]) as unknown as number[], Object.freeze([]) as unknown as number[], null, 0));

/**
 * The tree: an immutable value. Updates return a new tree (sharing every node they did
 * not touch); pass the batch's `owned` set to change nodes copied in that batch in place.
 */
export class MapleTree {
  static readonly EMPTY = new MapleTree(EMPTY_LEAF);

  private constructor(readonly root: MapleNode) {
    Object.freeze(this);
  }

  /** Entries in the tree (mm->map_count for an mm's VMAs): O(1). */
  get size(): number {
    return this.root.size;
  }

  /** The [key, id] at rank i (0-based), or undefined. */
  at(i: number): [number, number] | undefined {
    return i >= 0 && i < this.root.size ? entryAt(this.root, i) : undefined;
  }

  /** The id at rank i. */
  idAt(i: number): number | undefined {
    return this.at(i)?.[1];
  }

  /** Rank of the first entry with key >= key (= entries with a smaller key). */
  lowerRank(key: number): number {
    return lowerRank(this.root, key);
  }

  /** Entries with key <= key. */
  upperRank(key: number): number {
    return upperRank(this.root, key);
  }

  /** Rank of the entry (key, id), or -1 (equal keys are scanned: there are at most a couple). */
  rankOf(key: number, id: number): number {
    for (let i = this.lowerRank(key); i < this.root.size; i++) {
      const [k, v] = entryAt(this.root, i);
      if (k !== key) break;
      if (v === id) return i;
    }
    return -1;
  }

  /** mas_store(): insert (key, id) before any entries with the same key. */
  insert(key: number, id: number, owned?: Owned): MapleTree {
    const r = insertAt(this.root, this.lowerRank(key), key, id, owned);
    if (!Array.isArray(r)) return new MapleTree(r);
    const top = new MapleNode([r[0].keys[0], r[1].keys[0]], null, [r[0], r[1]], r[0].size + r[1].size);
    if (owned) owned.add(top);
    return new MapleTree(top);
  }

  /** mas_erase() of the entry (key, id); the same tree when it is not there. */
  erase(key: number, id: number, owned?: Owned): MapleTree {
    const rank = this.rankOf(key, id);
    if (rank < 0) return this;
    let root = eraseAt(this.root, rank, owned);
    while (root.kids && root.kids.length === 1) root = root.kids[0];
    if (root.size === 0) return MapleTree.EMPTY;
    return new MapleTree(root);
  }

  /** Visit entries from rank `from` in ascending order until fn returns true. */
  forEachFrom(from: number, fn: (key: number, id: number) => boolean | void): void {
    if (from >= this.root.size) return;
    // the path to rank `from`, then a walk along the leaves
    const stack: { n: MapleNode; i: number }[] = [];
    let n = this.root;
    let rank = Math.max(0, from);
    while (n.kids) {
      let i = 0;
      while (rank >= n.kids[i].size) {
        rank -= n.kids[i].size;
        i++;
      }
      stack.push({ n, i });
      n = n.kids[i];
    }
    let i = rank;
    for (;;) {
      const ks = n.keys;
      const vs = n.vals!;
      for (; i < ks.length; i++) if (fn(ks[i], vs[i]) === true) return;
      // up to the first ancestor with a child to the right, then down its leftmost path
      let top = stack.pop();
      while (top && top.i + 1 >= top.n.kids!.length) top = stack.pop();
      if (!top) return;
      top.i++;
      stack.push(top);
      n = top.n.kids![top.i];
      while (n.kids) {
        stack.push({ n, i: 0 });
        n = n.kids[0];
      }
      i = 0;
    }
  }

  /** The ids in ascending key order. */
  [Symbol.iterator](): Iterator<number> {
    return this.ids()[Symbol.iterator]();
  }

  /** All ids in ascending key order (an array: O(n), for views and checks, not per syscall). */
  ids(): number[] {
    const out: number[] = [];
    this.forEachFrom(0, (_k, id) => {
      out.push(id);
    });
    return out;
  }

  /** Build a tree from entries already in ascending key order. */
  static from(entries: Iterable<readonly [number, number]>): MapleTree {
    let t = MapleTree.EMPTY;
    const owned = new Set<object>();
    for (const [k, v] of entries) {
      const r = insertAt(t.root, t.root.size, k, v, owned);
      t = Array.isArray(r) ? new MapleTree(new MapleNode([r[0].keys[0], r[1].keys[0]], null, [r[0], r[1]], r[0].size + r[1].size)) : new MapleTree(r);
      owned.add(t.root);
    }
    return t;
  }

  /** Depth of the tree (1: one leaf): for tests of the balance. */
  get height(): number {
    let h = 1;
    for (let n = this.root; n.kids; n = n.kids[0]) h++;
    return h;
  }
}
