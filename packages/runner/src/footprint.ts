/**
 * Footprints for the explorer's partial-order reduction: what one schedule segment
 * (a task's run from one scheduling point to the next) read and wrote, as sets of
 * object keys. Two segments are independent when neither writes what the other reads
 * or writes: running them in either order gives the same state.
 *
 * Nothing here is declared by a modeller:
 *  - writes come from the events a segment emitted, their keys derived from the event
 *    schema's field NAMES (writeKeysOf), so a new event type gets a footprint without a
 *    case here; a field this module does not know makes the event conflict with
 *    everything (`*`), never nothing;
 *  - reads come from the engine's and the kernel's accessors (Engine.noteRead,
 *    pageFolio, holds, the id allocators; Kernel.vma, getPte, ...), which report every
 *    read while a recorder is set, and from the lockless points (Engine.lockless).
 *
 * Keys: `L<name>` a lock; `P<mm>:<pmd>` a PTE table (its PTEs and its PMD entry);
 * `F<head>` a folio (counters, flags, mapping, index, pages); `T` the VMA and anon_vma
 * structure and the mms (coarse: every VMA, anon_vma, chain and mm change, RCU walks);
 * `S<slot>` a swap slot (count and swap cache); `H<id>` a shmem object; `I<name>` an
 * id allocator; `*` anything (an error event; a read of the raw state).
 */
import { ACCESS, EVENT_SCHEMA, type Engine, type TouchHook } from '@mmsim/core';

export class Footprint {
  readonly r = new Set<string>();
  readonly w = new Set<string>();
  /** Every key this segment touched, reads and writes (for messages and tests). */
  keys(): string[] {
    return [...new Set([...this.r, ...this.w])].sort();
  }
}

/** How one numeric field of an event names an object (or that it names none). */
type Role = 'mm' | 'page' | 'pfn' | 'slot' | 'shmem' | 'structure' | 'value';

/**
 * Field names by what they name. `mm` with a page field (vpn, from, to) is a PTE table
 * key per page field; `mm` alone is the mm record (structure). A name missing here is
 * unknown: the event then conflicts with everything.
 */
const ROLE_OF: Readonly<Record<string, Role>> = {
  mm: 'mm',
  vpn: 'page',
  from: 'page',
  to: 'page',
  pfn: 'pfn',
  slot: 'slot',
  shmem: 'shmem',
  vma: 'structure',
  anonVma: 'structure',
  newVma: 'structure',
  other: 'structure',
  root: 'structure',
  parent: 'structure',
  file: 'structure',
  // values, not objects: what the event writes to the object its other fields name
  start: 'value',
  end: 'value',
  pgoff: 'value',
  flags: 'value',
  order: 'value',
  newOrder: 'value',
  index: 'value',
  kind: 'value',
  target: 'value',
  set: 'value',
  clear: 'value',
  counter: 'value',
  delta: 'value',
  level: 'value',
  pages: 'value',
  nonzero: 'value',
  at: 'value',
  mode: 'value',
  try: 'value',
  write: 'value',
  outcome: 'value',
};

/**
 * Events that change nothing another task can read: span frames (each task's own
 * stack), the log's task register, annotations of what the model did (a fault's
 * outcome, a free-form note). Named, because "no object field" alone cannot tell an
 * annotation from a change of something this module does not know.
 */
const TASK_LOCAL = new Set(['span_open', 'span_close', 'task_switch', 'note', 'fault', 'pud_move']);

/** One event type's write keys, as a recipe over its slots. */
interface WriteRecipe {
  /** conflicts with everything */
  all: boolean;
  structure: boolean;
  /** the string slot is a lock name */
  lock: boolean;
  /** slot index of the mm, and of each page field (PTE table keys) */
  mm: number;
  pages: number[];
  pfns: number[];
  slots: number[];
  shmems: number[];
}

function recipeOf(e: { name: string; fields: readonly string[]; str?: string }): WriteRecipe {
  const r: WriteRecipe = { all: false, structure: false, lock: e.str === 'lock', mm: -1, pages: [], pfns: [], slots: [], shmems: [] };
  if (TASK_LOCAL.has(e.name)) return r;
  if (e.str !== undefined && e.str !== 'lock') r.all = true; // an error message: the syscall was rolled back
  e.fields.forEach((f, i) => {
    const role = ROLE_OF[f];
    // the TouchHook sees slots a..c only: an object named further on cannot be keyed
    if (role === undefined || (role !== 'value' && i > 2)) r.all = true;
    else if (role === 'mm') r.mm = i;
    else if (role === 'page') r.pages.push(i);
    else if (role === 'pfn') r.pfns.push(i);
    else if (role === 'slot') r.slots.push(i);
    else if (role === 'shmem') r.shmems.push(i);
    else if (role === 'structure') r.structure = true;
  });
  if (r.mm >= 0 && !r.pages.length) r.structure = true; // mm_create, mm_exit: the mm record
  if (r.pages.length && r.mm < 0) r.all = true; // a page without its mm: cannot be keyed
  return r;
}

/** Write recipes by event type id, from the schema once. */
const RECIPES: readonly WriteRecipe[] = EVENT_SCHEMA.map(recipeOf);

/** The PTE table key of (mm, vpn). */
export function pteKey(mm: number, vpn: number): string {
  return 'P' + mm + ':' + Math.floor(vpn / 512);
}

/**
 * The write keys of one event (slots a..f as the schema orders them), added to `out`.
 * `folioKey` maps a pfn to its folio's key.
 */
export function writeKeysOf(type: number, slots: readonly number[], s: string, folioKey: (pfn: number) => string, out: Set<string>): void {
  const r = RECIPES[type];
  if (r === undefined || r.all) {
    out.add('*');
    return;
  }
  if (r.lock) out.add('L' + s);
  if (r.structure) out.add('T');
  for (const i of r.pages) out.add(pteKey(slots[r.mm], slots[i]));
  for (const i of r.pfns) out.add(folioKey(slots[i]));
  for (const i of r.slots) out.add('S' + slots[i]);
  for (const i of r.shmems) out.add('H' + slots[i]);
}

/** The key an ACCESS read names. */
function readKeyOf(kind: number, a: number, b: number, s: string, folioKey: (pfn: number) => string): string {
  switch (kind) {
    case ACCESS.Pte:
      return pteKey(a, b);
    case ACCESS.Folio:
      return folioKey(a);
    case ACCESS.Lock:
      return 'L' + s;
    case ACCESS.Structure:
      return 'T';
    case ACCESS.Swap:
      return 'S' + a;
    case ACCESS.Shmem:
      return 'H' + a;
    default:
      return '*';
  }
}

/** Told of each key the first time a segment reads it, and of every key written. */
export interface TouchListener {
  firstRead(key: string): void;
  wrote(key: string): void;
}

/**
 * A TouchHook adding each touched key to `sink()` (the current segment's footprint).
 * Events are writes (a failed trylock only reads its lock); ACCESS kinds are reads,
 * except an id allocator's use, a read-modify-write.
 */
export function footprintHook(eng: Engine, sink: () => Footprint, listen?: TouchListener): TouchHook {
  // pageFolio reports its own read to this hook: the nested call is ignored
  let busy = false;
  const folioKey = (pfn: number): string => {
    busy = true;
    try {
      return 'F' + (eng.pageFolio(pfn)?.pfn ?? pfn);
    } finally {
      busy = false;
    }
  };
  const slots = [0, 0, 0];
  const tryFail = EVENT_SCHEMA.findIndex((e) => e.name === 'lock_try_fail');
  const read = (fp: Footprint, key: string): void => {
    if (fp.r.has(key)) return;
    fp.r.add(key);
    listen?.firstRead(key);
  };
  const wrote = listen ? new Set<string>() : null;
  return (type, a, b, c, s) => {
    if (busy) return;
    const fp = sink();
    if (type >= 0) {
      if (type === tryFail) return read(fp, 'L' + s);
      slots[0] = a;
      slots[1] = b;
      slots[2] = c;
      if (!wrote) return writeKeysOf(type, slots, s, folioKey, fp.w);
      wrote.clear();
      writeKeysOf(type, slots, s, folioKey, wrote);
      for (const k of wrote) {
        fp.w.add(k);
        listen!.wrote(k);
      }
    } else if (type === ACCESS.Alloc) {
      // a read-modify-write: the value taken decides what the task does next
      read(fp, 'I' + s);
      fp.w.add('I' + s);
      listen?.wrote('I' + s);
    } else read(fp, type === ACCESS.All ? '*' : readKeyOf(type, a, b, s, folioKey));
  };
}

/**
 * Do two segments commute? Neither writes what the other reads or writes; `*` written
 * conflicts with everything, `*` read with every write.
 */
export function independent(a: Footprint, b: Footprint): boolean {
  if (a.w.has('*') || b.w.has('*')) return false;
  if ((a.r.has('*') && b.w.size) || (b.r.has('*') && a.w.size)) return false;
  return !meets(a.w, b.w) && !meets(a.w, b.r) && !meets(b.w, a.r);
}

function meets(x: ReadonlySet<string>, y: ReadonlySet<string>): boolean {
  const [small, big] = x.size <= y.size ? [x, y] : [y, x];
  for (const k of small) if (big.has(k)) return true;
  return false;
}
