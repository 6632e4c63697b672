/**
 * What each event type touches, derived from the roles of its fields (events.ts) and
 * nothing else: the one table the explorer's footprints, the checkers' caches
 * (STRUCTURE_EVENT), the CLI's event filters and the debugger's provenance read, so
 * they agree on which events touch a folio, a VMA, a PTE, and a new event type is
 * covered by its schema entry alone.
 *
 * The rules, role by role (ROLE_DOC):
 *  - `vpn` / `pmd` / `pud` / `table`: a page-table entry (`pte`), the PMD or PUD covering
 *    the vpn, or a table of the level in the `level` field, of the event's `mm` field;
 *    that `mm` is then the table's owner, not a touch of the mm itself
 *  - `mm` (alone), `vma`, `anonVma`, `pfn` (its folio), `shmem`, `slot`, the `lock`
 *    string: that object; their `...Ref` roles name the object without changing it
 *  - `start` with the event's `end`: a VMA range; `at`: a split boundary
 *  - an annotation (schema `annotation: true`) names what its fields name, writes none
 *
 * Everything here is computed once at load; the lookups allocate nothing.
 */
import { EVENT_SCHEMA, type FieldRole, type RawEvent, type StrRole } from './events.js';

/** The kinds of thing an event can touch. */
export type TouchKind = 'mm' | 'vma' | 'anonVma' | 'pte' | 'pmd' | 'pud' | 'table' | 'range' | 'at' | 'folio' | 'shmem' | 'slot' | 'lock';

/** One bit per TouchKind, for the per-type masks. */
export const TOUCH_BIT = {
  mm: 1 << 0,
  vma: 1 << 1,
  anonVma: 1 << 2,
  pte: 1 << 3,
  pmd: 1 << 4,
  pud: 1 << 5,
  table: 1 << 6,
  range: 1 << 7,
  at: 1 << 8,
  folio: 1 << 9,
  shmem: 1 << 10,
  slot: 1 << 11,
  lock: 1 << 12,
} as const satisfies Record<TouchKind, number>;

/** One thing one event type touches. */
export interface Touch {
  readonly kind: TouchKind;
  /** slot (0..5: a..f) of the id or vpn; -1: the string slot (a lock's name) */
  readonly slot: number;
  /** slot of the mm owning it (page tables; a VMA range of vma_insert); -1: none */
  readonly mm: number;
  /** `range`: slot of its end; `table`: slot of its level; else -1 */
  readonly aux: number;
  /** the event changes it (false: it only names it, or the event is an annotation) */
  readonly writes: boolean;
}

/** What a role makes of its field: a touch kind and whether it can be written, or nothing. */
const ROLE_TOUCH = {
  span: null,
  task: null,
  mm: { kind: 'mm', ref: false },
  mmRef: { kind: 'mm', ref: true },
  vma: { kind: 'vma', ref: false },
  anonVma: { kind: 'anonVma', ref: false },
  anonVmaRef: { kind: 'anonVma', ref: true },
  vpn: { kind: 'pte', ref: false },
  pmd: { kind: 'pmd', ref: false },
  pud: { kind: 'pud', ref: false },
  table: { kind: 'table', ref: false },
  level: null,
  start: { kind: 'range', ref: false },
  end: null,
  at: { kind: 'at', ref: false },
  pfn: { kind: 'folio', ref: false },
  pfnRef: { kind: 'folio', ref: true },
  shmem: { kind: 'shmem', ref: false },
  shmemRef: { kind: 'shmem', ref: true },
  slot: { kind: 'slot', ref: false },
  slotRef: { kind: 'slot', ref: true },
  pgoff: null,
  vmFlags: null,
  pteFlags: null,
  folioFlags: null,
  count: null,
  code: null,
  value: null,
} as const satisfies Record<FieldRole, { kind: TouchKind; ref: boolean } | null>;

const STR_TOUCH = { lock: 'lock', name: null, text: null } as const satisfies Record<StrRole, TouchKind | null>;

/** Page-table kinds: their `mm` field is the owner, not an mm touch. */
const PAGE_TABLE: ReadonlySet<TouchKind> = new Set<TouchKind>(['pte', 'pmd', 'pud', 'table']);

interface RoleEntry {
  readonly roles: readonly FieldRole[];
  readonly strRole?: StrRole;
  readonly annotation?: true;
}

/** The touches of one schema entry (exported for the type-level tests of new entries). */
export function touchesOfEntry(e: RoleEntry): Touch[] {
  const roles = e.roles;
  const write = e.annotation !== true;
  const mmSlot = roles.indexOf('mm');
  const ownsTable = roles.some((r) => {
    const t = ROLE_TOUCH[r];
    return t !== null && PAGE_TABLE.has(t.kind);
  });
  const out: Touch[] = [];
  roles.forEach((role, slot) => {
    const t = ROLE_TOUCH[role];
    if (t === null) return;
    if (role === 'mm' && ownsTable) return;
    const aux = t.kind === 'range' ? roles.indexOf('end') : t.kind === 'table' ? roles.indexOf('level') : -1;
    const mm = t.kind === 'mm' ? -1 : mmSlot;
    out.push(Object.freeze({ kind: t.kind, slot, mm, aux, writes: write && !t.ref }));
  });
  const s = e.strRole === undefined ? null : STR_TOUCH[e.strRole];
  if (s !== null) out.push(Object.freeze({ kind: s, slot: -1, mm: -1, aux: -1, writes: write }));
  return out;
}

/** By type id: everything the type's fields touch, in field order (the string last). */
export const EVENT_TOUCHES: readonly (readonly Touch[])[] = Object.freeze(EVENT_SCHEMA.map((e) => Object.freeze(touchesOfEntry(e))));

function mask(pick: (t: Touch) => boolean): Uint16Array {
  const m = new Uint16Array(Math.max(64, EVENT_TOUCHES.length));
  EVENT_TOUCHES.forEach((ts, type) => {
    for (const t of ts) if (pick(t)) m[type] |= TOUCH_BIT[t.kind];
  });
  return m;
}

/** By type id: the TOUCH_BIT of every kind the type changes. */
export const TOUCH_WRITES: Uint16Array = mask((t) => t.writes);
/** By type id: the TOUCH_BIT of every kind the type names, changed or not. */
export const TOUCH_NAMES: Uint16Array = mask(() => true);

/**
 * Event types that change a VMA, an anon_vma, a chain or the set of mms (1 at their
 * index): what caches of those must be dropped on (Engine.structureGen, the checkers).
 * A chain change is an `avc_link`/`avc_unlink`, which writes both its vma and anon_vma.
 */
export const STRUCTURE_EVENT: Uint8Array = (() => {
  const t = new Uint8Array(TOUCH_WRITES.length);
  const structure = TOUCH_BIT.mm | TOUCH_BIT.vma | TOUCH_BIT.anonVma;
  for (let i = 0; i < t.length; i++) t[i] = TOUCH_WRITES[i] & structure ? 1 : 0;
  return t;
})();

/**
 * Roles whose value is a virtual page number (shown as a byte address): one entry per
 * role, so a new role must say whether it is one.
 */
export const VPN_ROLE = {
  span: false,
  task: false,
  mm: false,
  mmRef: false,
  vma: false,
  anonVma: false,
  anonVmaRef: false,
  vpn: true,
  pmd: true,
  pud: true,
  table: true,
  level: false,
  start: true,
  end: true,
  at: true,
  pfn: false,
  pfnRef: false,
  shmem: false,
  shmemRef: false,
  slot: false,
  slotRef: false,
  pgoff: false,
  vmFlags: false,
  pteFlags: false,
  folioFlags: false,
  count: false,
  code: false,
  value: false,
} as const satisfies Record<FieldRole, boolean>;

/** Slot 0..5 (a..f) of a raw event. */
export function slotValue(r: Readonly<RawEvent>, slot: number): number {
  switch (slot) {
    case 0:
      return r.a;
    case 1:
      return r.b;
    case 2:
      return r.c;
    case 3:
      return r.d;
    case 4:
      return r.e;
    case 5:
      return r.f;
    default:
      throw new RangeError(`no numeric slot ${slot} (0..5)`);
  }
}

/** entries of a page table (PTRS_PER_PTE, PTRS_PER_PMD on x86-64) */
const PTRS = 512;

/** How many pages a page-table touch covers (1 a PTE, 512 a PMD, 512 * 512 a PUD); 1 for others. */
export function touchPages(t: Touch, r: Readonly<RawEvent>): number {
  switch (t.kind) {
    case 'pmd':
      return PTRS;
    case 'pud':
      return PTRS * PTRS;
    case 'table':
      // pt_move: move_normal_pmd (level 1) moves one PTE table, move_normal_pud (2) a PMD table
      return slotValue(r, t.aux) === 2 ? PTRS * PTRS : PTRS;
    case 'pte':
    case 'at':
    case 'range':
    case 'mm':
    case 'vma':
    case 'anonVma':
    case 'folio':
    case 'shmem':
    case 'lock':
    case 'slot':
      return 1;
  }
}

/** Does touch t of event r cover page vpn (of any mm)? false for kinds that are no address. */
export function touchCoversVpn(t: Touch, r: Readonly<RawEvent>, vpn: number): boolean {
  switch (t.kind) {
    case 'pte':
    case 'at':
      return slotValue(r, t.slot) === vpn;
    case 'pmd':
    case 'pud':
    case 'table': {
      const n = touchPages(t, r);
      return Math.floor(slotValue(r, t.slot) / n) === Math.floor(vpn / n);
    }
    case 'range':
      return slotValue(r, t.slot) <= vpn && vpn < slotValue(r, t.aux);
    case 'mm':
    case 'vma':
    case 'anonVma':
    case 'folio':
    case 'shmem':
    case 'lock':
    case 'slot':
      return false;
  }
}

/**
 * Does event r touch the object of `kind` with numeric id `id` (a vma, an anon_vma, a
 * folio's pfn, an mm, a shmem, a swap slot)? `writes`: only where it changes it.
 */
export function touchesId(r: Readonly<RawEvent>, kind: TouchKind, id: number, writes = false): boolean {
  const ts = EVENT_TOUCHES[r.type];
  if (ts === undefined) return false;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t.kind === kind && t.slot >= 0 && (!writes || t.writes) && slotValue(r, t.slot) === id) return true;
  }
  return false;
}
