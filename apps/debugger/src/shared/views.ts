/**
 * Reducers from a core State to the small view models the page draws. Pure functions
 * of their arguments; they run in the worker (and in node tests).
 */
import {
  EVENT_SCHEMA,
  PTE_SPECIAL,
  TOUCH_BIT,
  TOUCH_NAMES,
  VPN_ROLE,
  copyAnonVma,
  copyVma,
  pageFolio,
  pteFlags,
  ptePfn,
  pteSwapSlot,
  type FieldRole,
  type PmdEntry,
  type RawEvent,
  type State,
  type Vma,
} from '@mmsim/core';
import {
  MAX_ANON_VMAS,
  MAX_PAGE_ROWS,
  MAX_ROWS_PER_VMA,
  MAX_VMAS_PER_MM,
  type AvNode,
  type EventRow,
  type HeldLock,
  type MmView,
  type PteRow,
  type TaskView,
  type VmaDiffEntry,
  type VmaLite,
  type VmaPages,
} from './protocol.js';

export function vmaLite(s: State, v: Vma): VmaLite {
  const av = v.anonVma ? s.anonVmas.get(v.anonVma)! : undefined;
  return { ...copyVma(v), root: av ? av.root : 0 };
}

/** An mm's VMA ids in address order (the one place that knows how the mm keeps them). */
export function mmVmaIds(mm: State['mms'][number]): readonly number[] {
  return mm.vmas.ids();
}

/** The address spaces: every mm with its VMAs in address order. */
export function mmViews(s: State): MmView[] {
  const out: MmView[] = [];
  for (const k of Object.keys(s.mms)) {
    const mm = s.mms[+k];
    // the first MAX_VMAS_PER_MM in address order: a walk of that many, not of all of them
    const ids: number[] = [];
    mm.vmas.forEachFrom(0, (_start, id) => ids.push(id) >= MAX_VMAS_PER_MM);
    out.push({
      id: mm.id,
      parent: mm.parent,
      ptTables: mm.ptTables,
      vmas: ids.map((id) => vmaLite(s, s.vmas.get(id)!)),
      vmaTotal: mm.vmas.size,
    });
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Every PMD entry of an mm as [first vpn, entry], ascending. */
export function pmdEntries(s: State, mmId: number): [number, PmdEntry][] {
  const mm = s.mms[mmId];
  const out: [number, PmdEntry][] = [];
  if (!mm) return out;
  for (const g of Object.keys(mm.pgd)) {
    const pud = mm.pgd[+g];
    for (const u of Object.keys(pud)) {
      const pmdt = pud[+u];
      for (const p of Object.keys(pmdt)) out.push([((+g * 512 + +u) * 512 + +p) * 512, pmdt[+p]]);
    }
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** linear_page_index(vma, vpn) */
export function linearPageIndex(v: { pgoff: number; start: number }, vpn: number): number {
  return v.pgoff + vpn - v.start;
}

/**
 * Whether pteRow would report a problem for this page, without building the row: the
 * view checks every page of a VMA (its counts must be right) but keeps few rows.
 */
export function pteHasProblem(s: State, v: Vma, vpn: number, pte: number): boolean {
  if (pte < 0) return false;
  const f = pageFolio(s, ptePfn(pte));
  const special = (pteFlags(pte) & PTE_SPECIAL) !== 0;
  if (!f) return !special;
  if (special) return false;
  const k = f.mappingKind;
  if ((k === 1 || k === 2) && f.index + (ptePfn(pte) - f.pfn) !== linearPageIndex(v, vpn)) return true;
  return k === 1 && !v.chain.includes(f.mapping);
}

/** One mapped page of a VMA, checked: stale index, mapping outside the chain, no folio. */
export function pteRow(s: State, v: Vma, vpn: number, pte: number, huge: boolean): PteRow {
  const expectedIndex = linearPageIndex(v, vpn);
  if (pte < 0) {
    return {
      vpn,
      pfn: 0,
      flags: pteFlags(pte),
      swapSlot: pteSwapSlot(pte),
      huge,
      folio: 0,
      order: 0,
      folioIndex: 0,
      pageIndex: 0,
      expectedIndex,
      mappingKind: 0,
      mapping: 0,
      mapcount: 0,
      problems: [],
      covered: [],
      flagged: '',
    };
  }
  const pfn = ptePfn(pte);
  const flags = pteFlags(pte);
  const f = pageFolio(s, pfn);
  const problems: string[] = [];
  let pageIndex = 0;
  if (!f) {
    if (!(flags & PTE_SPECIAL)) problems.push(`no folio contains pfn ${pfn}`);
  } else if (!(flags & PTE_SPECIAL)) {
    pageIndex = f.index + (pfn - f.pfn);
    if (f.mappingKind === 1 || f.mappingKind === 2) {
      if (pageIndex !== expectedIndex) problems.push(`index ${pageIndex} != linear_page_index ${expectedIndex}`);
    }
    if (f.mappingKind === 1 && !v.chain.includes(f.mapping)) {
      problems.push(`mapping anon_vma ${f.mapping} not in vma ${v.id}'s chain [${v.chain.join(', ')}]`);
    }
  }
  return {
    vpn,
    pfn,
    flags,
    swapSlot: 0,
    huge,
    folio: f ? f.pfn : 0,
    order: f ? f.order : 0,
    folioIndex: f ? f.index : 0,
    pageIndex,
    expectedIndex,
    mappingKind: f ? f.mappingKind : 0,
    mapping: f ? f.mapping : 0,
    mapcount: f ? f.pageMapcount[pfn - f.pfn] + f.entireMapcount : 0,
    problems,
    covered: [],
    flagged: '',
  };
}

/** Present and swapped pages per VMA, stale ones flagged (bounded output). */
export function vmaPages(s: State): VmaPages[] {
  const out: VmaPages[] = [];
  let budget = MAX_PAGE_ROWS;
  for (const k of Object.keys(s.mms).sort((a, b) => +a - +b)) {
    const mm = s.mms[+k];
    const entries = pmdEntries(s, mm.id);
    for (const id of mm.vmas) {
      const v = s.vmas.get(id)!;
      let present = 0;
      let swapped = 0;
      let stale = 0;
      const ok: PteRow[] = [];
      const bad: PteRow[] = [];
      // every page is checked (the counts must be right), a row is built only for the
      // first MAX_ROWS_PER_VMA of each kind: a VMA of 60,000 stale pages builds 64 rows
      const pick = (vpn: number, pte: number, huge: boolean): void => {
        if (pteHasProblem(s, v, vpn, pte)) {
          stale++;
          if (bad.length < MAX_ROWS_PER_VMA) bad.push(pteRow(s, v, vpn, pte, huge));
        } else if (ok.length < MAX_ROWS_PER_VMA) ok.push(pteRow(s, v, vpn, pte, huge));
      };
      // first PMD entry that can overlap the VMA
      let lo = 0;
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (entries[mid][0] + 512 <= v.start) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < entries.length && entries[i][0] < v.end; i++) {
        const [base, e] = entries[i];
        const a = Math.max(base, v.start);
        const b = Math.min(base + 512, v.end);
        if (e.kind === 'huge') {
          for (let vpn = a; vpn < b; vpn++) {
            present++;
            const pte = (e.pfn + (vpn - base)) * 256 + (e.flags & 255);
            pick(vpn, pte, true);
          }
        } else if (e.ptes[512] > 0) {
          const t = e.ptes;
          for (let vpn = a; vpn < b; vpn++) {
            const p = t[vpn - base];
            if (p === 0) continue;
            if (p < 0) swapped++;
            else present++;
            pick(vpn, p, false);
          }
        }
      }
      const cap = Math.max(0, Math.min(MAX_ROWS_PER_VMA, budget));
      const rows = bad.concat(ok).slice(0, cap);
      budget -= rows.length;
      out.push({
        vma: v.id,
        mm: v.mm,
        start: v.start,
        end: v.end,
        present,
        swapped,
        stale,
        rows,
        truncated: rows.length < present + swapped,
      });
    }
  }
  return out;
}

/** The anon_vma forest: every anon_vma, roots first, children after their parent. */
export function anonVmaForest(s: State): { nodes: AvNode[]; total: number } {
  const all = s.anonVmas.values();
  const kids = new Map<number, number[]>();
  const roots: number[] = [];
  for (const a of all) {
    // a root anon_vma is its own parent (anon_vma_alloc: anon_vma->parent = anon_vma), as in the kernel
    if (a.parent && a.parent !== a.id && s.anonVmas.has(a.parent)) {
      const l = kids.get(a.parent) ?? [];
      l.push(a.id);
      kids.set(a.parent, l);
    } else roots.push(a.id);
  }
  roots.sort((a, b) => a - b);
  const nodes: AvNode[] = [];
  const seen = new Set<number>();
  const visit = (id: number) => {
    if (seen.has(id) || nodes.length >= MAX_ANON_VMAS) return;
    seen.add(id);
    nodes.push(copyAnonVma(s.anonVmas.get(id)!));
    for (const c of (kids.get(id) ?? []).sort((x, y) => x - y)) visit(c);
  };
  for (const r of roots) visit(r);
  return { nodes, total: all.length };
}

export function heldLocks(s: State): HeldLock[] {
  return Object.keys(s.locks)
    .sort()
    .map((name) => {
      const l = s.locks[name];
      return { lock: name, mode: l.mode, kind: l.kind, holders: l.holders.slice() };
    });
}

/** Per task: the open spans (call stack) and the locks it holds. */
export function taskViews(s: State, knownTasks: readonly number[]): TaskView[] {
  const tasks = new Set<number>(knownTasks);
  for (const k of Object.keys(s.spans)) tasks.add(+k);
  for (const name of Object.keys(s.locks)) for (const t of s.locks[name].holders) tasks.add(t);
  return [...tasks]
    .sort((a, b) => a - b)
    .map((task) => ({
      task,
      spans: (s.spans[task] ?? []).map((f) => ({ id: f.id, name: f.name })),
      locks: Object.keys(s.locks)
        .filter((n) => s.locks[n].holders.includes(task))
        .sort()
        .map((n) => ({ lock: n, mode: s.locks[n].mode, kind: s.locks[n].kind })),
    }));
}

const SLOT_KEYS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;

/** How rows are decoded: addresses as hex bytes (and the arena page), type names to ids. */
export interface DecodeContext {
  /** first vpn of the scenario's arena (0: none) */
  readonly arenaBase: number;
  /** `0x…` of vpn*4096, with the arena page when inside it */
  addr(vpn: number): string;
  typeId(name: string): number;
}

/** `0x` + lowercase hex of the byte address (vpn * 4096), as the CLI prints addresses. */
export function hexAddr(vpn: number): string {
  return `0x${(vpn * 4096).toString(16)}`;
}

export function decodeContext(arenaBase = 0): DecodeContext {
  const ids = new Map<string, number>();
  EVENT_SCHEMA.forEach((e, i) => ids.set(e.name, i));
  return {
    arenaBase,
    addr: (vpn) => (arenaBase && vpn >= arenaBase && vpn - arenaBase < 1 << 24 ? `${hexAddr(vpn)} (page ${vpn - arenaBase})` : hexAddr(vpn)),
    typeId: (name) => ids.get(name) ?? -1,
  };
}

const PLAIN = decodeContext(0);

/** A raw event as a row of the events list, its fields decoded. */
export function eventRow(r: RawEvent, spanName: string, ctx: DecodeContext = PLAIN): EventRow {
  const sch = EVENT_SCHEMA[r.type] as { name: string; fields: readonly string[]; roles: readonly FieldRole[]; str?: string } | undefined;
  if (!sch) return { seq: r.seq, task: r.task, span: r.span, spanName, type: `type#${r.type}`, fields: '' };
  const parts: string[] = [];
  // a lock event's codes in words (the schema gives them role `code`)
  const lock = (TOUCH_NAMES[r.type] & TOUCH_BIT.lock) !== 0;
  for (let i = 0; i < sch.fields.length; i++) {
    const f = sch.fields[i];
    const v = r[SLOT_KEYS[i]];
    if (VPN_ROLE[sch.roles[i]]) parts.push(`${f}=${ctx.addr(v)}`);
    else if (lock && f === 'mode') parts.push(`mode=${v === 0 ? 'write' : 'read'}`);
    else if (lock && f === 'kind') parts.push(`kind=${v === 1 ? 'spin' : 'sleep'}`);
    else if (lock && f === 'try') parts.push(`try=${v ? 'yes' : 'no'}`);
    else parts.push(`${f}=${v}`);
  }
  if (sch.str) parts.push(`${sch.str}=${JSON.stringify(r.s)}`);
  return { seq: r.seq, task: r.task, span: r.span, spanName, type: sch.name, fields: parts.join(' ') };
}

function sameRange(a: VmaLite, b: VmaLite): boolean {
  return a.start === b.start && a.end === b.end && a.pgoff === b.pgoff;
}

/**
 * The VMA set diff between a pinned state A and the current state B: what was added,
 * removed, resized (merge/split/expand) or moved (mremap), with the split/merge
 * annotations that happened in between.
 */
export function vmaSetDiff(a: State, b: State, notes: Map<number, string[]>): VmaDiffEntry[] {
  const out: VmaDiffEntry[] = [];
  if (a.vmas === b.vmas && notes.size === 0) return out;
  const ids = new Set<number>([...a.vmas.keys(), ...b.vmas.keys()]);
  for (const id of [...ids].sort((x, y) => x - y)) {
    const va = a.vmas.get(id);
    const vb = b.vmas.get(id);
    const n = notes.get(id) ?? [];
    if (va && vb && va === vb) continue;
    if (!va && vb) out.push({ id, kind: 'added', notes: n, after: vmaLite(b, vb) });
    else if (va && !vb) out.push({ id, kind: 'removed', notes: n, before: vmaLite(a, va) });
    else if (va && vb) {
      const la = vmaLite(a, va);
      const lb = vmaLite(b, vb);
      let kind: VmaDiffEntry['kind'] = 'changed';
      if (!sameRange(la, lb)) kind = la.end - la.start === lb.end - lb.start && la.pgoff === lb.pgoff ? 'moved' : 'resized';
      out.push({ id, kind, notes: n, before: la, after: lb });
    }
  }
  return out;
}
