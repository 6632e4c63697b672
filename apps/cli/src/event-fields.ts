/**
 * `mmsim events`: an event's fields for people (codes decoded, vpns as addresses, lock
 * names with addresses) and the filters (--vma, --page/--addr, --pfn, --lock, --span,
 * --task) that pick events by what they touch.
 */
import { E, type MmEvent, type RawEvent } from '@mmsim/core';
import { addrAt, lockNameAt, type Arena } from './addr.js';
import { folioFlagNames, mappingName, pteFlagLetters, vmFlagNames, vmPerms } from './decode.js';

/** Fields holding a virtual page number (shown as a byte address). */
const VPN_FIELDS = new Set(['start', 'end', 'at', 'vpn', 'from', 'to']);
const ENVELOPE = new Set(['seq', 'task', 'span', 'type']);
const AV_COUNTERS = ['refcount', 'num_children', 'num_active_vmas'];
const FOLIO_COUNTERS = ['refcount', 'pincount', 'page_mapcount', 'entire_mapcount'];
const PT_LEVELS = ['', 'pmd', 'pud'];

const lockMode = (mode: number, kind: number) => `${mode === 0 ? 'write' : 'read'} ${kind === 1 ? 'spin' : 'sleep'}`;
const signed = (n: number) => (n >= 0 ? `+${n}` : String(n));

/** The fields of an event as `name=value` words, decoded. */
export function eventFields(ev: MmEvent, arena?: Arena): string {
  const f = ev as unknown as Record<string, number | string>;
  switch (ev.type) {
    case 'lock_acquire':
      return `${ev.lock && lockNameAt(ev.lock)} ${lockMode(ev.mode, ev.kind)}${ev.try ? ' trylock' : ''}`;
    case 'lock_release':
    case 'lock_try_fail':
      return `${lockNameAt(ev.lock)} ${lockMode(ev.mode, ev.kind)}`;
    case 'anon_vma_count':
      return `anonVma=av${ev.anonVma} ${AV_COUNTERS[ev.counter] ?? `counter${ev.counter}`} ${signed(ev.delta)}`;
    case 'folio_count':
      return `pfn=${ev.pfn} ${FOLIO_COUNTERS[ev.counter] ?? `counter${ev.counter}`} ${signed(ev.delta)}`;
    case 'folio_mapping':
      return `pfn=${ev.pfn} mapping=${mappingName(ev.kind, ev.target)}`;
    case 'folio_flags':
      return `pfn=${ev.pfn}${ev.set ? ` set=${folioFlagNames(ev.set).join('|') || `0x${ev.set.toString(16)}`}` : ''}${ev.clear ? ` clear=${folioFlagNames(ev.clear).join('|') || `0x${ev.clear.toString(16)}`}` : ''}`;
    default:
      break;
  }
  const parts: string[] = [];
  for (const [k, v] of Object.entries(f)) {
    if (ENVELOPE.has(k)) continue;
    if (typeof v === 'string') parts.push(`${k}=${JSON.stringify(v)}`);
    else if (VPN_FIELDS.has(k)) parts.push(`${k}=${addrAt(v, arena)}`);
    else if (k === 'pgoff' || k === 'index') parts.push(`${k}=0x${v.toString(16)} (page offset)`);
    else if (k === 'flags' && (ev.type === 'vma_insert' || ev.type === 'vma_flags')) parts.push(`flags=${vmPerms(v)} ${vmFlagNames(v).filter((n) => !['READ', 'WRITE', 'EXEC', 'SHARED'].includes(n)).join('|')}`.trimEnd());
    else if (k === 'flags') parts.push(`flags=${pteFlagLetters(v)}`);
    else if (k === 'level') parts.push(`level=${PT_LEVELS[v] || v}`);
    else if (k === 'write' && ev.type === 'fault') parts.push(v ? 'write' : 'read');
    else if (k === 'anonVma' || k === 'root' || (k === 'parent' && ev.type === 'anon_vma_create')) parts.push(`${k}=${v ? `av${v}` : '-'}`);
    else parts.push(`${k}=${v}`);
  }
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
    if (r.type !== E.LockAcquire && r.type !== E.LockRelease && r.type !== E.LockTryFail) return false;
    if (r.s !== f.lock && lockNameAt(r.s) !== f.lock && !r.s.startsWith(`${f.lock}:`)) return false;
  }
  return true;
}

function touchesVma(r: Readonly<RawEvent>, id: number): boolean {
  switch (r.type) {
    case E.VmaInsert:
    case E.VmaRemove:
    case E.VmaAdjust:
    case E.VmaFlags:
    case E.VmaSetAnonVma:
    case E.VmaSetFile:
    case E.AvcLink:
    case E.AvcUnlink:
      return r.a === id;
    case E.VmaSplit:
    case E.VmaMerge:
      return r.a === id || r.b === id;
    case E.LockAcquire:
    case E.LockRelease:
    case E.LockTryFail:
      return r.s === `vma_lock:${id}`;
    default:
      return false;
  }
}

const PMD_PAGES = 512;

function touchesVpn(r: Readonly<RawEvent>, vpn: number): boolean {
  switch (r.type) {
    case E.VmaInsert:
      return r.c <= vpn && vpn < r.d;
    case E.VmaAdjust:
      return r.b <= vpn && vpn < r.c;
    case E.VmaSplit:
      return r.c === vpn;
    case E.PteSet:
    case E.PteClear:
    case E.PteFlags:
    case E.PteSwap:
    case E.Fault:
      return r.b === vpn;
    case E.PteMove:
      return r.b === vpn || r.c === vpn;
    case E.PtAlloc:
    case E.PtFree:
    case E.PmdSet:
    case E.PmdClear:
    case E.PmdSplit:
    case E.PmdFlags:
      return Math.floor(r.b / PMD_PAGES) === Math.floor(vpn / PMD_PAGES);
    case E.PtMove:
    case E.PmdMove:
    case E.PudMove: {
      const span = r.type === E.PtMove && r.d === 2 ? PMD_PAGES * PMD_PAGES : PMD_PAGES;
      return Math.floor(r.b / span) === Math.floor(vpn / span) || Math.floor(r.c / span) === Math.floor(vpn / span);
    }
    default:
      return false;
  }
}

function touchesPfn(r: Readonly<RawEvent>, pfn: number): boolean {
  switch (r.type) {
    case E.FolioAlloc:
    case E.FolioFree:
    case E.FolioSplit:
    case E.FolioIndex:
    case E.FolioMapping:
    case E.FolioFlags:
    case E.PageAnonExclusive:
    case E.FolioCount:
    case E.PageContent:
      return r.a === pfn;
    case E.PteSet:
    case E.PmdSet:
    case E.ShmemPage:
      return r.c === pfn;
    case E.SwapCache:
      return r.b === pfn;
    case E.LockAcquire:
    case E.LockRelease:
    case E.LockTryFail:
      return r.s === `folio:${pfn}`;
    default:
      return false;
  }
}
