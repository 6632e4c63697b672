/**
 * The locking checker, checked on the event itself (lock events and mutations):
 *   - lockdep's order: the first time a class is taken while another is held, the edge
 *     held-class -> new-class enters the order graph; an edge closing a cycle is a
 *     violation (check_prev_add). The graph starts from the kernel's documented order
 *     (mm/rmap.c header: mmap_lock > folio_lock > vma_start_write > anon_vma->rwsem >
 *     page_table_lock/PTL) unless kernelLockOrder is off. Trylocks add no edge.
 *   - nesting: at most SINGLE_DEPTH_NESTING (one nested level) of a class;
 *   - no blocking sleeping lock while holding a spinlock (might_sleep);
 *   - no lock held at the end of a syscall;
 *   - every mutation under the locks the kernel takes for it: a PTE under its page
 *     table lock (pte_offset_map_lock), a PMD under pmd_lock, a VMA change under the
 *     mmap_lock for write and the VMA's write lock (vma_start_write), an anon_vma chain
 *     change under the root anon_vma lock (anon_vma_lock_write), a mapped anon folio's
 *     index/mapping under its folio lock (and the root lock when it changes tree).
 * Mutations report once per rule key per syscall (Reporter.violate).
 */
import { E, type Folio, MappingKind, type RawEvent } from '@mmsim/core';
import { KNOWN_CLASSES, LC, type LockClasses, type LockInfo } from './lock-classes.js';
import type { Reporter } from './report.js';
import { PUD_PAGES, folioMapcountOf, type Shadows, type TaskInfo } from './shadows.js';

interface Edge {
  seq: number;
  from: string;
  to: string;
}

/** Does task t hold lock (cls, a[, b]) (in write mode when `write`)? b = -1: any. */
export function holds(t: TaskInfo, cls: number, a: number, b: number, write: boolean): boolean {
  const h = t.held;
  for (let i = h.length - 1; i >= 0; i--) {
    const x = h[i];
    if (x.info.cls === cls && x.info.a === a && (b < 0 || x.info.b === b) && (!write || x.mode === 0)) return true;
  }
  return false;
}

export class LockingChecker {
  /** the order graph: key from * 1024 + to, with the first acquisition that drew it */
  private readonly edges = new Map<number, Edge>();
  private adj: number[][] = [];

  constructor(
    private readonly rep: Reporter,
    private readonly classes: LockClasses,
    private readonly sh: Shadows,
    kernelOrder: boolean,
  ) {
    if (kernelOrder) this.seedKernelOrder();
  }

  /** The syscall starting at `seq` was rolled back: its edges are forgotten. */
  rollback(seq: number): void {
    for (const [k, e] of this.edges) if (e.seq >= seq) this.edges.delete(k);
    this.adj = [];
    for (const k of this.edges.keys()) this.adjOf(Math.floor(k / 1024)).push(k % 1024);
  }

  /* ------------------------------ lock order --------------------------------- */

  private adjOf(c: number): number[] {
    let a = this.adj[c];
    if (!a) a = this.adj[c] = [];
    return a;
  }

  private seedKernelOrder(): void {
    const chain: [number, number][] = [
      [LC.Mmap, LC.Folio],
      [LC.Folio, LC.Vma],
      [LC.Vma, LC.Anon],
      [LC.Anon, LC.PageTable],
      [LC.Anon, LC.Ptl],
      [LC.Anon, LC.Pmd],
    ];
    for (const [a, b] of chain) {
      this.edges.set(a * 1024 + b, { seq: -1, from: KNOWN_CLASSES[a], to: KNOWN_CLASSES[b] });
      this.adjOf(a).push(b);
    }
  }

  /** Task t takes lock li (before it holds it): might_sleep() and lockdep. */
  lockAcquire(r: Readonly<RawEvent>, t: TaskInfo, li: LockInfo, tryLock: boolean): void {
    if (r.b === 0 && !tryLock && t.spin > 0) {
      const spins = t.held.filter((h) => h.kind === 1).map((h) => h.info.name);
      this.rep.violate('locking', r, t, `sleep:${r.s}`, `sleeping lock ${r.s} taken (blocking) while holding spinlock${spins.length > 1 ? 's' : ''} ${spins.join(', ')}`, {
        lock: [r.s, ...spins],
      });
    }
    if (!tryLock) this.lockOrder(r, t, li);
  }

  /** lockdep: edges held-class -> new-class; a new edge closing a cycle is a violation. */
  private lockOrder(r: Readonly<RawEvent>, t: TaskInfo, li: LockInfo): void {
    const h = t.held;
    const names = this.classes.names;
    let same = 0;
    for (let i = 0; i < h.length; i++) {
      const x = h[i];
      if (x.tryLock) continue;
      const from = x.info.cls;
      if (from === li.cls) {
        same++;
        continue;
      }
      const key = from * 1024 + li.cls;
      if (this.edges.has(key)) continue;
      const edge: Edge = { seq: r.seq, from: x.info.name, to: li.name };
      this.edges.set(key, edge);
      this.adjOf(from).push(li.cls);
      const path = this.findPath(li.cls, from);
      if (path) {
        const describe = (a: number, b: number): string => {
          const e = this.edges.get(a * 1024 + b)!;
          return e.seq < 0
            ? `${names[a]} -> ${names[b]} (kernel lock order, mm/rmap.c)`
            : `${names[a]} -> ${names[b]} (first at seq ${e.seq}: ${e.from} then ${e.to})`;
        };
        const back: string[] = [];
        for (let k = 0; k + 1 < path.length; k++) back.push(describe(path[k], path[k + 1]));
        this.rep.report(
          'locking',
          r,
          t.spans,
          `lock order cycle between classes ${names[from]} and ${names[li.cls]}: ` + `new ${describe(from, li.cls)}; existing ${back.join(', ')}`,
          { lock: [x.info.name, li.name] },
        );
      }
    }
    // SINGLE_DEPTH_NESTING: one nested level of a class; VMA write locks are not nested locks
    if (same >= 2 && li.cls !== LC.Vma) {
      this.rep.violate('locking', r, t, `nest:${li.cls}`, `${same + 1} locks of class ${names[li.cls]} held at once (${li.name}): deeper than SINGLE_DEPTH_NESTING`, {
        lock: h.filter((x) => x.info.cls === li.cls).map((x) => x.info.name).concat(li.name),
      });
    }
  }

  /** BFS from class a to class b in the order graph; the class path or null. */
  private findPath(a: number, b: number): number[] | null {
    const prev = new Map<number, number>([[a, -1]]);
    const q = [a];
    while (q.length) {
      const c = q.shift()!;
      if (c === b) {
        const p: number[] = [];
        for (let x = b; x !== -1; x = prev.get(x)!) p.push(x);
        return p.reverse();
      }
      for (const n of this.adj[c] ?? []) {
        if (!prev.has(n)) {
          prev.set(n, c);
          q.push(n);
        }
      }
    }
    return null;
  }

  /** The top-level span of task t closes (a syscall ends): it must hold no lock. */
  spanEnd(r: Readonly<RawEvent>, t: TaskInfo): void {
    if (!t.held.length) return;
    this.rep.report('locking', r, t.spans, `locks still held at the end of ${t.spans[0]}: ${t.held.map((h) => h.info.name).join(', ')}`, {
      lock: t.held.map((h) => h.info.name),
    });
  }

  /* ------------------------ mutation lock requirements ------------------------- */

  /** A PTE write under its page table lock (pte_offset_map_lock). */
  requirePtl(r: Readonly<RawEvent>, t: TaskInfo, mm: number, vpn: number, what: string): void {
    const base = vpn - (vpn % 512);
    if (holds(t, LC.Ptl, mm, base, false)) return;
    // a PTE table being filled under the PMD lock (__split_huge_zero_page_pmd, collapse) is fine
    if (holds(t, LC.Pmd, mm, vpn - (vpn % PUD_PAGES), false)) return;
    this.rep.violate('locking', r, t, `ptl:${mm}:${base}`, `${what} at vpn ${vpn} of mm ${mm} without its page table lock ptl:${mm}:${base}`, {
      mm: [mm],
      lock: [`ptl:${mm}:${base}`],
    });
  }

  /** A PMD write under pmd_lock(). */
  requirePmd(r: Readonly<RawEvent>, t: TaskInfo, mm: number, vpn: number, what: string): void {
    const base = vpn - (vpn % PUD_PAGES);
    if (holds(t, LC.Pmd, mm, base, false)) return;
    this.rep.violate('locking', r, t, `pmd:${mm}:${base}`, `${what} at vpn ${vpn} of mm ${mm} without pmd_lock:${mm}:${base}`, {
      mm: [mm],
      lock: [`pmd_lock:${mm}:${base}`],
    });
  }

  /** A VMA change under mmap_write_lock() and (needVmaLock) vma_start_write(). */
  requireVmaWrite(r: Readonly<RawEvent>, t: TaskInfo, mm: number, vma: number, what: string, needVmaLock: boolean): void {
    if (!holds(t, LC.Mmap, mm, -1, true)) {
      this.rep.violate('locking', r, t, `mmap:${mm}:${what}`, `${what} of vma ${vma} without mmap_lock:${mm} held for write`, {
        vma: [vma],
        mm: [mm],
        lock: [`mmap_lock:${mm}`],
      });
    }
    if (needVmaLock && !holds(t, LC.Vma, vma, -1, true)) {
      this.rep.violate('locking', r, t, `vma:${vma}:${what}`, `${what} of vma ${vma} without its VMA write lock vma_lock:${vma}`, {
        vma: [vma],
        mm: [mm],
        lock: [`vma_lock:${vma}`],
      });
    }
  }

  /**
   * mm->write_protect_seq's writers are serialized by mmap_write_lock (dup_mmap holds it
   * across copy_page_range's raw_write_seqcount_begin/end).
   */
  requireMmapWrite(r: Readonly<RawEvent>, t: TaskInfo, mm: number, what: string): void {
    if (holds(t, LC.Mmap, mm, -1, true)) return;
    this.rep.violate('locking', r, t, `mmap:${mm}:${what}`, `${what} of mm ${mm} without mmap_lock:${mm} held for write`, { mm: [mm], lock: [`mmap_lock:${mm}`] });
  }

  /** vma->anon_vma is set under the mmap_lock (__anon_vma_prepare: read is enough). */
  requireSetAnonVma(r: Readonly<RawEvent>, t: TaskInfo, vma: number, mm: number): void {
    if (!holds(t, LC.Mmap, mm, -1, false)) {
      this.rep.violate('locking', r, t, `vma_set_anon_vma:${vma}`, `vma_set_anon_vma of vma ${vma} without mmap_lock:${mm}`, { vma: [vma], mm: [mm] });
      return;
    }
    // Under mmap_lock for write a page fault under the per-VMA lock still runs on the VMA
    // unless it is write-locked (vma_assert_write_locked() in dup_anon_vma(), d8ab9f7b644a);
    // a fault (mmap_lock or the VMA lock for read) sets it under page_table_lock instead.
    if (holds(t, LC.Mmap, mm, -1, true) && !holds(t, LC.Vma, vma, -1, true)) {
      this.rep.violate('locking', r, t, `vma_set_anon_vma:${vma}:vma`, `vma_set_anon_vma of vma ${vma} under mmap_lock:${mm} for write without its VMA write lock vma_lock:${vma}`, {
        vma: [vma],
        mm: [mm],
        lock: [`vma_lock:${vma}`],
      });
    }
  }

  /** An anon_vma chain link/unlink under the root anon_vma lock for write (anon_vma_lock_write). */
  requireAvcLock(r: Readonly<RawEvent>, t: TaskInfo, vma: number, av: number): void {
    const root = this.sh.rootOf(av);
    if (holds(t, LC.Anon, root, -1, true)) return;
    const what = r.type === E.AvcLink ? 'avc_link' : 'avc_unlink';
    this.rep.violate('locking', r, t, `avc:${root}`, `${what} of vma ${vma} and anon_vma ${av} without the root anon_vma lock anon_vma:${root} held for write`, {
      vma: [vma],
      anonVma: [av],
      lock: [`anon_vma:${root}`],
    });
  }

  /**
   * A write of folio f's index or mapping (f.pfn: the written pfn); oldKind/oldTarget:
   * its mapping before a mapping write.
   */
  folioIdentity(r: Readonly<RawEvent>, t: TaskInfo, f: Folio, oldKind: number, oldTarget: number): void {
    if (folioMapcountOf(f) === 0) return;
    if (r.type === E.FolioIndex) {
      if (f.mappingKind === MappingKind.Anon) this.requireFolioRmapLocks(r, t, f, f.mapping, -1, 'folio index write');
    } else if (oldKind === MappingKind.Anon) {
      // folio_move_anon_rmap() within one anon_vma tree needs only the folio lock;
      // moving to another tree (or any index change) needs the root lock too
      const oldRoot = this.sh.rootOf(oldTarget);
      const newRoot = r.b === MappingKind.Anon ? this.sh.rootOf(r.c) : oldRoot;
      if (newRoot === oldRoot) this.requireFolioRmapLocks(r, t, f, -1, -1, 'folio mapping write');
      else this.requireFolioRmapLocks(r, t, f, oldTarget, r.c, 'folio mapping write (to another anon_vma tree)');
    }
  }

  /**
   * The folio lock, and (avA >= 0) the root lock of anon_vma avA or avB (-1: none) held
   * for write. Two numbers, not an array: this runs for every folio index/mapping write.
   */
  private requireFolioRmapLocks(r: Readonly<RawEvent>, t: TaskInfo, f: Folio, avA: number, avB: number, what: string): void {
    if (!holds(t, LC.Folio, f.pfn, -1, false)) {
      this.rep.violate('locking', r, t, `folio:${f.pfn}:${what}`, `${what} of mapped anon folio ${f.pfn} without its folio lock folio:${f.pfn}`, {
        folio: [f.pfn],
        lock: [`folio:${f.pfn}`],
      });
    }
    if (avA < 0) return;
    const rootA = this.sh.rootOf(avA);
    const rootB = avB < 0 ? -1 : this.sh.rootOf(avB);
    if (holds(t, LC.Anon, rootA, -1, true) || (rootB >= 0 && holds(t, LC.Anon, rootB, -1, true))) return;
    const avIds = avB < 0 ? [avA] : [avA, avB];
    const roots = avB < 0 ? [rootA] : [rootA, rootB];
    this.rep.violate('locking', r, t, `avlock:${f.pfn}:${what}`, `${what} of mapped anon folio ${f.pfn} without the root anon_vma lock (${roots.map((x) => `anon_vma:${x}`).join(' or ')}) held for write`, {
      folio: [f.pfn],
      anonVma: avIds,
      lock: roots.map((x) => `anon_vma:${x}`),
    });
  }
}
