/**
 * The anon_vma lifetime checker, on the event itself (the first wrong event, not the
 * use-after-free an rmap walk would meet later):
 *   - an anon_vma is freed (anon_vma_free(), after the last put_anon_vma()) only when no
 *     VMA's vma->anon_vma still is it, and, for a root, when no other anon_vma still has
 *     it as root (anon_vma_fork() takes get_anon_vma(root) for each child: a root
 *     outlives its tree);
 *   - its counters never go below zero: refcount (put_anon_vma), num_children and
 *     num_active_vmas (unlink_anon_vmas, the accounting CVE-2022-42703 got wrong).
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
  }
}
