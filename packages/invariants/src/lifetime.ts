/**
 * The anon_vma lifetime checker, on the event itself (the first wrong event, not the
 * use-after-free an rmap walk would meet later):
 *   - an anon_vma is freed (anon_vma_free(), after the last put_anon_vma()) only when no
 *     VMA's vma->anon_vma still is it, and, for a root, when no other anon_vma still has
 *     it as root (anon_vma_fork() takes get_anon_vma(root) for each child: a root
 *     outlives its tree);
 *   - its counters never go below zero: refcount (put_anon_vma), num_children and
 *     num_active_vmas (unlink_anon_vmas);
 *   - the VMAs whose vma->anon_vma it is belong to one mm, counted when one more starts
 *     using it (num_active_vmas + 1): anon_vma_clone()'s fork reuse takes only an anon_vma
 *     no VMA uses (num_active_vmas == 0), and splits, copy_vma() and dup_anon_vma() stay in
 *     the mm. CVE-2022-42703's old rule (degree < 2: children and VMAs in one count)
 *     reused one still tied to a VMA of another process (2555283eb40d).
 * A mapped folio whose anon_vma is freed is the rmap checker's (at the syscall's end).
 */
import { AvCounter, type RawEvent, type State } from '@mmsim/core';
import type { Reporter } from './report.js';
import type { Shadows, TaskInfo } from './shadows.js';

const COUNTER_NAMES: Record<number, string> = {
  [AvCounter.Refcount]: 'refcount',
  [AvCounter.NumChildren]: 'num_children',
  [AvCounter.NumActiveVmas]: 'num_active_vmas',
};

export class LifetimeChecker {
  constructor(
    private readonly rep: Reporter,
    private readonly sh: Shadows,
    private readonly getState: () => State,
  ) {}

  /** anon_vma_free of r.a, before the shadows forget it. */
  freed(r: Readonly<RawEvent>, t: TaskInfo): void {
    const id = r.a;
    const vmas = this.sh.activeVmas.get(id) ?? 0;
    if (vmas > 0)
      this.rep.violate('lifetime', r, t, `freed:${id}:vma`, `anon_vma ${id} freed while ${vmas} VMA(s) still point to it (vma->anon_vma)`, { anonVma: [id] });
    const children = this.sh.avs.get(id)?.root === id ? (this.sh.rootChildren.get(id) ?? 0) : 0;
    if (children > 0)
      this.rep.violate('lifetime', r, t, `freed:${id}:root`, `root anon_vma ${id} freed while ${children} anon_vma(s) of its tree still have it as root`, { anonVma: [id] });
  }

  /** anon_vma_count of r.a: the counter after the change must not be negative. */
  counted(r: Readonly<RawEvent>, t: TaskInfo): void {
    const av = this.getState().anonVmas.get(r.a);
    if (!av) return;
    const value = r.b === AvCounter.Refcount ? av.refcount : r.b === AvCounter.NumChildren ? av.numChildren : av.numActiveVmas;
    if (value < 0)
      this.rep.violate('lifetime', r, t, `count:${r.a}:${r.b}`, `anon_vma ${r.a}: ${COUNTER_NAMES[r.b] ?? `counter ${r.b}`} dropped to ${value}`, { anonVma: [r.a] });
    if (r.b === AvCounter.NumActiveVmas && r.c > 0) {
      const mms = this.sh.activeMms.get(r.a);
      if (mms && mms.size > 1)
        this.rep.violate('lifetime', r, t, `active:${r.a}`, `anon_vma ${r.a} is vma->anon_vma of VMAs in ${mms.size} mms (${[...mms.keys()].join(', ')}): reused while still tied to another process's VMA`, {
          anonVma: [r.a],
          mm: [...mms.keys()],
        });
    }
  }
}
