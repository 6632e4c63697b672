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

/** The command line that runs a workload (a C one is compiled first), or null when its interpreter is missing. */
export function buildWorkload(w: Workload): string[] | null {
  const src = join(DIR, w.source);
  if (w.kind === 'c') return [buildC(src, `workload-${w.name}`)];
  if (w.kind === 'node') return [process.execPath, src];
  // the interpreter itself, not a version manager's shim script (pyenv runs a dozen processes first)
  const py = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  return py.status === 0 && py.stdout.trim() ? [py.stdout.trim(), src] : null;
}
