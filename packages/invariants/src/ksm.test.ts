/**
 * folio_test_ksm() is derived from folio->mapping (PAGE_MAPPING_KSM), as in the kernel:
 * a relocation that rewrites a KSM folio's mapping to an anon_vma makes an impossible
 * state, which the rmap checker reports (before, relocating a KSM folio passed --check).
 */
import { describe, expect, it } from 'vitest';
import { ptePfn } from '@mmsim/core';
import { ARENA_BASE, Kernel, folioMoveAnonRmap, folioOf, folioTestKsm, getPte } from '@mmsim/linux';
import { ScenarioRun } from '@mmsim/runner';
import relocateAnon from '@mmsim/relocate-anon';
import { parseScenario } from '@mmsim/scenario';
import { attachCheckers } from './index.js';

const steps = (more: unknown[]) =>
  parseScenario({
    format: 'mmsim-scenario/1',
    name: 'ksm',
    arena: { pages: 64 },
    steps: [{ op: 'mmap', page: 0, pages: 8, prot: 'rw-', fixed: true }, { op: 'touch', page: 0, pages: 8 }, { op: 'ksm', page: 3, pages: 1 }, ...more],
  });

describe('KSM folios and relocation', () => {
  it('the fixed variant leaves a KSM folio alone: no violation', () => {
    let h: ReturnType<typeof attachCheckers> | undefined;
    const s = steps([{ op: 'mremap', page: 0, pages: 8, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 32 }]);
    const run = new ScenarioRun(s, { plugins: [[relocateAnon, { variant: 'fixed' }]], onKernel: (k) => void (h = attachCheckers(k.eng)) });
    run.runUntil(s.steps.length);
    expect(h!.violations()).toEqual([]);
  });

  it('rewriting a KSM folio to an anon_vma is reported, and folio_test_ksm() stops holding', () => {
    let h: ReturnType<typeof attachCheckers> | undefined;
    const s = steps([]);
    const run = new ScenarioRun(s, { onKernel: (k) => void (h = attachCheckers(k.eng)) });
    run.runUntil(s.steps.length);
    const k = run.k;
    const mm = run.procs.live.get(0)!;
    const pfn = ptePfn(getPte(k, mm, ARENA_BASE + 3));
    expect(folioTestKsm(folioOf(k, pfn))).toBe(true);
    const vma = k.vmaAt(mm, ARENA_BASE + 3)!;
    // a mutant relocation: folio_move_anon_rmap() on the KSM folio, under its folio lock
    const r = k.eng.syscall('mutant_relocate', function* () {
      yield* k.eng.lock(Kernel.folioLock(pfn), 0, 'sleep');
      folioMoveAnonRmap(k, pfn, vma);
      yield* k.eng.unlock(Kernel.folioLock(pfn), 0, 'sleep');
    });
    expect(r.ok).toBe(true);
    const msgs = h!.violations().map((v) => `${v.checker}: ${v.message}`);
    expect(msgs).toContain(`rmap: mapping of KSM folio ${pfn} rewritten to anon_vma ${vma.anonVma}: folio_test_ksm() no longer holds`);
    expect(folioTestKsm(folioOf(k, pfn))).toBe(false);
  });
});
