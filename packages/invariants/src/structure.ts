/**
 * The structure checker, at the end of a syscall, on what the syscall dirtied:
 *   - no PTE or PMD maps a page that belongs to no folio, and no folio is freed while
 *     mapped (the reverse counts of the shadows against the folio table);
 *   - a folio's mapcounts (per page and entire) equal the PTEs and PMDs that map it,
 *     and an anon folio's refcount is its mappings plus its pins;
 *   - a changed VMA is non-empty, in its mm's VMA tree, and in order with its
 *     neighbours (no overlap);
 *   - an anon_vma's num_children, num_active_vmas and refcount equal what its links say
 *     (anon_vma_clone, unlink_anon_vmas, __put_anon_vma).
 */
import { FOLIO_ANON, FOLIO_SWAPCACHE, MappingKind, type Folio, type RawEvent, type State } from '@mmsim/core';
import type { Reporter } from './report.js';
import type { Shadows } from './shadows.js';

export class StructureChecker {
  constructor(
    private readonly rep: Reporter,
    private readonly sh: Shadows,
    private readonly pageFolio: (pfn: number) => Folio | undefined,
  ) {}

  /** Dirty page p belongs to no folio: nothing may map it. */
  unownedPage(r: Readonly<RawEvent>, path: readonly string[], p: number): void {
    const { pteMaps, pmdMaps } = this.sh;
    if (pteMaps.get(p) > 0 || pmdMaps.get(p) > 0) {
      this.rep.report('structure', r, path, `page ${p} is mapped (${pteMaps.get(p)} PTE, ${pmdMaps.get(p)} PMD) but belongs to no folio: a PTE points to a freed folio`, {
        folio: [p],
      });
    }
  }

  checkFolioCounts(r: Readonly<RawEvent>, path: readonly string[], f: Folio): void {
    const { pteMaps, pmdMaps } = this.sh;
    const n = f.pageMapcount.length;
    let maps = 0;
    for (let i = 0; i < n; i++) {
      const real = pteMaps.get(f.pfn + i);
      maps += real;
      if (real !== f.pageMapcount[i]) {
        this.rep.report('structure', r, path, `page ${f.pfn + i} of folio ${f.pfn} has mapcount ${f.pageMapcount[i]} but ${real} PTE(s) map it`, { folio: [f.pfn] });
        return;
      }
    }
    const pmds = pmdMaps.get(f.pfn);
    if (pmds !== f.entireMapcount) {
      this.rep.report('structure', r, path, `folio ${f.pfn} has entire mapcount ${f.entireMapcount} but ${pmds} PMD(s) map it`, { folio: [f.pfn] });
      return;
    }
    maps += pmds;
    // refcount convention of the model (rmap.ts): each PTE or PMD mapping holds one
    // reference, each pin one more, each reference GUP left its caller (FOLL_GET) one;
    // the swap cache holds its own (not checked)
    if ((f.flags & FOLIO_ANON) !== 0 && (f.flags & FOLIO_SWAPCACHE) === 0 && f.mappingKind !== MappingKind.Shmem) {
      const gup = this.sh.gupRefs.get(f.pfn) ?? 0;
      const want = maps + f.pincount + gup;
      if (f.refcount !== want) {
        const refs = gup ? ` + ${gup} GUP reference(s)` : '';
        this.rep.report('structure', r, path, `anon folio ${f.pfn} has refcount ${f.refcount}, expected ${want} (${maps} mapping(s) + ${f.pincount} pin(s)${refs})`, { folio: [f.pfn] });
      }
    }
  }

  /** The syscall-end checks of freed folios, dirty VMAs and dirty anon_vmas. */
  endChecks(r: Readonly<RawEvent>, path: readonly string[], s: State): void {
    const sh = this.sh;
    const fr = sh.dFreed.a;
    for (let i = 0; i < sh.dFreed.n; i += 2) {
      const head = fr[i];
      if (this.pageFolio(head)) continue;
      const n = 2 ** fr[i + 1];
      let ptes = 0;
      for (let k = 0; k < n; k++) ptes += sh.pteMaps.get(head + k);
      const pmds = sh.pmdMaps.get(head);
      if (ptes > 0 || pmds > 0) {
        this.rep.report('structure', r, path, `folio ${head} was freed while still mapped by ${ptes} PTE(s) and ${pmds} PMD(s)`, { folio: [head] });
      }
    }
    for (const id of sh.dVmas) this.checkVmaOrder(r, path, s, id);
    for (const id of sh.dAvs) this.checkAnonVma(r, path, s, id);
  }

  private checkVmaOrder(r: Readonly<RawEvent>, path: readonly string[], s: State, id: number): void {
    const v = s.vmas.get(id);
    if (!v) return;
    const mm = s.mms[v.mm];
    if (!mm) return;
    if (v.start >= v.end) {
      this.rep.report('structure', r, path, `vma ${id} of mm ${v.mm} is empty or inverted: [${v.start}, ${v.end})`, { vma: [id], mm: [v.mm] });
      return;
    }
    // its neighbours in the tree: O(log n), not a scan of the mm's VMAs
    const ids = mm.vmas;
    const i = ids.rankOf(v.start, id);
    if (i < 0) {
      this.rep.report('structure', r, path, `vma ${id} is not in the VMA tree of mm ${v.mm}`, { vma: [id], mm: [v.mm] });
      return;
    }
    if (i > 0) {
      const p = s.vmas.get(ids.idAt(i - 1)!)!;
      if (p.end > v.start) {
        this.rep.report('structure', r, path, `VMAs of mm ${v.mm} overlap or are out of order: vma ${p.id} [${p.start}, ${p.end}) then vma ${id} [${v.start}, ${v.end})`, {
          vma: [p.id, id],
          mm: [v.mm],
        });
      }
    }
    if (i + 1 < ids.size) {
      const n = s.vmas.get(ids.idAt(i + 1)!)!;
      if (v.end > n.start) {
        this.rep.report('structure', r, path, `VMAs of mm ${v.mm} overlap or are out of order: vma ${id} [${v.start}, ${v.end}) then vma ${n.id} [${n.start}, ${n.end})`, {
          vma: [id, n.id],
          mm: [v.mm],
        });
      }
    }
  }

  private checkAnonVma(r: Readonly<RawEvent>, path: readonly string[], s: State, id: number): void {
    const a = s.anonVmas.get(id);
    if (!a) return;
    const sh = this.sh;
    const children = sh.nonEmptyChildren.get(id) ?? 0;
    const active = sh.activeVmas.get(id) ?? 0;
    const ref = (a.vmas.length > 0 ? 1 : 0) + (a.root === id ? (sh.rootChildren.get(id) ?? 0) : 0);
    const bad: string[] = [];
    if (a.numChildren !== children) bad.push(`num_children ${a.numChildren}, expected ${children} (anon_vmas with parent ${id} still linked to a VMA, a root counting itself)`);
    if (a.numActiveVmas !== active) bad.push(`num_active_vmas ${a.numActiveVmas}, expected ${active} (VMAs whose anon_vma it is)`);
    if (a.refcount !== ref) {
      bad.push(
        `refcount ${a.refcount}, expected ${ref} (${a.vmas.length > 0 ? 1 : 0} own reference while linked${a.root === id ? ` + ${sh.rootChildren.get(id) ?? 0} non-root anon_vma(s) of this root` : ''})`,
      );
    }
    if (bad.length) this.rep.report('structure', r, path, `anon_vma ${id}: ${bad.join('; ')}`, { anonVma: [id] });
  }
}
