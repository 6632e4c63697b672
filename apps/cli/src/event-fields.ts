/**
 * `mmsim events`: an event's fields for people (codes decoded, vpns as addresses, lock
 * names with addresses) and the filters (--vma, --page/--addr, --pfn, --lock, --span,
 * --task) that pick events by what they touch.
 */
import { E, EVENT_SCHEMA, EVENT_TOUCHES, T, TOUCH_BIT, TOUCH_NAMES, touchCoversVpn, touchesId, type EventOf, type EventTypeName, type FieldRole, type MmEvent, type RawEvent } from '@mmsim/core';
import { addrAt, lockNameAt, type Arena } from './addr.js';
import { folioFlagNames, mappingName, pteFlagLetters, vmFlagNames, vmPerms } from './decode.js';

const ENVELOPE: ReadonlySet<string> = new Set(['seq', 'task', 'span', 'type']);
const AV_COUNTERS = ['refcount', 'num_children', 'num_active_vmas'];
const FOLIO_COUNTERS = ['refcount', 'pincount', 'page_mapcount', 'entire_mapcount'];
const PT_LEVELS = ['', 'pmd', 'pud'];

const lockMode = (mode: number, kind: number) => `${mode === 0 ? 'write' : 'read'} ${kind === 1 ? 'spin' : 'sleep'}`;
const signed = (n: number) => (n >= 0 ? `+${n}` : String(n));

type FieldFormat = (name: string, v: number, arena: Arena | undefined) => string;
const plain: FieldFormat = (k, v) => `${k}=${v}`;
const address: FieldFormat = (k, v, arena) => `${k}=${addrAt(v, arena)}`;
const anonVma: FieldFormat = (k, v) => `${k}=${v ? `av${v}` : '-'}`;
const folioFlags: FieldFormat = (k, v) => (v ? `${k}=${folioFlagNames(v).join('|') || `0x${v.toString(16)}`}` : '');

/**
 * How a field is shown, by its role: every role has an entry, so a new event type's
 * fields are decoded by its schema entry alone (vpns as byte addresses, flags by name).
 * An empty string leaves the field out (folio flags nobody set or cleared).
 */
const ROLE_FORMAT: Record<FieldRole, FieldFormat> = {
  span: plain,
  task: plain,
  mm: plain,
  mmRef: plain,
  vma: plain,
  anonVma,
  anonVmaRef: anonVma,
  vpn: address,
  pmd: address,
  pud: address,
  table: address,
  level: (k, v) => `${k}=${PT_LEVELS[v] || v}`,
  start: address,
  end: address,
  at: address,
  pfn: plain,
  pfnRef: plain,
  shmem: plain,
  shmemRef: plain,
  slot: plain,
  slotRef: plain,
  pgoff: (k, v) => `${k}=0x${v.toString(16)} (page offset)`,
  vmFlags: (k, v) => `${k}=${vmPerms(v)} ${vmFlagNames(v).filter((n) => !['READ', 'WRITE', 'EXEC', 'SHARED'].includes(n)).join('|')}`.trimEnd(),
  pteFlags: (k, v) => `${k}=${pteFlagLetters(v)}`,
  folioFlags,
  count: plain,
  // a fault's `write` reads as the access it was
  code: (k, v) => (k === 'write' ? (v ? 'write' : 'read') : `${k}=${v}`),
  value: plain,
};

/**
 * Types shown in a form of their own (a lock's mode in words, a counter by name): an
 * optional nicety over the role-driven form, which every type has.
 */
const TYPE_FORMAT: { readonly [N in EventTypeName]?: (ev: EventOf<N>) => string } = {
  lock_acquire: (ev) => `${ev.lock && lockNameAt(ev.lock)} ${lockMode(ev.mode, ev.kind)}${ev.try ? ' trylock' : ''}`,
  lock_release: (ev) => `${lockNameAt(ev.lock)} ${lockMode(ev.mode, ev.kind)}`,
  lock_try_fail: (ev) => `${lockNameAt(ev.lock)} ${lockMode(ev.mode, ev.kind)}`,
  anon_vma_count: (ev) => `anonVma=av${ev.anonVma} ${AV_COUNTERS[ev.counter] ?? `counter${ev.counter}`} ${signed(ev.delta)}`,
  folio_count: (ev) => `pfn=${ev.pfn} ${FOLIO_COUNTERS[ev.counter] ?? `counter${ev.counter}`} ${signed(ev.delta)}`,
  folio_mapping: (ev) => `pfn=${ev.pfn} mapping=${mappingName(ev.kind, ev.target)}`,
};

/** The fields of an event as `name=value` words, decoded. */
export function eventFields(ev: MmEvent, arena?: Arena): string {
  const own = TYPE_FORMAT[ev.type] as ((e: MmEvent) => string) | undefined;
  if (own) return own(ev);
  const sch = EVENT_SCHEMA[T[ev.type]];
  const f = ev as unknown as Record<string, number | string>;
  const parts: string[] = [];
  sch.fields.forEach((k, i) => {
    // a field named like an envelope key (span_open's span, task_switch's task) shares
    // that key in the event object: left out, as it always was
    if (ENVELOPE.has(k)) return;
    const word = ROLE_FORMAT[sch.roles[i]](k, f[k] as number, arena);
    if (word) parts.push(word);
  });
  if ('str' in sch) parts.push(`${sch.str}=${JSON.stringify(f[sch.str])}`);
  return parts.join(' ');
}

/** What --vma, --page/--addr, --pfn, --lock, --span, --task ask for (undefined: any). */
export interface EventFilter {
  vma?: number;
  /** a vpn */
  vpn?: number;
  pfn?: number;
  lock?: string;
  /** a span id: its events and those of the spans inside it */
  span?: number;
  task?: number;
}

/**
 * Does the event match? `spanParents` maps every span id opened so far to its parent
 * (the caller fills it from span_open events, filters or not).
 */
export function matches(r: Readonly<RawEvent>, f: EventFilter, spanParents: Map<number, number>): boolean {
  if (f.task !== undefined && r.task !== f.task) return false;
  if (f.span !== undefined) {
    let s = r.type === E.SpanOpen ? r.a : r.span;
    let inside = false;
    for (let depth = 0; s && depth < 256; depth++, s = spanParents.get(s) ?? 0) {
      if (s === f.span) {
        inside = true;
        break;
      }
    }
    if (!inside) return false;
  }
  if (f.vma !== undefined && !touchesVma(r, f.vma)) return false;
  if (f.vpn !== undefined && !touchesVpn(r, f.vpn)) return false;
  if (f.pfn !== undefined && !touchesPfn(r, f.pfn)) return false;
  if (f.lock !== undefined) {
    if ((TOUCH_NAMES[r.type] & TOUCH_BIT.lock) === 0) return false;
    if (r.s !== f.lock && lockNameAt(r.s) !== f.lock && !r.s.startsWith(`${f.lock}:`)) return false;
  }
  return true;
}

/** The touches come from the schema's roles (core touches.ts); locks by the model's names. */
function touchesVma(r: Readonly<RawEvent>, id: number): boolean {
  return touchesId(r, 'vma', id) || namesLock(r, `vma_lock:${id}`);
}

/** A PTE, the PMD or PUD around it, a table moved, a VMA's range or split point. */
function touchesVpn(r: Readonly<RawEvent>, vpn: number): boolean {
  const ts = EVENT_TOUCHES[r.type];
  if (ts === undefined) return false;
  for (let i = 0; i < ts.length; i++) if (touchCoversVpn(ts[i], r, vpn)) return true;
  return false;
}

function touchesPfn(r: Readonly<RawEvent>, pfn: number): boolean {
  return touchesId(r, 'folio', pfn) || namesLock(r, `folio:${pfn}`);
}

function namesLock(r: Readonly<RawEvent>, name: string): boolean {
  return (TOUCH_NAMES[r.type] & TOUCH_BIT.lock) !== 0 && r.s === name;
}
