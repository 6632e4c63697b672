/**
 * Provenance: which events wrote a value (a folio's index or mapping, a PTE, a VMA's
 * fields, an anon_vma, a lock), found by one scan of the log. This is what an event log
 * gives that no live kernel can: the whole history of one field, with the task and the
 * span of each writer. Also the events search of the events list.
 */
import { EVENT_SCHEMA, EVENT_TOUCHES, T, TOUCH_BIT, TOUCH_WRITES, newRawEvent, slotValue, touchCoversVpn, touchesId, type EventLog, type EventTypeName, type RawEvent } from '@mmsim/core';
import type { EventRow, HistoryResult, HistoryTarget, SearchQuery, SearchResult } from './protocol.js';
import type { Lookup } from './log-index.js';
import { eventRow, type DecodeContext } from './views.js';

/** rows a history or a search returns at most */
export const MAX_HISTORY_ROWS = 500;

/**
 * Event types that write one field of an object (the history of that field); the
 * other targets are what core's touch table (from the schema roles) says the event
 * writes or names.
 */
const FIELD_WRITERS = {
  // folio_alloc and folio_split give the folios their first index and mapping
  'folio-index': ['folio_alloc', 'folio_split', 'folio_index'],
  'folio-mapping': ['folio_alloc', 'folio_mapping'],
  'vma-range': ['vma_insert', 'vma_adjust', 'vma_remove', 'vma_split', 'vma_merge'],
  'vma-anon': ['vma_insert', 'vma_set_anon_vma', 'avc_link', 'avc_unlink'],
} as const satisfies Partial<Record<HistoryTarget['kind'], readonly EventTypeName[]>>;

/** FIELD_WRITERS as 1 at the type ids. */
const writerIds = (names: readonly EventTypeName[]): Uint8Array => {
  const m = new Uint8Array(EVENT_SCHEMA.length);
  for (const n of names) m[T[n]] = 1;
  return m;
};
const FOLIO_INDEX = writerIds(FIELD_WRITERS['folio-index']);
const FOLIO_MAPPING = writerIds(FIELD_WRITERS['folio-mapping']);
const VMA_RANGE = writerIds(FIELD_WRITERS['vma-range']);
const VMA_ANON = writerIds(FIELD_WRITERS['vma-anon']);

const PAGE_TABLE = TOUCH_BIT.pte | TOUCH_BIT.pmd | TOUCH_BIT.pud | TOUCH_BIT.table;

/** Does r write a page-table entry of mm covering vpn (the PTE, its table or its PMD)? */
function writesPte(r: Readonly<RawEvent>, mm: number, vpn: number): boolean {
  if ((TOUCH_WRITES[r.type] & PAGE_TABLE) === 0) return false;
  const ts = EVENT_TOUCHES[r.type];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t.writes && t.mm >= 0 && slotValue(r, t.mm) === mm && touchCoversVpn(t, r, vpn)) return true;
  }
  return false;
}

/** Does event r write the target? (vpn targets: the PTE of that page, also via its table or PMD) */
export function writes(r: Readonly<RawEvent>, t: HistoryTarget): boolean {
  switch (t.kind) {
    case 'folio-index':
      return FOLIO_INDEX[r.type] === 1 && touchesId(r, 'folio', t.pfn, true);
    case 'folio-mapping':
      return FOLIO_MAPPING[r.type] === 1 && touchesId(r, 'folio', t.pfn, true);
    case 'folio':
      return touchesId(r, 'folio', t.pfn, true);
    case 'pte':
      return writesPte(r, t.mm, t.vpn);
    case 'vma':
      return touchesId(r, 'vma', t.id);
    case 'vma-range':
      return VMA_RANGE[r.type] === 1 && touchesId(r, 'vma', t.id);
    case 'vma-anon':
      return VMA_ANON[r.type] === 1 && touchesId(r, 'vma', t.id);
    case 'anon-vma':
      return touchesId(r, 'anonVma', t.id, true);
    case 'lock':
      return (TOUCH_WRITES[r.type] & TOUCH_BIT.lock) !== 0 && r.s === t.name;
  }
}

export function targetLabel(t: HistoryTarget, ctx: DecodeContext): string {
  switch (t.kind) {
    case 'folio-index':
      return `folio ${t.pfn} ->index`;
    case 'folio-mapping':
      return `folio ${t.pfn} ->mapping`;
    case 'folio':
      return `folio ${t.pfn}`;
    case 'pte':
      return `PTE of mm ${t.mm} at ${ctx.addr(t.vpn)}`;
    case 'vma':
      return `vma #${t.id}`;
    case 'vma-range':
      return `vma #${t.id} range and pgoff`;
    case 'vma-anon':
      return `vma #${t.id} anon_vma and chain`;
    case 'anon-vma':
      return `anon_vma ${t.id}`;
    case 'lock':
      return `lock ${t.name}`;
  }
}

/** Every writer of the target in the log (at most MAX_HISTORY_ROWS rows, the total counted). */
export function history(log: EventLog, t: HistoryTarget, pos: number, spanNames: Lookup<string>, ctx: DecodeContext): HistoryResult {
  const t0 = performance.now();
  const cur = log.cursor(0);
  const r = newRawEvent();
  const rows: EventRow[] = [];
  let total = 0;
  let lastBefore = -1;
  let firstAfter = -1;
  while (cur.next(r)) {
    if (!writes(r, t)) continue;
    total++;
    if (r.seq < pos) lastBefore = r.seq;
    else if (firstAfter < 0) firstAfter = r.seq;
    if (rows.length < MAX_HISTORY_ROWS) rows.push(eventRow(r, spanNames.get(r.span) ?? '', ctx));
  }
  return { target: t, label: targetLabel(t, ctx), rows, total, lastBefore, firstAfter, ms: performance.now() - t0 };
}

/** Does a row match the query (type exactly; text in the decoded row, case-insensitive)? */
export function rowMatches(row: EventRow, q: SearchQuery): boolean {
  if (q.type && row.type !== q.type) return false;
  if (q.task !== undefined && row.task !== q.task) return false;
  if (!q.text) return true;
  const hay = `${row.type} ${row.fields} task=${row.task} span=${row.span} ${row.spanName}`.toLowerCase();
  return q.text
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

/** Matching events from pos on (dir 1) or before pos (dir -1), nearest first. */
export function search(log: EventLog, q: SearchQuery, pos: number, dir: 1 | -1, spanNames: Lookup<string>, ctx: DecodeContext, limit = 200): SearchResult {
  const t0 = performance.now();
  const rows: EventRow[] = [];
  const r = newRawEvent();
  const max = Math.min(limit, MAX_HISTORY_ROWS);
  let scanned = 0;
  const typeId = q.type ? ctx.typeId(q.type) : -1;
  const consider = (): boolean => {
    scanned++;
    if (typeId >= 0 && r.type !== typeId) return false;
    const row = eventRow(r, spanNames.get(r.span) ?? '', ctx);
    if (rowMatches(row, q)) rows.push(row);
    return rows.length >= max;
  };
  if (dir > 0) {
    const cur = log.cursor(Math.max(0, pos));
    while (cur.next(r)) if (consider()) break;
  } else {
    // backwards: chunks of events read forward, newest first
    const CH = 65536;
    for (let hi = Math.min(pos, log.length); hi > 0 && rows.length < max; hi -= CH) {
      const lo = Math.max(0, hi - CH);
      const part: EventRow[] = [];
      const cur = log.cursor(lo);
      for (let i = lo; i < hi && cur.next(r); i++) {
        scanned++;
        if (typeId >= 0 && r.type !== typeId) continue;
        const row = eventRow(r, spanNames.get(r.span) ?? '', ctx);
        if (rowMatches(row, q)) part.push(row);
      }
      for (let i = part.length - 1; i >= 0 && rows.length < max; i--) rows.push(part[i]);
    }
  }
  return { rows, scanned, ms: performance.now() - t0 };
}
