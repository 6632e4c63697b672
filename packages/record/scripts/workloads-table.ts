/**
 * docs/workloads.md's table: records each program below on this machine's kernel (short
 * runs), replays the trace under the stock, relocate and auto policies, and prints one
 * markdown row a program (and the whole result as JSON to --json FILE).
 *
 *   npx tsx packages/record/scripts/workloads-table.ts [--json out.json] [--only name,name]
 *
 * Needs root, perf, gcc and the programs (a missing one is a row that says so). The
 * numbers are of the branch it runs on.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { autoRelocatePlugin } from '@mmsim/auto-relocate';
import { relocateAnonPlugin } from '@mmsim/relocate-anon';
import { buildC, record, replayTrace, type Policy, type TraceReport } from '../src/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const WORK = mkdtempSync(join(tmpdir(), 'mmsim-workloads-'));

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** the interpreter itself, not a version manager's shim (pyenv runs a dozen processes first) */
function python(): string {
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  return r.stdout.trim() || 'python3';
}

/** inputs the programs read: a text file of shuffled numbers, a small C project, a Java file */
function prepare(): void {
  const nums = Array.from({ length: 200_000 }, (_, i) => String((i * 7919) % 200_003)).join('\n');
  writeFileSync(join(WORK, 'nums.txt'), nums + '\n');
  const proj = join(WORK, 'proj');
  mkdirSync(proj);
  const objs: string[] = [];
  for (let i = 0; i < 4; i++) {
    writeFileSync(join(proj, `m${i}.c`), `#include <stdio.h>\n#include <stdlib.h>\nint f${i}(int x) { char *p = malloc(x); return p ? x * ${i + 1} : 0; }\n`);
    objs.push(`m${i}.o`);
  }
  writeFileSync(join(proj, 'main.c'), `int f0(int);int f1(int);int f2(int);int f3(int);\nint main(void) { return f0(1) + f1(2) + f2(3) + f3(4) > 100; }\n`);
  writeFileSync(join(proj, 'Makefile'), `all: prog\nprog: main.o ${objs.join(' ')}\n\tgcc -o $@ $^\n%.o: %.c\n\tgcc -O2 -c -o $@ $<\n`);
  writeFileSync(
    join(WORK, 'Alloc.java'),
    'public class Alloc { public static void main(String[] a) { java.util.List<byte[]> l = new java.util.ArrayList<>(); long s = 0;\n' +
      '  for (int i = 0; i < 20000; i++) { l.add(new byte[16384]); if (l.size() > 2000) l.remove(0); s += l.size(); } System.out.println(s); } }\n',
  );
  writeFileSync(join(WORK, 'hello.rs'), 'fn main() { let v: Vec<u64> = (0..100000).collect(); println!("{}", v.iter().sum::<u64>()); }\n');
}

interface Workload {
  name: string;
  /** the programs it needs on PATH */
  needs: string[];
  cmd: () => string[];
}

const W = WORK;
const WORKLOADS: Workload[] = [
  { name: 'python', needs: ['python3'], cmd: () => [python(), join(HERE, '..', 'workloads', 'bytearray.py')] },
  { name: 'perl', needs: ['perl'], cmd: () => ['perl', '-e', 'my @a; push @a, "x" x 1000 for 1..20000; my $s = join "", @a; print length($s), "\\n"'] },
  { name: 'sort', needs: ['sort'], cmd: () => ['sort', '-n', '-o', join(W, 'sorted.txt'), join(W, 'nums.txt')] },
  { name: 'gzip', needs: ['gzip'], cmd: () => ['gzip', '-9', '-k', '-f', join(W, 'nums.txt')] },
  { name: 'xz -T4', needs: ['xz'], cmd: () => ['xz', '-T4', '-3', '-k', '-f', join(W, 'nums.txt')] },
  { name: 'pthreads realloc', needs: ['gcc'], cmd: () => [buildC(join(HERE, '..', 'workloads', 'threads.c'), 'workload-threads', ['-pthread'])] },
  { name: 'bash pipeline', needs: ['bash'], cmd: () => ['bash', '-c', `sort -rn ${join(W, 'nums.txt')} | head -1000 | tr 0-9 a-j | wc -l`] },
  { name: 'make -j2 gcc', needs: ['make', 'gcc'], cmd: () => ['make', '-s', '-B', '-j2', '-C', join(W, 'proj')] },
  { name: 'git', needs: ['git'], cmd: () => ['git', '-C', join(HERE, '..', '..', '..'), 'log', '--stat', '-30'] },
  {
    name: 'sqlite3',
    needs: ['sqlite3'],
    cmd: () => ['sqlite3', ':memory:', 'create table t(x); with recursive c(i) as (select 1 union all select i+1 from c limit 100000) insert into t select randomblob(100) from c; select count(*) from t;'],
  },
  { name: 'node', needs: ['node'], cmd: () => [process.execPath, '-e', "let a = []; for (let i = 0; i < 200000; i++) a.push({ i, s: 'x'.repeat(20) }); console.log(a.length)"] },
  { name: 'java G1', needs: ['java'], cmd: () => ['java', '-XX:+UseG1GC', '-Xmx256m', join(W, 'Alloc.java')] },
  { name: 'java ZGC', needs: ['java'], cmd: () => ['java', '-XX:+UseZGC', '-Xmx256m', join(W, 'Alloc.java')] },
  { name: 'gpg', needs: ['gpg'], cmd: () => ['gpg', '--homedir', join(W, 'gnupg'), '--batch', '--gen-random', '0', '2000000'] },
  { name: 'rustc', needs: ['rustc'], cmd: () => ['rustc', '-O', '-o', join(W, 'hello'), join(W, 'hello.rs')] },
  {
    name: 'python multiprocessing',
    needs: ['python3'],
    cmd: () => [python(), '-c', 'from multiprocessing import Pool\nwith Pool(2) as p: print(sum(p.map(sum, [range(200000)] * 8)))'],
  },
  {
    name: 'redis-server + redis-benchmark',
    needs: ['redis-server', 'redis-benchmark', 'redis-cli'],
    cmd: () => [
      'bash',
      '-c',
      'redis-server --port 6399 --save "" --appendonly no >/dev/null & for i in $(seq 50); do redis-cli -p 6399 ping >/dev/null 2>&1 && break; sleep 0.1; done; ' +
        'redis-benchmark -p 6399 -n 20000 -q >/dev/null; redis-cli -p 6399 shutdown nosave; wait',
    ],
  },
  { name: 'stress-ng --mremap', needs: ['stress-ng'], cmd: () => ['stress-ng', '--mremap', '1', '--mremap-bytes', '8M', '--mremap-ops', '200', '--timeout', '10s', '-q'] },
];

const POLICIES: Policy[] = ['stock', 'relocate', 'auto'];

interface Row {
  name: string;
  command?: string[];
  skipped?: string;
  recordSec?: number;
  exitCode?: number;
  records?: number;
  faults?: number;
  traceBytes?: number;
  /** faults/s of the stock replay (wall clock, in this process, JIT warm after the first rows) */
  faultsPerSec?: number;
  agree?: boolean;
  firstDifference?: string | null;
  unmodelled?: Record<string, number>;
  /** per policy: the processes' peak VMAs, anon_vmas and AVCs summed, and the agreement */
  policies?: Record<string, { vmas: number; anonVmas: number; avcs: number; agree: boolean; relocated: number }>;
}

function summed(rep: TraceReport) {
  let vmas = 0;
  let anonVmas = 0;
  let avcs = 0;
  let relocated = 0;
  for (const p of rep.processes) {
    vmas += p.peakVmas;
    anonVmas += p.peakAnonVmas;
    avcs += p.peakAvcs;
    relocated += p.relocated;
  }
  return { vmas, anonVmas, avcs, agree: rep.agree, relocated };
}

async function run(w: Workload): Promise<Row> {
  const missing = w.needs.filter((n) => !which(n));
  if (missing.length) return { name: w.name, skipped: `not installed: ${missing.join(', ')}` };
  const command = w.cmd();
  const out = join(WORK, `${w.name.replace(/\W+/g, '_')}.trace`);
  const t0 = performance.now();
  const rec = await record(command, out, { stdio: 'ignore' });
  const recordSec = Math.round(performance.now() - t0) / 1000;
  const row: Row = { name: w.name, command, recordSec, exitCode: rec.exitCode, records: rec.stats.records, faults: rec.stats.faults, traceBytes: statSync(out).size, policies: {} };
  for (const policy of POLICIES) {
    const plugins = policy === 'relocate' ? [relocateAnonPlugin] : policy === 'auto' ? [autoRelocatePlugin] : [];
    const { report } = await replayTrace(out, { policy, plugins });
    row.policies![policy] = summed(report);
    if (policy === 'stock') {
      row.faultsPerSec = report.faultsPerSec;
      row.agree = report.agree;
      row.firstDifference = report.firstDifference;
      row.unmodelled = report.unmodelled;
    }
  }
  rmSync(out, { force: true });
  return row;
}

function markdown(rows: Row[]): string {
  const head = '| program | records | faults | replay faults/s | agree (stock) | stock VMAs/anon_vmas/AVCs | relocate | auto |\n| --- | ---: | ---: | ---: | --- | --- | --- | --- |';
  const cell = (r: Row, p: string) => {
    const x = r.policies?.[p];
    return x ? `${x.vmas}/${x.anonVmas}/${x.avcs}${x.agree ? '' : ' ✗'}` : '';
  };
  const lines = rows.map((r) =>
    r.skipped
      ? `| ${r.name} | — | — | — | skipped: ${r.skipped} | | | |`
      : `| ${r.name} | ${r.records} | ${r.faults} | ${r.faultsPerSec} | ${r.agree ? 'yes' : `no: ${(r.firstDifference ?? '').replace(/\|/g, '\\|').slice(0, 160)}`} | ${cell(r, 'stock')} | ${cell(r, 'relocate')} | ${cell(r, 'auto')} |`,
  );
  return [head, ...lines].join('\n');
}

const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const only = args.includes('--only') ? new Set(args[args.indexOf('--only') + 1].split(',')) : undefined;
try {
  prepare();
  const rows: Row[] = [];
  for (const w of WORKLOADS) {
    if (only && !only.has(w.name)) continue;
    process.stderr.write(`${w.name}... `);
    try {
      rows.push(await run(w));
    } catch (e) {
      rows.push({ name: w.name, skipped: `failed: ${(e as Error).message.split('\n')[0]}` });
    }
    const r = rows[rows.length - 1];
    process.stderr.write(r.skipped ? `${r.skipped}\n` : `${r.faults} faults, agree ${r.agree}, record ${r.recordSec} s\n`);
    if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 2) + '\n');
  }
  process.stdout.write(markdown(rows) + '\n');
} finally {
  rmSync(WORK, { recursive: true, force: true });
}
