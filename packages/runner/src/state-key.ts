/**
 * State keys for the explorer's cache of visited states. A point of a concurrent step
 * is the model state plus each task's own state (where its code is, its locals). The
 * tasks are generators whose locals cannot be read, but a task's code is deterministic:
 * its state is a function of the values it read. So a visited point is keyed by
 *
 *  - the values of every object written since the restart point (the rest is the
 *    marked state, the same for every schedule), and
 *  - per task, a running hash of each object's value at its first read in each of the
 *    task's segments (later reads in a segment follow from it and the task's own writes)
 *    and of the segments it ran (its code moves on at each point),
 *
 * with the runnable tasks and the running one (the driver adds those). Objects are the
 * footprint keys (footprint.ts). A key the values cannot be read for (`*`) makes the
 * point uncacheable. The hash is two 32-bit lanes (a collision between two of the
 * ~10^6 points of an exploration is ~10^-7 likely).
 */
import { lookupPmd, type Engine, type TouchHook } from '@mmsim/core';
import type { TouchListener } from './footprint.js';

/** FNV-1a-like mixing over two lanes. */
export class Hash {
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193;
  num(x: number): this {
    // doubles: the integer part in two halves, the fraction scaled (state values are integers)
    const lo = x | 0;
    const hi = Math.floor(x / 4294967296) | 0;
    this.h1 = Math.imul(this.h1 ^ lo, 0x01000193);
    this.h2 = Math.imul(this.h2 ^ hi ^ (lo >>> 16), 0x5bd1e995);
    this.h1 ^= this.h1 >>> 15;
    this.h2 ^= this.h2 >>> 13;
    return this;
  }
  str(s: string): this {
    this.num(s.length);
    for (let i = 0; i < s.length; i++) this.num(s.charCodeAt(i));
    return this;
  }
  /** Numbers, strings, booleans, arrays, typed arrays and plain records (keys sorted). */
  value(v: unknown): this {
    if (typeof v === 'number') return this.num(1).num(v);
    if (typeof v === 'string') return this.num(2).str(v);
    if (typeof v === 'boolean') return this.num(v ? 3 : 4);
    if (v === undefined || v === null) return this.num(5);
    if (ArrayBuffer.isView(v)) {
      const a = v as unknown as ArrayLike<number>;
      this.num(6).num(a.length);
      for (let i = 0; i < a.length; i++) this.num(a[i]);
      return this;
    }
    if (Array.isArray(v)) {
      this.num(7).num(v.length);
      for (const x of v) this.value(x);
      return this;
    }
    if (typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort();
      this.num(8).num(keys.length);
      for (const k of keys) this.str(k).value(o[k]);
      return this;
    }
    return this.num(9); // functions: not state
  }
  digest(): string {
    return (this.h1 >>> 0).toString(36) + '.' + (this.h2 >>> 0).toString(36);
  }
}

/**
 * The value of one footprint key now, folded into `h`; false when it cannot be read
 * (`*`). Reads the engine's proxy-free accessors: call it with the recorder quiet.
 */
export function foldValue(eng: Engine, key: string, h: Hash): boolean {
  h.str(key);
  const s = eng.s;
  switch (key[0]) {
    case 'P': {
      const [mm, pmd] = key.slice(1).split(':').map(Number);
      const m = eng.mmNow(mm);
      if (!m) return h.num(0), true;
      // the PMD entry and, for a table, its 512 PTEs
      const e = lookupPmd(m, pmd * 512);
      h.value(e ? (e.kind === 'table' ? e.ptes : [e.pfn, e.flags]) : 0);
      return true;
    }
    case 'F': {
      const f = eng.folioAtHead(Number(key.slice(1)));
      h.value(f ? { ...f } : 0);
      return true;
    }
    case 'T': {
      for (const v of s.vmas.values()) h.value({ ...v });
      for (const a of s.anonVmas.values()) h.value({ ...a });
      // the mms and what of an mm record is not a page table (write_protect_seq, MMF_VM_MERGE_ANY)
      for (const id of Object.keys(s.mms).map(Number).sort((x, y) => x - y)) {
        h.num(id).num(s.mms[id].wpSeq);
        // -1 is no id and no seq: keys of runs that never set MMF_VM_MERGE_ANY stay as they were
        if (s.mms[id].mergeAny) h.num(-1);
      }
      return true;
    }
    case 'L': {
      const l = eng.lockState(key.slice(1));
      h.value(l ? [l.mode, l.kind, [...l.holders].sort((x, y) => x - y)] : 0);
      return true;
    }
    case 'S': {
      const slot = Number(key.slice(1));
      h.num(s.swap[slot] ?? 0).num(s.swapCache[slot] ?? 0);
      return true;
    }
    case 'H': {
      const sh = s.shmems[Number(key.slice(1))];
      h.value(sh ? { size: sh.size, pages: { ...sh.pages } } : 0);
      return true;
    }
    case 'I':
      h.num((eng.ids as Record<string, number>)[key.slice(1)] ?? 0);
      return true;
    default:
      return false;
  }
}

/**
 * The keys of one run's points (a TouchListener of its footprint recorder): the keys
 * written so far, each task's read hash. `hit` is set by the explorer when the run is
 * cut at a visited point.
 */
export class PointKeys implements TouchListener {
  hit = false;
  private readonly written = new Set<string>();
  private readonly tasks = new Map<number, Hash>();
  /** each key's value digest, until the key is written */
  private readonly values = new Map<string, string | null>();
  private unkeyable = false;
  private hook: TouchHook | null = null;
  constructor(private readonly eng: Engine) {}

  /** A new run: nothing written, nothing read; `hook` is the recorder (off while values are read). */
  reset(hook: TouchHook): void {
    this.written.clear();
    this.tasks.clear();
    this.values.clear();
    this.unkeyable = false;
    this.hit = false;
    this.hook = hook;
  }

  firstRead(key: string): void {
    const t = this.eng.currentTask;
    let h = this.tasks.get(t);
    if (!h) this.tasks.set(t, (h = new Hash()));
    const v = this.valueOf(key);
    if (v === null) this.unkeyable = true;
    else h.str(v);
  }

  /**
   * The running task reached a scheduling point: its code moved on even where its
   * segment read nothing (span frames, a yield before a lockless read).
   */
  segmentEnd(): void {
    const t = this.eng.currentTask;
    let h = this.tasks.get(t);
    if (!h) this.tasks.set(t, (h = new Hash()));
    h.num(-1);
  }

  wrote(key: string): void {
    if (key === '*') this.unkeyable = true;
    else {
      this.written.add(key);
      this.values.delete(key);
    }
  }

  /** The digest of a key's value now (null: it cannot be read). */
  private valueOf(key: string): string | null {
    let v = this.values.get(key);
    if (v === undefined) {
      const h = new Hash();
      v = this.quietly(() => foldValue(this.eng, key, h)) ? h.digest() : null;
      this.values.set(key, v);
    }
    return v;
  }

  /** The point's key with the scheduler's view of it, or null when it cannot be keyed. */
  key(runnable: number, current: number, step: number): string | null {
    if (this.unkeyable) return null;
    const h = new Hash().num(runnable).num(current).num(step);
    for (const k of [...this.written].sort()) {
      const v = this.valueOf(k);
      if (v === null) return null;
      h.str(v);
    }
    for (const t of [...this.tasks.keys()].sort((a, b) => a - b)) h.num(t).str(this.tasks.get(t)!.digest());
    return h.digest();
  }

  private quietly(fn: () => boolean): boolean {
    this.eng.setTouchHook(null);
    try {
      return fn();
    } finally {
      this.eng.setTouchHook(this.hook);
    }
  }
}
