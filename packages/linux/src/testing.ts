/**
 * A bench for VMA tests drawn as ASCII layouts, like the kernel's tools/testing/vma:
 *
 *     0123456789abc
 *     AA B       CC
 *
 * Each letter is a VMA (pgoff = its address unless given), a space a gap. `draw()`
 * prints the current layout the same way, so a test reads as a picture of the merge.
 * Shipped as `@mmsim/linux/testing`, apart from the model's API.
 */
import { E, VM_MAYREAD, VM_MAYWRITE, VM_READ, VM_WRITE, type KGen } from '@mmsim/core';
import { Kernel } from './kernel.js';
import { anonVmaAlloc } from './rmap.js';
import { mmapWriteLock, mmapWriteUnlock, vmaInsert } from './vma.js';

export const BENCH_FLAGS = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE;
/** where page 0 of a layout lives */
export const BENCH_BASE = 0x100000;

export class VmaBench {
  readonly k = new Kernel();
  readonly mm = 1;
  /** letter -> vma id */
  readonly ids = new Map<string, number>();

  constructor(layout: string, opts: { anon?: string; flags?: Record<string, number>; pgoff?: Record<string, number> } = {}) {
    this.k.eng.emit(E.MmCreate, this.mm, 0);
    this.k.eng.commit();
    const spans = parseLayout(layout);
    this.run(function* (this: VmaBench) {
      for (const [letter, [start, end]] of spans) {
        const flags = opts.flags?.[letter] ?? BENCH_FLAGS;
        const pgoff = opts.pgoff?.[letter] ?? start;
        const id = yield* vmaInsert(this.k, this.mm, BENCH_BASE + start, BENCH_BASE + end, BENCH_BASE + pgoff, flags);
        this.ids.set(letter, id);
      }
      for (const letter of opts.anon ?? '') this.giveAnonVma(letter);
      return 0;
    }.bind(this));
  }

  /** The VMA gets its own anon_vma with a singular chain (the tests' dummy_anon_vma). */
  giveAnonVma(letter: string): number {
    const id = this.id(letter);
    const av = anonVmaAlloc(this.k);
    this.k.eng.emit(E.AnonVmaCount, av, 1, 1);
    this.k.eng.emit(E.VmaSetAnonVma, id, av);
    this.k.eng.emit(E.AvcLink, id, av);
    this.k.eng.emit(E.AnonVmaCount, av, 2, 1);
    return av;
  }

  id(letter: string): number {
    const id = this.ids.get(letter);
    if (id === undefined) throw new Error(`no VMA ${letter} in the layout`);
    return id;
  }

  vma(letter: string) {
    return this.k.vma(this.id(letter));
  }

  /** Run kernel code under the mmap write lock, as one syscall. */
  run<T>(body: () => KGen<T>): T {
    const k = this.k;
    const mm = this.mm;
    const r = k.eng.syscall('test', function* () {
      yield* mmapWriteLock(k, mm);
      const v = yield* body();
      yield* mmapWriteUnlock(k, mm);
      return v;
    });
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** The current layout: VMAs named by their letter (new ones by their id), '*' none. */
  draw(width = 16): string {
    const names = new Map<number, string>();
    for (const [l, id] of this.ids) names.set(id, l);
    const row = new Array<string>(width).fill(' ');
    for (const id of this.k.vmaIds(this.mm)) {
      const v = this.k.vma(id);
      const name = names.get(id) ?? '#';
      for (let p = v.start - BENCH_BASE; p < v.end - BENCH_BASE; p++) if (p >= 0 && p < width) row[p] = name;
    }
    return row.join('').trimEnd();
  }

  /** [start, end, pgoff] of a VMA in layout pages */
  range(letter: string): [number, number, number] {
    const v = this.vma(letter);
    return [v.start - BENCH_BASE, v.end - BENCH_BASE, v.pgoff - BENCH_BASE];
  }

  get count(): number {
    return this.k.mapCount(this.mm);
  }
}

/** "AA B  CC" -> letter -> [start, end) in pages (positions in hex digits: 0-9a-z) */
export function parseLayout(layout: string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i];
    if (c === ' ') continue;
    const r = out.get(c);
    if (r) {
      if (r[1] !== i) throw new Error(`VMA ${c} is not contiguous in "${layout}"`);
      r[1] = i + 1;
    } else out.set(c, [i, i + 1]);
  }
  return out;
}
