/**
 * Test logs for the debugger, built with core's Engine directly (the Linux model is
 * not needed to exercise the views): a small, hand-made "demo" history with two mms,
 * a fork, a split and a merge, an mremap, two interleaved tasks holding locks, a
 * deliberately stale folio and a rolled-back syscall; and a large synthetic log of any
 * size for the smoothness check.
 */
import { E, Engine, encodeLogFile, type KGen, type LogHeader } from '@mmsim/core';

const HEADER = (config: Record<string, unknown>): LogHeader => ({ mmsimVersion: '0.1.0', config, seed: 0 });

const RW = 0x73; // VM_READ|VM_WRITE|VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC
const RO = 0x71;
const PTE_W_D = 2 | 4;

/** Facts about the demo log that tests can rely on without replaying it. */
export interface DemoFacts {
  /** the events of the log */
  readonly events: number;
  /** seq of the error event of the rolled-back syscall */
  readonly errorSeq: number;
  /** pfn whose folio mapping was corrupted (its anon_vma is not in vma 1's chain) */
  readonly badMappingPfn: number;
  /** pfn whose folio index was corrupted */
  readonly badIndexPfn: number;
}

function* fault(eng: Engine, mm: number, vma: number, vpn0: number, n: number, av: number): KGen<number> {
  yield* eng.lock(`mmap_lock:${mm}`, 1, 'sleep');
  const v = eng.s.vmas.get(vma)!;
  if (!v.anonVma) {
    yield* eng.lock(`anon_vma:${av}`, 0, 'sleep');
    eng.emit(E.VmaSetAnonVma, vma, av);
    eng.emit(E.AvcLink, vma, av);
    eng.emit(E.AnonVmaCount, av, 2, 1);
    yield* eng.unlock(`anon_vma:${av}`, 0, 'sleep');
  }
  const ptl = `ptl:${mm}:${Math.floor(vpn0 / 512)}`;
  yield* eng.lock(ptl, 0, 'spin');
  const pmdBase = vpn0 - (vpn0 % 512);
  const mmS = eng.s.mms[mm];
  const g = mmS.pgd[Math.floor(pmdBase / 512 ** 3) % 512];
  const u = g && g[Math.floor(pmdBase / 512 ** 2) % 512];
  if (!u || !u[Math.floor(pmdBase / 512) % 512]) eng.emit(E.PtAlloc, mm, pmdBase);
  for (let i = 0; i < n; i++) {
    const vpn = vpn0 + i;
    const pfn = eng.ids.pfn++;
    eng.emit(E.FolioAlloc, pfn, 0);
    eng.emit(E.FolioFlags, pfn, 1, 0);
    eng.emit(E.FolioMapping, pfn, 1, av);
    eng.emit(E.FolioIndex, pfn, v.pgoff + vpn - v.start);
    eng.emit(E.FolioCount, pfn, 2, 1);
    eng.emit(E.PteSet, mm, vpn, pfn, PTE_W_D);
    eng.emit(E.Fault, mm, vpn, 1, 0);
  }
  yield* eng.unlock(ptl, 0, 'spin');
  yield* eng.unlock(`mmap_lock:${mm}`, 1, 'sleep');
  return 0;
}

/** The small demo log: every view of the debugger has something to show. */
export function buildDemoLog(): { bytes: Uint8Array; facts: DemoFacts } {
  const eng = new Engine({ batchEvents: 4096, keyframeEvery: 256 });
  const B = 4096; // vpn of the first VMA (address 0x1000000)
  eng.setTask(1);
  eng.syscall('execve', function* () {
    eng.emit(E.MmCreate, 1, 0);
    return 0;
  });
  // two anonymous mappings
  eng.syscall('mmap', function* () {
    yield* eng.lock('mmap_lock:1', 0, 'sleep');
    eng.emit(E.VmaInsert, 1, 1, B, B + 64, B, RW);
    yield* eng.unlock('mmap_lock:1', 0, 'sleep');
    return 0;
  });
  eng.syscall('mmap', function* () {
    yield* eng.lock('mmap_lock:1', 0, 'sleep');
    eng.emit(E.VmaInsert, 2, 1, B + 128, B + 192, B + 128, RW);
    yield* eng.unlock('mmap_lock:1', 0, 'sleep');
    return 0;
  });
  eng.syscall('page_fault', function* () {
    eng.emit(E.AnonVmaCreate, 1, 0, 0);
    return yield* fault(eng, 1, 1, B, 8, 1);
  });
  // fork: mm 2 gets a copy of vma 1 (a child anon_vma) and of vma 2
  eng.syscall('fork', function* () {
    yield* eng.lock('mmap_lock:1', 0, 'sleep');
    eng.emit(E.MmCreate, 2, 1);
    yield* eng.lock('mmap_lock:2', 0, 'sleep');
    eng.emit(E.VmaInsert, 3, 2, B, B + 64, B, RW);
    eng.emit(E.AnonVmaCreate, 2, 1, 1);
    eng.emit(E.AnonVmaCount, 1, 1, 1);
    eng.emit(E.AnonVmaCount, 1, 0, 1);
    eng.emit(E.AvcLink, 3, 1);
    eng.emit(E.AvcLink, 3, 2);
    eng.emit(E.VmaSetAnonVma, 3, 2);
    eng.emit(E.AnonVmaCount, 2, 2, 1);
    eng.emit(E.PtAlloc, 2, B);
    for (let i = 0; i < 8; i++) {
      const pte = eng.s.mms[1].pgd[0][0][Math.floor(B / 512) % 512];
      const v = pte.kind === 'table' ? pte.ptes[(B + i) % 512] : 0;
      const pfn = Math.floor(v / 256);
      eng.emit(E.PteFlags, 1, B + i, 4); // wrprotect in the parent
      eng.emit(E.PteSet, 2, B + i, pfn, 4);
      eng.emit(E.FolioCount, pfn, 2, 1);
      eng.emit(E.FolioCount, pfn, 0, 1);
    }
    eng.emit(E.VmaInsert, 4, 2, B + 128, B + 192, B + 128, RW);
    yield* eng.unlock('mmap_lock:2', 0, 'sleep');
    yield* eng.unlock('mmap_lock:1', 0, 'sleep');
    return 0;
  });
  // mprotect splits vma 1 at B+32
  eng.syscall('mprotect', function* () {
    yield* eng.lock('mmap_lock:1', 0, 'sleep');
    eng.emit(E.VmaSplit, 1, 5, B + 32);
    eng.emit(E.VmaAdjust, 1, B, B + 32, B);
    eng.emit(E.VmaInsert, 5, 1, B + 32, B + 64, B + 32, RO);
    eng.emit(E.VmaSetAnonVma, 5, 1);
    eng.emit(E.AvcLink, 5, 1);
    eng.emit(E.AnonVmaCount, 1, 2, 1);
    yield* eng.unlock('mmap_lock:1', 0, 'sleep');
    return 0;
  });
  // two threads of mm 2 fault concurrently (interleaved: locks are held across switches)
  eng.setTask(2);
  eng.interleave(
    [
      { task: 2, run: () => eng.span('page_fault', () => fault(eng, 2, 4, B + 128, 4, 2)) },
      { task: 3, run: () => eng.span('page_fault', () => fault(eng, 2, 3, B + 40, 3, 2)) },
    ],
    7,
  );
  eng.commit();
  eng.setTask(1);
  // mprotect back: vma 1 absorbs vma 5 again
  eng.syscall('mprotect', function* () {
    yield* eng.lock('mmap_lock:1', 0, 'sleep');
    eng.emit(E.VmaMerge, 1, 5);
    eng.emit(E.AvcUnlink, 5, 1);
    eng.emit(E.AnonVmaCount, 1, 2, -1);
    eng.emit(E.VmaRemove, 5);
    eng.emit(E.VmaAdjust, 1, B, B + 64, B);
    yield* eng.unlock('mmap_lock:1', 0, 'sleep');
    return 0;
  });
  // a failing munmap: rolled back, an error event remains
  eng.syscall('munmap', function* () {
    yield* eng.lock('mmap_lock:1', 0, 'sleep');
    eng.emit(E.PteClear, 1, B);
    throw new Error('plugin "strict-unmap" refused: range still pinned');
  });
  const errorSeq = eng.log.length - 1;
  // mremap moves vma 1 to 2*B (pgoff kept: folio indexes stay right)
  eng.syscall('mremap', function* () {
    yield* eng.lock('mmap_lock:1', 0, 'sleep');
    eng.emit(E.PtAlloc, 1, 2 * B);
    for (let i = 0; i < 8; i++) eng.emit(E.PteMove, 1, B + i, 2 * B + i);
    eng.emit(E.VmaAdjust, 1, 2 * B, 2 * B + 64, B);
    eng.emit(E.PtFree, 1, B);
    yield* eng.unlock('mmap_lock:1', 0, 'sleep');
    return 0;
  });
  // a buggy plugin corrupts two folios: one index, one mapping (mm 2's anon_vma)
  const pt = eng.s.mms[1].pgd[0][0][Math.floor((2 * B) / 512) % 512];
  const pfnAt = (i: number) => (pt.kind === 'table' ? Math.floor(pt.ptes[(2 * B + i) % 512] / 256) : 0);
  const badIndexPfn = pfnAt(2);
  const badMappingPfn = pfnAt(5);
  eng.syscall('madvise', function* () {
    yield* eng.lock('mmap_lock:1', 1, 'sleep');
    eng.emit(E.Note, 0, 0, 0, 0, 0, 0, 'buggy plugin rewrites folios');
    eng.emit(E.FolioIndex, badIndexPfn, 9999);
    eng.emit(E.FolioMapping, badMappingPfn, 1, 2);
    yield* eng.unlock('mmap_lock:1', 1, 'sleep');
    return 0;
  });
  eng.close();
  const bytes = encodeLogFile(eng.log, HEADER({ scenario: 'debugger-demo' }));
  return { bytes, facts: { events: eng.log.length, errorSeq, badIndexPfn, badMappingPfn } };
}

/**
 * A large synthetic log of about `events` events: tasks map, fault, fork-like share and
 * unmap areas in a few mms, with locks, spans and the occasional failing syscall.
 */
export function buildLargeLog(events: number, opts: { seed?: number } = {}): Uint8Array {
  const eng = new Engine({ batchEvents: 65536, keyframeEvery: 65536 });
  let seed = (opts.seed ?? 1) >>> 0;
  const rnd = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const MMS = 4;
  eng.setTask(1);
  for (let m = 1; m <= MMS; m++) {
    eng.syscall('execve', function* () {
      eng.emit(E.MmCreate, m, 0);
      return 0;
    });
  }
  interface Area {
    vma: number;
    mm: number;
    start: number;
    n: number;
    av: number;
    pfns: number[];
  }
  const areas: Area[] = [];
  let nextVpn = 1 << 20;
  let k = 0;
  while (eng.log.length < events) {
    k++;
    const task = 1 + (k % 3);
    eng.setTask(task);
    const r = rnd();
    if (areas.length < 8 || (r < 0.35 && areas.length < 400)) {
      const mm = 1 + Math.floor(rnd() * MMS);
      const n = 16 + Math.floor(rnd() * 48);
      const start = nextVpn;
      nextVpn += 512; // one PTE table each
      const vma = eng.ids.vma++;
      eng.syscall('mmap', function* () {
        yield* eng.lock(`mmap_lock:${mm}`, 0, 'sleep');
        eng.emit(E.VmaInsert, vma, mm, start, start + n, start, RW);
        yield* eng.unlock(`mmap_lock:${mm}`, 0, 'sleep');
        return 0;
      });
      const av = eng.ids.anonVma++;
      const area: Area = { vma, mm, start, n, av, pfns: [] };
      eng.syscall('page_fault', function* () {
        eng.emit(E.AnonVmaCreate, av, 0, 0);
        const first = eng.ids.pfn;
        const res = yield* fault(eng, mm, vma, start, n, av);
        for (let p = first; p < eng.ids.pfn; p++) area.pfns.push(p);
        return res;
      });
      areas.push(area);
    } else if (r < 0.9 || areas.length < 16) {
      const a = areas[Math.floor(rnd() * areas.length)];
      const i = Math.floor(rnd() * a.n);
      // wrprotect / mkwrite churn on a page, as a COW-ish write fault would
      eng.syscall('page_fault', function* () {
        yield* eng.lock(`mmap_lock:${a.mm}`, 1, 'sleep');
        const ptl = `ptl:${a.mm}:${Math.floor(a.start / 512)}`;
        yield* eng.lock(ptl, 0, 'spin');
        eng.emit(E.PteFlags, a.mm, a.start + i, rnd() < 0.5 ? 4 : PTE_W_D);
        eng.emit(E.Fault, a.mm, a.start + i, 1, 0);
        yield* eng.unlock(ptl, 0, 'spin');
        yield* eng.unlock(`mmap_lock:${a.mm}`, 1, 'sleep');
        return 0;
      });
    } else if (r < 0.92) {
      eng.syscall('munmap', function* () {
        yield* eng.lock('mmap_lock:1', 0, 'sleep');
        throw new Error('synthetic failure');
      });
    } else {
      const idx = Math.floor(rnd() * areas.length);
      const a = areas[idx];
      areas.splice(idx, 1);
      eng.syscall('munmap', function* () {
        yield* eng.lock(`mmap_lock:${a.mm}`, 0, 'sleep');
        for (let i = 0; i < a.n; i++) {
          eng.emit(E.PteClear, a.mm, a.start + i);
          eng.emit(E.FolioCount, a.pfns[i], 2, -1);
          eng.emit(E.FolioFree, a.pfns[i]);
        }
        eng.emit(E.PtFree, a.mm, a.start);
        eng.emit(E.AvcUnlink, a.vma, a.av);
        eng.emit(E.VmaRemove, a.vma);
        eng.emit(E.AnonVmaFree, a.av);
        yield* eng.unlock(`mmap_lock:${a.mm}`, 0, 'sleep');
        return 0;
      });
    }
  }
  eng.close();
  return encodeLogFile(eng.log, HEADER({ scenario: 'debugger-large', events }));
}

/** A damaged copy of a log file: the tail is cut and garbage appended. */
export function corruptLog(bytes: Uint8Array): Uint8Array {
  const keep = Math.floor(bytes.length * 0.6);
  const out = new Uint8Array(keep + 7);
  out.set(bytes.subarray(0, keep));
  out.set([0x43, 0x48, 0x4e, 0x4b, 9, 9, 9], keep);
  return out;
}
