/**
 * The workloads shipped with mmsim (packages/record/workloads): programs that move memory
 * the ways the series' cover letter names, built here and recorded by `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildC } from './record.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'workloads');

export interface Workload {
  name: string;
  what: string;
  /** the source file in packages/record/workloads */
  source: string;
  /** 'c' is compiled with gcc; others run with their interpreter */
  kind: 'c' | 'python' | 'node';
}

export const WORKLOADS: readonly Workload[] = [
  { name: 'realloc', what: 'C: 16 buffers grown with realloc (glibc mremap path)', source: 'realloc.c', kind: 'c' },
  { name: 'compact', what: 'C: a compacting heap moving faulted objects with mremap (ZGC-like)', source: 'compact.c', kind: 'c' },
  { name: 'forkserver', what: 'C: a fork server (COW workers)', source: 'forkserver.c', kind: 'c' },
  { name: 'vmaflags', what: 'C: mlock, mlock2, munlock, mlockall, madvise DONTDUMP/RANDOM, anon name, mseal, mbind', source: 'vmaflags.c', kind: 'c' },
  { name: 'bytearray', what: 'Python: growing bytearrays', source: 'bytearray.py', kind: 'python' },
  { name: 'buffers', what: 'Node: growing and dropping Buffers', source: 'buffers.js', kind: 'node' },
];

/**
 * Small C reproductions of what a trace used to miss (issue 33's coverage holes), each
 * recorded and replayed by coverage.test.ts: every one agrees.
 */
export const COVERAGE_WORKLOADS: readonly Workload[] = [
  { name: 'threadexit', what: 'C: the leader pthread_exit()s first; its threads do the work', source: 'threadexit.c', kind: 'c' },
  { name: 'forkexec', what: 'C: a fork child fills memory, then execs (two mms of one pid)', source: 'forkexec.c', kind: 'c' },
  { name: 'segv', what: 'C: SIGSEGV handled: a safepoint polling page and a null check', source: 'segv.c', kind: 'c' },
  { name: 'gupfill', what: 'C: process_vm_writev/readv and vmsplice on fresh buffers (GUP, no faults)', source: 'gupfill.c', kind: 'c' },
  { name: 'periodic', what: 'C: two threads map, fill and unmap for 1.5 s (record --snapshot-every)', source: 'periodic.c', kind: 'c' },
  { name: 'odirect', what: 'C: an O_DIRECT read and pread into a fresh buffer (GUP, no faults)', source: 'odirect.c', kind: 'c' },
];

/** The command line that runs a workload (a C one is compiled first), or null when its interpreter is missing. */
export function buildWorkload(w: Workload): string[] | null {
  const src = join(DIR, w.source);
  if (w.kind === 'c') return [buildC(src, `workload-${w.name}`)];
  if (w.kind === 'node') return [process.execPath, src];
  // the interpreter itself, not a version manager's shim script (pyenv runs a dozen processes first)
  const py = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  return py.status === 0 && py.stdout.trim() ? [py.stdout.trim(), src] : null;
}
