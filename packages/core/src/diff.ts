/**
 * Diff of two states: what changed between two points of a log. Structural sharing
 * makes it cheap: identical subtrees are the same object and are skipped whole.
 */
import type { IdTable } from './idtable.js';
import { forEachFolio, lookupPmd, type Mm, type State, type PmdEntry } from './state.js';

export interface StateDiff {
  vmas: { added: number[]; removed: number[]; changed: number[] };
  anonVmas: { added: number[]; removed: number[]; changed: number[] };
  folios: { added: number[]; removed: number[]; changed: number[] };
  /** [mm, vpn] of every PTE whose entry differs */
  ptes: [number, number][];
  mms: { added: number[]; removed: number[] };
}

function keyDiff<T>(a: Readonly<Record<number, T>>, b: Readonly<Record<number, T>>) {
  const added: number[] = [];
  const removed: number[] = [];
  const changed: number[] = [];
  if (a === b) return { added, removed, changed };
  for (const k of Object.keys(a)) {
    const n = +k;
    if (!(k in b)) removed.push(n);
    else if (a[n] !== b[n]) changed.push(n);
  }
  for (const k of Object.keys(b)) if (!(k in a)) added.push(+k);
  return { added, removed, changed };
}

function tableRecord<T>(t: IdTable<T>): Record<number, T> {
  const o: Record<number, T> = {};
  t.forEach((v, id) => (o[id] = v));
  return o;
}

function pteDiff(mm: number, a: Mm | undefined, b: Mm | undefined, out: [number, number][]): void {
  if (a === b || (a && b && a.pgd === b.pgd)) return;
  const vpns = new Set<number>();
  const collect = (m: Mm | undefined) => {
    if (!m) return;
    for (const g of Object.keys(m.pgd)) {
      const pud = m.pgd[+g];
      for (const u of Object.keys(pud)) {
        const pmdt = pud[+u];
        for (const p of Object.keys(pmdt)) vpns.add(((+g * 512 + +u) * 512 + +p) * 512);
      }
    }
  };
  collect(a);
  collect(b);
  for (const base of [...vpns].sort((x, y) => x - y)) {
    const ea: PmdEntry | undefined = a && lookupPmd(a, base);
    const eb: PmdEntry | undefined = b && lookupPmd(b, base);
    if (ea === eb) continue;
    for (let i = 0; i < 512; i++) {
      const va = ea ? (ea.kind === 'table' ? ea.ptes[i] : ea.pfn * 256 + i * 256 + ea.flags) : 0;
      const vb = eb ? (eb.kind === 'table' ? eb.ptes[i] : eb.pfn * 256 + i * 256 + eb.flags) : 0;
      if (va !== vb) out.push([mm, base + i]);
    }
  }
}

export function diffStates(a: State, b: State): StateDiff {
  const ptes: [number, number][] = [];
  const mmKeys = new Set([...Object.keys(a.mms), ...Object.keys(b.mms)].map(Number));
  for (const id of [...mmKeys].sort((x, y) => x - y)) pteDiff(id, a.mms[id], b.mms[id], ptes);
  const flat = (s: State) => {
    const o: Record<number, unknown> = {};
    forEachFolio(s, (f) => (o[f.pfn] = f));
    return o;
  };
  const mmd = keyDiff(a.mms, b.mms);
  return {
    vmas: a.vmas === b.vmas ? { added: [], removed: [], changed: [] } : keyDiff(tableRecord(a.vmas), tableRecord(b.vmas)),
    anonVmas: a.anonVmas === b.anonVmas ? { added: [], removed: [], changed: [] } : keyDiff(tableRecord(a.anonVmas), tableRecord(b.anonVmas)),
    folios: a.folios === b.folios ? { added: [], removed: [], changed: [] } : keyDiff(flat(a), flat(b)),
    ptes,
    mms: { added: mmd.added, removed: mmd.removed },
  };
}
