/**
 * `mmsim record --pid PID`: attach to a running process (a server), record until asked
 * to stop (or until it exits), detach. The trace starts with the process's layout at
 * attach (/proc/PID/maps + pagemap, as an exec record: the replay builds the mm from it)
 * and its threads as clones sharing the mm, and ends with its layout at detach (a snap
 * record the replay compares; no exit: the process runs on).
 *
 * No event may fall between a snapshot and the recording: the process is stopped
 * (SIGSTOP) while perf, started with its events disabled (-D -1), enables them through
 * its control FIFO and acknowledges, and the attach snapshot is taken; then SIGCONT. At
 * detach, stopped again: the snapshot, perf ends (SIGINT), SIGCONT.
 *
 * Not seen: threads that start and end between attach and detach are taken as forks
 * (no ptrace to tell a clone's CLONE_VM; threads alive at detach are known); the children
 * it forks are followed by perf but have no exec/exit snapshots.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostKernelConfig } from '@mmsim/kernel-oracle';
import { TRACE_FORMAT, type TraceHeader } from './format.js';
import { RecordUnavailableError, convertPerf, perfRecordArgs, preflight, thpMode, type RecordOptions, type RecordResult } from './record.js';
import { parseTracerLog } from './tracerlog.js';

function tasks(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** every task of `pid` stopped (state T), or gone */
async function stopped(pid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const all = tasks(pid).every((t) => {
      try {
        const st = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        return /^[TtXZ]/.test(st.slice(st.lastIndexOf(')') + 2));
      } catch {
        return true;
      }
    });
    if (all) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`process ${pid} did not stop after SIGSTOP`);
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}/task`);
}

/** Record the running process `pid` into `out` until `opts.signal` aborts or it exits. */
export async function recordPid(pid: number, out: string, opts: RecordOptions = {}): Promise<RecordResult> {
  const tracer = preflight();
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) throw new RecordUnavailableError(`no process ${pid}`);
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-record-'));
  const ctl = join(dir, 'ctl');
  const ack = join(dir, 'ack');
  const data = join(dir, 'perf.data');
  const tlogPath = join(dir, 'tracer.log');
  const snapshot = (what: 'exec' | 'exit') => {
    const r = spawnSync(tracer, ['--snapshot', tlogPath, what, String(pid)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`snapshot of ${pid} failed: ${r.stderr}`);
  };
  let cont = false;
  try {
    for (const f of [ctl, ack]) if (spawnSync('mkfifo', [f]).status !== 0) throw new RecordUnavailableError('mkfifo failed');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGSTOP');
    cont = true;
    await stopped(pid);
    const threads = tasks(pid);
    const args = [...perfRecordArgs(opts.mmapPages), '-D', '-1', '--control', `fifo:${ctl},${ack}`, '-p', String(pid), '-o', data];
    // not quiet: perf says "Events disabled" once its events are set up (disabled, -D -1);
    // an enable sent before that is lost
    const perf = spawn('perf', args.filter((x) => x !== '-q'), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let perfErr = '';
    const exited = new Promise<number>((res) => perf.on('exit', (c) => res(c ?? 1)));
    await new Promise<void>((res, rej) => {
      perf.stderr.on('data', (d: Buffer) => {
        perfErr += d.toString();
        if (perfErr.includes('Events disabled')) res();
      });
      void exited.then((c) => rej(new Error(`perf record -p ${pid} ended at its start (exit ${c}): ${perfErr.trim()}`)));
    });
    const w = await open(ctl, 'w');
    const a = await open(ack, 'r');
    await w.write('enable\n');
    const buf = Buffer.alloc(16);
    await a.read(buf, 0, 16, null);
    snapshot('exec');
    process.kill(pid, 'SIGCONT');
    cont = false;
    // until asked to stop, or the process is gone (perf -p then ends by itself)
    await new Promise<void>((res) => {
      const t = setInterval(() => {
        if (opts.signal?.aborted || !alive(pid) || perf.exitCode !== null) {
          clearInterval(t);
          res();
        }
      }, 20);
    });
    let detached = false;
    if (alive(pid)) {
      process.kill(pid, 'SIGSTOP');
      cont = true;
      await stopped(pid);
      snapshot('exit');
      detached = true;
    }
    perf.kill('SIGINT');
    const code = await exited;
    await w.close();
    await a.close();
    if (cont) process.kill(pid, 'SIGCONT');
    cont = false;
    if (code !== 0 && code !== 130 && !existsSync(data)) throw new Error(`perf record failed (exit ${code}): ${perfErr.trim()}`);
    const tlog = parseTracerLog(readFileSync(tlogPath, 'utf8'));
    const start = tlog.execs.get(pid)?.[0];
    if (!start) throw new Error(`no attach snapshot of ${pid}`);
    const end = tlog.exits.get(pid)?.[0];
    // the replay takes an exec snapshot's start_brk as the brk: a running process's brk is
    // the end of its [heap] (the VMA ends at PAGE_ALIGN(mm->brk), mm/mmap.c brk)
    const heap = start.maps.find((e) => e[5] === '[heap]');
    if (heap) start.startBrk = heap[1] * 4096;
    // the attach snapshot is not an exec the converter should meet again
    tlog.execs.delete(pid);
    tlog.exits.delete(pid);
    const later = detached ? tasks(pid).filter((t) => !threads.includes(t)) : [];
    const header: TraceHeader = { format: TRACE_FORMAT, command: cmdline, kernel: release(), thp: thpMode(), config: { ...hostKernelConfig() } };
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      const stats = await convertPerf(data, tlog, header, tmp, opts, {
        before: (c) => c.attach(pid, threads, start, later),
        after: (c) => end && c.detach(pid, end),
      });
      renameSync(tmp, out);
      return { stats, exitCode: 0, header };
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  } finally {
    if (cont) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
