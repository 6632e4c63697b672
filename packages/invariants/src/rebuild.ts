/**
 * The shadows from a state (attach, rollback), and their copies. Building is O(state)
 * and rare, except in the explorer: it restores the same marked state before every
 * schedule, so the coordinator keeps the shadows of a state rebuilt from twice
 * (saveShadows) and copies them back from then on (restoreShadows): the shadows are a
 * function of the immutable state alone.
 */
import { MappingKind, forEachFolio, type State } from '@mmsim/core';
import type { LockClasses } from './lock-classes.js';
import { MmShadow, countable, newShadowTable, type Shadows, type ShadowAv, type ShadowVma, type TaskInfo } from './shadows.js';
import { bump } from './util.js';

/** The shadows built from one state: copies, restored by copying. */
export interface SavedShadows {
  /** per mm: its PTE tables (a copy, and the array the shadow uses, refilled on restore) and huge leaves */
  mms: { id: number; tables: { key: number; saved: Float64Array; live: Float64Array }[]; huge: [number, number][] }[];
  pteMaps: Int32Array;
  pmdMaps: Int32Array;
  folioOrder: Int32Array;
  folioMapping: Int32Array;
  vmas: [number, ShadowVma][];
  avs: [number, ShadowAv][];
  nonEmptyChildren: [number, number][];
  rootChildren: [number, number][];
  activeVmas: [number, number][];
  activeMms: [number, [number, number][]][];
  tasks: TaskInfo[];
  openTasks: number;
  spinTotal: number;
  anonWriteHeld: number;
}

export function saveShadows(sh: Shadows): SavedShadows {
  const pairs = (m: Map<number, number>): [number, number][] => [...m];
  return {
    mms: [...sh.mms].map(([id, m]) => ({ id, tables: [...m.tables].map(([k, t]) => ({ key: k, saved: t.slice(), live: t })), huge: pairs(m.huge) })),
    pteMaps: sh.pteMaps.save(),
    pmdMaps: sh.pmdMaps.save(),
    folioOrder: sh.folioOrder.save(),
    folioMapping: sh.folioMapping.save(),
    vmas: [...sh.vmas].map(([id, v]) => [id, { ...v }]),
    avs: [...sh.avs].map(([id, a]) => [id, { ...a }]),
    nonEmptyChildren: pairs(sh.nonEmptyChildren),
    rootChildren: pairs(sh.rootChildren),
    activeVmas: pairs(sh.activeVmas),
    activeMms: [...sh.activeMms].map(([av, m]) => [av, pairs(m)]),
    tasks: [...sh.tasks.values()].map((t) => ({ id: t.id, spans: t.spans.slice(), held: t.held.map((h) => ({ ...h })), spin: t.spin })),
    openTasks: sh.openTasks,
    spinTotal: sh.spinTotal,
    anonWriteHeld: sh.anonWriteHeld,
  };
}

/** The shadows as saveShadows() saw them (every mutable part copied, the tables' arrays reused). */
export function restoreShadows(sh: Shadows, sv: SavedShadows): void {
  const fill = (m: Map<number, number>, from: readonly (readonly [number, number])[]): void => {
    m.clear();
    for (const [k, v] of from) m.set(k, v);
  };
  sh.mms.clear();
  for (const m of sv.mms) {
    const mm = new MmShadow();
    for (const t of m.tables) {
      t.live.set(t.saved);
      mm.tables.set(t.key, t.live);
    }
    for (const [k, v] of m.huge) mm.huge.set(k, v);
    sh.mms.set(m.id, mm);
  }
  sh.pteMaps.restore(sv.pteMaps);
  sh.pmdMaps.restore(sv.pmdMaps);
  sh.folioOrder.restore(sv.folioOrder);
  sh.folioMapping.restore(sv.folioMapping);
  sh.gupRefs.clear();
  sh.vmas.clear();
  for (const [id, v] of sv.vmas) sh.vmas.set(id, { ...v });
  sh.avs.clear();
  for (const [id, a] of sv.avs) sh.avs.set(id, { ...a });
  fill(sh.nonEmptyChildren, sv.nonEmptyChildren);
  fill(sh.rootChildren, sv.rootChildren);
  fill(sh.activeVmas, sv.activeVmas);
  sh.activeMms.clear();
  for (const [av, m] of sv.activeMms) sh.activeMms.set(av, new Map(m));
  sh.tasks.clear();
  for (const t of sv.tasks) sh.tasks.set(t.id, { id: t.id, spans: t.spans.slice(), held: t.held.map((h) => ({ ...h })), spin: t.spin });
  sh.openTasks = sv.openTasks;
  sh.spinTotal = sv.spinTotal;
  sh.anonWriteHeld = sv.anonWriteHeld;
}

/** Every shadow from the state, from scratch. */
export function buildShadows(sh: Shadows, s: State, classes: LockClasses): void {
  sh.mms.clear();
  sh.pteMaps.reset();
  sh.pmdMaps.reset();
  sh.folioOrder.reset();
  sh.folioMapping.clear();
  sh.gupRefs.clear();
  sh.vmas.clear();
  sh.avs.clear();
  sh.nonEmptyChildren.clear();
  sh.rootChildren.clear();
  sh.activeVmas.clear();
  sh.activeMms.clear();
  for (const k of Object.keys(s.mms)) {
    const m = s.mms[+k];
    const mm = new MmShadow();
    sh.mms.set(m.id, mm);
    for (const g of Object.keys(m.pgd)) {
      const pud = m.pgd[+g];
      for (const u of Object.keys(pud)) {
        const pmdt = pud[+u];
        for (const p of Object.keys(pmdt)) {
          const key = (+g * 512 + +u) * 512 + +p;
          const e = pmdt[+p];
          if (e.kind === 'table') {
            const t = newShadowTable();
            t.set(e.ptes.subarray(0, 512));
            mm.tables.set(key, t);
            for (let i = 0; i < 512; i++) if (countable(t[i])) sh.pteMaps.add(Math.floor(t[i] / 256), 1);
          } else {
            const v = e.pfn * 256 + (e.flags | 1);
            mm.huge.set(key, v);
            if (countable(v)) sh.pmdMaps.add(e.pfn, 1);
          }
        }
      }
    }
  }
  forEachFolio(s, (f) => {
    sh.folioOrder.set(f.pfn, f.order + 1);
    if (f.mappingKind !== MappingKind.None || f.mapping) sh.folioMapping.set(f.pfn, f.mappingKind + 4 * f.mapping);
  });
  s.vmas.forEach((v) => {
    sh.vmas.set(v.id, { mm: v.mm, start: v.start, end: v.end, pgoff: v.pgoff, anonVma: v.anonVma });
    if (v.anonVma) sh.activeVma(v.anonVma, v.mm, 1);
  });
  s.anonVmas.forEach((a) => {
    sh.avs.set(a.id, { root: a.root, parent: a.parent });
    if (a.root !== a.id) bump(sh.rootChildren, a.root, 1);
    if (a.vmas.length > 0) bump(sh.nonEmptyChildren, a.parent, 1);
  });
  // tasks: spans and held locks (acquisition order is not in the state)
  sh.tasks.clear();
  sh.lastTask = null;
  sh.openTasks = 0;
  sh.spinTotal = 0;
  sh.anonWriteHeld = 0;
  for (const k of Object.keys(s.spans)) {
    const st = s.spans[+k];
    if (!st || !st.length) continue;
    sh.task(+k).spans.push(...st.map((f) => f.name));
    sh.openTasks++;
  }
  for (const name of Object.keys(s.locks)) {
    const l = s.locks[name];
    for (const h of l.holders) {
      sh.lockTaken(sh.task(h), classes.lockInfo(name), l.mode, l.kind, false);
    }
  }
}
