/**
 * Provenance: which events wrote a value (a folio's index or mapping, a PTE, a VMA's
 * fields, an anon_vma, a lock), found by one scan of the log. This is what an event log
 * gives that no live kernel can: the whole history of one field, with the task and the
 * span of each writer. Also the events search of the events list.
 */
import { E, newRawEvent, type EventLog, type RawEvent } from '@mmsim/core';
import type { EventRow, HistoryResult, HistoryTarget, SearchQuery, SearchResult } from './protocol.js';
import type { Lookup } from './log-index.js';
import { eventRow, type DecodeContext } from './views.js';

/** rows a history or a search returns at most */
export const MAX_HISTORY_ROWS = 500;

/** Does event r write the target? (vpn targets: the PTE of that page, also via its table or PMD) */
export function writes(r: Readonly<RawEvent>, t: HistoryTarget): boolean {
  switch (t.kind) {
    case 'folio-index':
      return (r.type === E.FolioIndex || r.type === E.FolioAlloc || r.type === E.FolioSplit) && r.a === t.pfn;
    case 'folio-mapping':
      return (r.type === E.FolioMapping || r.type === E.FolioAlloc) && r.a === t.pfn;
    case 'folio':
      return r.type >= E.FolioAlloc && r.type <= E.FolioCount && r.a === t.pfn;
    case 'pte': {
      const base = t.vpn - (t.vpn % 512);
      switch (r.type) {
        case E.PteSet:
        case E.PteClear:
        case E.PteFlags:
        case E.PteSwap:
          return r.a === t.mm && r.b === t.vpn;
        case E.PteMove:
          return r.a === t.mm && (r.b === t.vpn || r.c === t.vpn);
        case E.PmdSet:
        case E.PmdClear:
        case E.PmdSplit:
        case E.PmdFlags:
        case E.PtAlloc:
        case E.PtFree:
          return r.a === t.mm && r.b - (r.b % 512) === base;
        case E.PmdMove:
        case E.PtMove:
          return r.a === t.mm && (r.b - (r.b % 512) === base || r.c - (r.c % 512) === base);
        default:
          return false;
      }
    }
    case 'vma':
      switch (r.type) {
        case E.VmaInsert:
        case E.VmaRemove:
        case E.VmaAdjust:
        case E.VmaFlags:
        case E.VmaSetAnonVma:
        case E.VmaSetFile:
        case E.AvcLink:
        case E.AvcUnlink:
          return r.a === t.id;
        case E.VmaSplit:
        case E.VmaMerge:
          return r.a === t.id || r.b === t.id;
        default:
          return false;
      }
    case 'vma-range':
      return ((r.type === E.VmaInsert || r.type === E.VmaAdjust || r.type === E.VmaRemove) && r.a === t.id) || ((r.type === E.VmaSplit || r.type === E.VmaMerge) && (r.a === t.id || r.b === t.id));
    case 'vma-anon':
      return (r.type === E.VmaSetAnonVma || r.type === E.AvcLink || r.type === E.AvcUnlink || r.type === E.VmaInsert) && r.a === t.id;
    case 'anon-vma':
      switch (r.type) {
        case E.AnonVmaCreate:
        case E.AnonVmaFree:
        case E.AnonVmaCount:
          return r.a === t.id;
        case E.AvcLink:
        case E.AvcUnlink:
        case E.VmaSetAnonVma:
          return r.b === t.id;
        default:
          return false;
      }
    case 'lock':
      return (r.type === E.LockAcquire || r.type === E.LockRelease || r.type === E.LockTryFail) && r.s === t.name;
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
