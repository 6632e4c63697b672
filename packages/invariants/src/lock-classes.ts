/**
 * Lock classes, as lockdep groups locks: a lock event names one lock instance
 * (`mmap_lock:3`, `ptl:3:1024`, `anon_vma:7`, `folio:4096`); its class is the part before
 * the first colon, and the numbers after it say which mm, VMA, anon_vma root, pmd or
 * folio it protects. The locking checker orders classes, the others ask whether a task
 * holds a lock of a class on an object.
 */

/** The classes the kernel's documented order names (mm/rmap.c header), in a fixed order. */
export const enum LC {
  Mmap = 0,
  Vma = 1,
  Anon = 2,
  Ptl = 3,
  Pmd = 4,
  PageTable = 5,
  Folio = 6,
}
export const KNOWN_CLASSES = ['mmap_lock', 'vma_lock', 'anon_vma', 'ptl', 'pmd_lock', 'page_table_lock', 'folio'];

/** One lock instance, parsed from its name. */
export interface LockInfo {
  readonly name: string;
  readonly cls: number;
  /** first numeric field after the class (mm, vma, root, pfn) */
  readonly a: number;
  /** second numeric field (PTL: pmd base vpn, pmd_lock: pud base vpn) */
  readonly b: number;
}

/** The class table (ids by name, names by id) and a cache of parsed lock names. */
export class LockClasses {
  /** class names by id */
  readonly names: string[] = [];
  private readonly ids = new Map<string, number>();
  private infos = new Map<string, LockInfo>();
  private readonly folioClass: number;
  private readonly rootLockNames = new Map<number, string>();

  constructor() {
    for (const c of KNOWN_CLASSES) this.classId(c);
    this.folioClass = this.classId('folio');
  }

  classId(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
    }
    return id;
  }

  lockInfo(name: string): LockInfo {
    let li = this.infos.get(name);
    if (li) return li;
    const i = name.indexOf(':');
    const j = i < 0 ? -1 : name.indexOf(':', i + 1);
    const cls = this.classId(i < 0 ? name : name.slice(0, i));
    li = { name, cls, a: i < 0 ? -1 : Number(j < 0 ? name.slice(i + 1) : name.slice(i + 1, j)), b: j < 0 ? -1 : Number(name.slice(j + 1)) };
    // folio locks are one per folio: caching them would only grow the map
    if (cls === this.folioClass) return li;
    if (this.infos.size > 200000) this.infos = new Map();
    this.infos.set(name, li);
    return li;
  }

  /** `anon_vma:<root>`, the name of a root anon_vma's rwsem (anon_vma_lock_write), built once per root */
  rootLockName(root: number): string {
    let n = this.rootLockNames.get(root);
    if (n === undefined) {
      n = `anon_vma:${root}`;
      this.rootLockNames.set(root, n);
    }
    return n;
  }
}
