/**
 * What `mmsim trace` reports per process, and the mmsim-trace-report/1 document.
 */
import type { Kernel } from '@mmsim/linux';

export const TRACE_REPORT_FORMAT = 'mmsim-trace-report/1';

export interface ProcessReport {
  /** the pid that created the mm (exec or fork) */
  pid: number;
  /**
   * what it ran: the program exec mapped (the name of its lowest file mapping in the exec
   * snapshot), a fork child's parent's. A shell shim that execs the real program gives
   * rows of one pid: this tells them apart.
   */
  command: string;
  /**
   * exec generation: 0 for the mm a fork made (a pre-exec fork copy), n for the one the
   * pid's n-th execve() in the trace built; with pid and command it names the mm
   */
  generation: number;
  /** "pid command #generation": what tells two rows of one pid apart */
  name: string;
  /** recorded snapshots this mm was compared with (at its last task's exit, at the execve() that dropped it) */
  snapshots: number;
  /** SIGSEGV/SIGBUS the kernel delivered on a fault where the model faults too */
  signals: number;
  /** at the last compared snapshot (or, with none, when the mm was torn down) */
  vmas: number;
  anonVmas: number;
  avcs: number;
  peakVmas: number;
  peakAnonVmas: number;
  peakAvcs: number;
  /** mremap() calls that moved memory */
  moves: number;
  /** moves whose folios were relocated (MREMAP_RELOCATE_ANON's walk ran and kept) */
  relocated: number;
  /** moves that did not relocate, by reason (relocate and auto policies) */
  fallbacks: Record<string, number>;
  /** folios whose index and mapping a relocation rewrote */
  foliosRewritten: number;
  /** the exit snapshot agreed (null: no snapshot, e.g. a thread-only mm or an exec'd-away one) */
  agree: boolean | null;
}

export interface TraceReport {
  format: typeof TRACE_REPORT_FORMAT;
  trace: string;
  policy: string;
  agree: boolean;
  firstDifference: string | null;
  /** every difference (up to 1,000), in trace order: `mmsim trace --all` */
  differences: string[];
  /**
   * under relocate or auto: where the simulated VMA boundaries differ from the
   * recording while every address has the same mapping, permissions and present pages
   * (the policy merged what the kernel split); not a disagreement
   */
  policyEffects: string[];
  /**
   * present pages whose frame's sharing (pagemap PM_MMAP_EXCLUSIVE; the zero page and
   * COW-shared frames are not exclusive) differs between the simulation and a snapshot
   * that records it (up to 1,000). Advisory, not a disagreement: the helper reads a
   * snapshot while the mm's other sharers run
   */
  sharingDifferences: string[];
  /** simulator events the replay produced */
  events: number;
  replayEventsPerSec: number;
  records: number;
  faults: number;
  faultsPerSec: number;
  /** records the model does not replay, by reason */
  unmodelled: Record<string, number>;
  processes: ProcessReport[];
}

/**
 * VMAs, anon_vmas reachable from the mm's VMAs (through their chains) and
 * anon_vma_chains (one per chain entry) of one mm.
 */
export function countAnon(k: Kernel, mm: number): { vmas: number; anonVmas: number; avcs: number } {
  const ids = k.mm(mm).vmas;
  const avs = new Set<number>();
  let avcs = 0;
  for (const id of ids) {
    const v = k.s.vmas.get(id)!;
    avcs += v.chain.length;
    for (const a of v.chain) avs.add(a);
  }
  return { vmas: ids.size, anonVmas: avs.size, avcs };
}
