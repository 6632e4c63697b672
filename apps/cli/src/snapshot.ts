/**
 * A State as plain data for `mmsim inspect`: every table of the machine, sorted, with
 * numbers decoded alongside (perms, flag names, mapping names).
 */
import {
  folioMapcount,
  pteFlags,
  forEachFolio,
  ptePfn,
  pteIsPresent,
  pteIsSwap,
  pteSwapSlot,
  type Folio,
  type Mm,
  type State,
} from '@mmsim/core';
import { folioFlagNames, mappingName, pteFlagNames, vmFlagNames, vmPerms, MAPPING_KINDS } from './decode.js';

export interface VmaView {
  id: number;
  start: number;
  end: number;
  pages: number;
  pgoff: number;
  flags: number;
  perms: string;
  flagNames: string[];
  anonVma: number;
  chain: number[];
  file: number;
}

export interface PteView {
  vpn: number;
  /** present entries: the pfn; swap entries: null */
  pfn: number | null;
  swapSlot?: number;
  flags: number;
  flagNames: string[];
  /** mapped by a huge PMD (one row per PMD, pages = 512) */
  huge?: boolean;
  pages?: number;
}

export interface MmView {
  id: number;
  parent: number;
  ptTables: number;
  vmas: VmaView[];
  ptes: PteView[];
}

export interface FolioView {
  pfn: number;
  order: number;
  index: number;
  mapping: string;
  mappingKind: string;
  mappingId: number;
  mapcount: number;
  refcount: number;
  pincount: number;
  entireMapcount: number;
  /** PageAnonExclusive per page (1/0) */
  pae: number[];
  flags: string[];
}

export interface AnonVmaView {
  id: number;
  root: number;
  parent: number;
  refcount: number;
  numChildren: number;
  numActiveVmas: number;
  vmas: number[];
}

export interface StateView {
  seq: number;
  counts: State['counts'];
  mms: MmView[];
  folios: FolioView[];
  anonVmas: AnonVmaView[];
  locks: { name: string; mode: 'write' | 'read'; kind: 'sleep' | 'spin'; holders: number[] }[];
  spans: { task: number; spans: { id: number; name: string }[] }[];
  swap: { slot: number; users: number }[];
}

const keys = (o: object) =>
  Object.keys(o)
    .map(Number)
    .sort((a, b) => a - b);

/** Walk the radix page table: present and swap entries, huge PMDs as one row. */
export function ptesOf(mm: Mm): PteView[] {
  const out: PteView[] = [];
  for (const g of keys(mm.pgd)) {
    const pud = mm.pgd[g];
    for (const u of keys(pud)) {
      const pmdt = pud[u];
      for (const m of keys(pmdt)) {
        const e = pmdt[m];
        const base = ((g * 512 + u) * 512 + m) * 512;
        if (e.kind === 'huge') {
          out.push({ vpn: base, pfn: e.pfn, flags: e.flags, flagNames: pteFlagNames(e.flags), huge: true, pages: 512 });
          continue;
        }
        if (e.ptes[512] === 0) continue;
        for (let k = 0; k < 512; k++) {
          const p = e.ptes[k];
          if (p === 0) continue;
          if (pteIsPresent(p)) out.push({ vpn: base + k, pfn: ptePfn(p), flags: pteFlags(p), flagNames: pteFlagNames(pteFlags(p)) });
          else if (pteIsSwap(p))
            out.push({ vpn: base + k, pfn: null, swapSlot: pteSwapSlot(p), flags: pteFlags(p), flagNames: pteFlagNames(pteFlags(p)) });
        }
      }
    }
  }
  return out;
}

function folioView(f: Folio): FolioView {
  const pae = f.order === 0 ? [f.flags & 16 ? 1 : 0] : f.pae.length ? [...f.pae] : new Array<number>(2 ** f.order).fill(0);
  return {
    pfn: f.pfn,
    order: f.order,
    index: f.index,
    mapping: mappingName(f.mappingKind, f.mapping),
    mappingKind: MAPPING_KINDS[f.mappingKind] ?? String(f.mappingKind),
    mappingId: f.mapping,
    mapcount: folioMapcount(f),
    refcount: f.refcount,
    pincount: f.pincount,
    entireMapcount: f.entireMapcount,
    pae,
    flags: folioFlagNames(f.flags),
  };
}

export function stateView(s: State): StateView {
  const mms = keys(s.mms).map((id) => {
    const mm = s.mms[id];
    return {
      id,
      parent: mm.parent,
      ptTables: mm.ptTables,
      vmas: mm.vmas.ids().map((vid) => {
        const v = s.vmas.get(vid)!;
        return {
          id: v.id,
          start: v.start,
          end: v.end,
          pages: v.end - v.start,
          pgoff: v.pgoff,
          flags: v.flags,
          perms: vmPerms(v.flags),
          flagNames: vmFlagNames(v.flags),
          anonVma: v.anonVma,
          chain: [...v.chain],
          file: v.file,
        };
      }),
      ptes: ptesOf(mm),
    };
  });
  const folios: FolioView[] = [];
  forEachFolio(s, (f) => folios.push(folioView(f)));
  const anonVmas = s.anonVmas.keys().map((id) => {
    const a = s.anonVmas.get(id)!;
    return {
      id,
      root: a.root,
      parent: a.parent,
      refcount: a.refcount,
      numChildren: a.numChildren,
      numActiveVmas: a.numActiveVmas,
      vmas: [...a.vmas],
    };
  });
  const locks = Object.keys(s.locks)
    .sort()
    .map((name) => {
      const l = s.locks[name];
      return { name, mode: l.mode === 0 ? ('write' as const) : ('read' as const), kind: l.kind === 1 ? ('spin' as const) : ('sleep' as const), holders: [...l.holders] };
    });
  const spans = keys(s.spans)
    .filter((t) => s.spans[t].length)
    .map((task) => ({ task, spans: s.spans[task].map((f) => ({ id: f.id, name: f.name })) }));
  const swap = keys(s.swap).map((slot) => ({ slot, users: s.swap[slot] }));
  return { seq: s.seq, counts: { ...s.counts }, mms, folios, anonVmas, locks, spans, swap };
}
