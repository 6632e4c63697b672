/**
 * The LogIndex as it crosses from the checkers' worker to the session's (postMessage).
 * Its large parts are columns moved (transferred), never cloned: a structured clone of
 * the index as built (a Map of every span's name, one of every span's position, an array
 * of every lock's name) took the receiving worker ~1 s on a 10M-event log, on the path to
 * the first view. Here names are a table of distinct strings with an index per entry, the
 * maps are key and value columns, lock names one string with a length column, and the
 * receiver looks up in those columns (rebuilding the Maps took it another ~0.3 s).
 */
import type { BuiltIndex, LogIndex, Lookup } from './log-index.js';

export interface WireIndex {
  readonly rest: Omit<LogIndex, 'spanNames' | 'spanIdx' | 'lockNames' | 'vmaNotes'>;
  /** spanNames: keys in the Map's order, each with its name's index in `names` */
  readonly spanKeys: Float64Array;
  readonly spanNameOf: Int32Array;
  readonly names: string[];
  /** spanIdx: keys and values in the Map's order */
  readonly idxKeys: Float64Array;
  readonly idxValues: Int32Array;
  /** lockNames joined, with each one's length (UTF-16 units) */
  readonly lockText: string;
  readonly lockLengths: Int32Array;
  /** vmaNotes: seq, type, a, b, c of each */
  readonly notes: Float64Array;
}

/** The index as sent, and the buffers to transfer with it (the index's own columns too). */
export function packIndex(ix: BuiltIndex): { wire: WireIndex; transfer: ArrayBuffer[] } {
  const { spanNames, spanIdx, lockNames, vmaNotes, ...rest } = ix;
  const spanKeys = new Float64Array(spanNames.size);
  const spanNameOf = new Int32Array(spanNames.size);
  const nameId = new Map<string, number>();
  const names: string[] = [];
  let i = 0;
  for (const [k, name] of spanNames) {
    let n = nameId.get(name);
    if (n === undefined) {
      n = names.length;
      nameId.set(name, n);
      names.push(name);
    }
    spanKeys[i] = k;
    spanNameOf[i++] = n;
  }
  const idxKeys = new Float64Array(spanIdx.size);
  const idxValues = new Int32Array(spanIdx.size);
  i = 0;
  for (const [k, v] of spanIdx) {
    idxKeys[i] = k;
    idxValues[i++] = v;
  }
  const lockLengths = Int32Array.from(lockNames, (s) => s.length);
  const notes = new Float64Array(vmaNotes.length * 5);
  vmaNotes.forEach((n, j) => notes.set([n.seq, n.type, n.a, n.b, n.c], j * 5));
  const wire: WireIndex = { rest, spanKeys, spanNameOf, names, idxKeys, idxValues, lockText: lockNames.join(''), lockLengths, notes };
  const cols = [
    ...Object.values(ix.counts),
    ix.locks.lock,
    ix.locks.task,
    ix.locks.mode,
    ix.locks.start,
    ix.locks.end,
    ...Object.values(ix.spans),
    ix.closeOrder,
    spanKeys,
    spanNameOf,
    idxKeys,
    idxValues,
    lockLengths,
    notes,
  ];
  // each column has a buffer of its own (Column.done() slices), listed once
  return { wire, transfer: [...new Set(cols.map((c) => c.buffer as ArrayBuffer))] };
}

/**
 * A Map's lookups over its key column, ascending (span ids are: they are handed out in
 * order), by binary search: nothing to build on arrival.
 */
class ColumnLookup<T> implements Lookup<T> {
  constructor(
    private readonly keys: Float64Array,
    private readonly at: (i: number) => T,
  ) {}
  get size(): number {
    return this.keys.length;
  }
  get(key: number): T | undefined {
    const k = this.keys;
    let lo = 0;
    let hi = k.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (k[mid] < key) lo = mid + 1;
      else if (k[mid] > key) hi = mid - 1;
      else return this.at(mid);
    }
    return undefined;
  }
}

const ascending = (a: Float64Array): boolean => {
  for (let i = 1; i < a.length; i++) if (!(a[i - 1] < a[i])) return false;
  return true;
};

/** The lookup of keys[i] -> value(i): the columns themselves when the keys ascend, else a Map. */
function lookup<T>(keys: Float64Array, value: (i: number) => T): Lookup<T> {
  if (ascending(keys)) return new ColumnLookup(keys, value);
  const m = new Map<number, T>();
  for (let i = 0; i < keys.length; i++) m.set(keys[i], value(i));
  return m;
}

/** The index again, from what packIndex sent. */
export function unpackIndex(w: WireIndex): LogIndex {
  const spanNames = lookup(w.spanKeys, (i) => w.names[w.spanNameOf[i]]);
  const spanIdx = lookup(w.idxKeys, (i) => w.idxValues[i]);
  const lockNames: string[] = new Array<string>(w.lockLengths.length);
  for (let i = 0, o = 0; i < w.lockLengths.length; i++) {
    lockNames[i] = w.lockText.slice(o, o + w.lockLengths[i]);
    o += w.lockLengths[i];
  }
  const vmaNotes: LogIndex['vmaNotes'] = [];
  for (let j = 0; j < w.notes.length; j += 5) vmaNotes.push({ seq: w.notes[j], type: w.notes[j + 1], a: w.notes[j + 2], b: w.notes[j + 3], c: w.notes[j + 4] });
  return { ...w.rest, spanNames, spanIdx, lockNames, vmaNotes };
}
