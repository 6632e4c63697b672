import { spawn } from 'node:child_process';
import { release } from 'node:os';
import {
  MADVISE_ADVICE,
  MLOCKALL_FLAG_BITS,
  MLOCK_ONFAULT,
  MPOL_MODES,
  MREMAP_FLAG_BITS,
  OBSERVATION_FORMAT,
  PRCTL_OPTION,
  simulatorOnlyStep,
  canonicalizeSnapshot,
  type Observation,
  type RawPage,
  type RawProcSnapshot,
  type Scenario,
  type SnapshotObservation,
  type StepObservation,
  type StepResult,
} from '@mmsim/scenario';
import { ensureOracleBinary, type BuildOptions } from './build.js';
import { OracleError, OracleUnavailableError } from './errors.js';

export { MADVISE_ADVICE, MREMAP_FLAG_BITS };

const KPF_COMPOUND_HEAD = 15n;
const KPF_COMPOUND_TAIL = 16n;
const KPF_ZERO_PAGE = 24n;

export interface RunOptions extends BuildOptions {
  /** Kill the oracle (its whole process group) after this many ms (default 20000). */
  timeoutMs?: number;
  /** Use this oracle binary instead of building one. */
  binary?: string;
}

/** `uname -r` of the running kernel. */
export function kernelVersion(): string {
  return release();
}

function protBits(p: string): number {
  return (p[0] === 'r' ? 1 : 0) | (p[1] === 'w' ? 2 : 0) | (p[2] === 'x' ? 4 : 0);
}

/**
 * Process slots of the oracle: scenario process ids are never reused (the n-th fork's
 * child is n), but only the live ones need a slot (a command pipe), so an exited
 * process's slot goes to the next child. `slotOf[i]` maps the scenario ids live at step
 * i to slots; `procOf[i]` the other way (for snapshots).
 */
export function procSlots(s: Scenario): { slots: number; slotOf: Map<number, number>[]; procOf: Map<number, number>[] } {
  const cur = new Map<number, number>([[0, 0]]);
  const free: number[] = [];
  let slots = 1;
  let nextProc = 1;
  const slotOf: Map<number, number>[] = [];
  const procOf: Map<number, number>[] = [];
  const record = () => {
    slotOf.push(new Map(cur));
    procOf.push(new Map([...cur].map(([p, k]) => [k, p])));
  };
  for (const st of s.steps) {
    record();
    if (st.op === 'fork') {
      free.sort((a, b) => a - b);
      cur.set(nextProc++, free.length ? free.shift()! : slots++);
    } else if (st.op === 'exit') {
      const k = cur.get(st.proc);
      if (k !== undefined) free.push(k);
      cur.delete(st.proc);
    }
  }
  record(); // the final snapshot
  return { slots, slotOf, procOf };
}

/** The line-oriented command script the C oracle reads on stdin (see oracle.c). */
export function toScript(s: Scenario): string {
  const { slots, slotOf } = procSlots(s);
  const lines = [`arena ${s.arena.pages}`, `procs ${slots}`];
  let forks = 0;
  s.steps.forEach((step, i) => {
    const b = (x: boolean) => (x ? 1 : 0);
    // the oracle sees slots, not scenario ids
    const st = { ...step, proc: slotOf[i].get(step.proc) ?? step.proc };
    switch (st.op) {
      case 'mmap':
        lines.push(`mmap ${i} ${st.proc} ${st.page} ${st.pages} ${protBits(st.prot)} ${b(st.shared)} ${b(st.fixed)} ${b(st.noreserve)}`);
        break;
      case 'munmap':
        lines.push(`munmap ${i} ${st.proc} ${st.page} ${st.pages}`);
        break;
      case 'mprotect':
        lines.push(`mprotect ${i} ${st.proc} ${st.page} ${st.pages} ${protBits(st.prot)}`);
        break;
      case 'madvise':
        lines.push(`madvise ${i} ${st.proc} ${st.page} ${st.pages} ${MADVISE_ADVICE[st.advice]}`);
        break;
      case 'mremap': {
        const flags = st.flags.reduce((acc, f) => acc | MREMAP_FLAG_BITS[f], 0);
        lines.push(`mremap ${i} ${st.proc} ${st.page} ${st.pages} ${st.newPages} ${flags} ${st.to ?? -1}`);
        break;
      }
      case 'touch':
        lines.push(`touch ${i} ${st.proc} ${st.page} ${st.pages} ${st.access === 'write' ? 1 : 0}`);
        break;
      case 'mlock':
        lines.push(`mlock ${i} ${st.proc} ${st.page} ${st.pages} ${st.onfault ? MLOCK_ONFAULT : 0}`);
        break;
      case 'munlock':
        lines.push(`munlock ${i} ${st.proc} ${st.page} ${st.pages}`);
        break;
      case 'mlockall':
        lines.push(`mlockall ${i} ${st.proc} ${st.flags.reduce((acc, f) => acc | MLOCKALL_FLAG_BITS[f], 0)}`);
        break;
      case 'munlockall':
        lines.push(`munlockall ${i} ${st.proc}`);
        break;
      case 'mseal':
        lines.push(`mseal ${i} ${st.proc} ${st.page} ${st.pages}`);
        break;
      case 'anon_name':
        lines.push(`anon_name ${i} ${st.proc} ${st.page} ${st.pages} ${st.name}`);
        break;
      case 'mbind': {
        // the nodemask as two 32-bit halves (the script's numbers are C longs, the mask 64 bits)
        const lo = st.nodes.filter((n) => n < 32).reduce((m, n) => m + 2 ** n, 0);
        const hi = st.nodes.filter((n) => n >= 32).reduce((m, n) => m + 2 ** (n - 32), 0);
        lines.push(`mbind ${i} ${st.proc} ${st.page} ${st.pages} ${MPOL_MODES[st.mode]} ${lo} ${hi}`);
        break;
      }
      case 'fork':
        lines.push(`fork ${i} ${st.proc} ${slotOf[i + 1].get(++forks)}`);
        break;
      case 'exit':
        lines.push(`exit ${i} ${st.proc}`);
        break;
      case 'snapshot':
        lines.push(`snapshot ${i}`);
        break;
      case 'prctl':
        lines.push(`prctl ${i} ${st.proc} ${PRCTL_OPTION[st.option]} ${st.value}`);
        break;
      case 'concurrent':
      case 'ksm':
      case 'pin':
      case 'unpin':
      case 'swapout':
      case 'thp':
      default: // an op of no scenario type (a hand-made step)
        throw new OracleUnavailableError('simulator-only', `step ${i}: op "${st.op}" cannot run on a real kernel`);
    }
  });
  lines.push(`snapshot ${s.steps.length}`, 'end', '');
  return lines.join('\n');
}

function checkRunnable(s: Scenario): void {
  const bad = simulatorOnlyStep(s);
  if (bad) throw new OracleUnavailableError('simulator-only', `scenario "${s.name}" uses ${bad.why} (step ${bad.step}); it cannot run on a real kernel`);
  if (process.platform !== 'linux')
    throw new OracleUnavailableError('platform', `the kernel oracle needs Linux (this is ${process.platform})`);
  const uid = process.geteuid?.();
  if (uid !== 0)
    throw new OracleUnavailableError(
      'permission',
      `the kernel oracle needs root: without CAP_SYS_ADMIN /proc/self/pagemap reports PFN 0 and /proc/kpageflags cannot be read, so frames, the zero page and compound pages cannot be observed (euid ${uid})`,
    );
}

/** Assembles the observation from the oracle's stdout (see the protocol in oracle.c). */
export function parseOracleOutput(s: Scenario, out: string): Observation {
  const { procOf } = procSlots(s);
  const results = new Map<number, StepResult>();
  const snapshots: SnapshotObservation[] = [];
  let snap: { i: number; procs: RawProcSnapshot[] } | null = null;
  let cur: { proc: number; vmas: RawProcSnapshot['vmas'][number][]; pages: RawPage[] } | null = null;
  let ended = false;
  const bad = (line: string): never => {
    throw new OracleError(`unexpected oracle output line: ${JSON.stringify(line)}`);
  };
  for (const line of out.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const w = line.split(' ');
    switch (w[0]) {
      case 'R': {
        const i = Number(w[1]);
        let r: StepResult;
        if (w[2] === 'ok') r = { ok: true };
        else if (w[2] === 'okp') r = { ok: true, page: w[3] === 'null' ? null : Number(w[3]) };
        else if (w[2] === 'err') r = { ok: false, errno: w[3] };
        else if (w[2] === 'sig') r = { ok: false, signal: w[3], page: Number(w[4]) };
        else return bad(line);
        results.set(i, r);
        break;
      }
      case 'S':
        snap = { i: Number(w[1]), procs: [] };
        break;
      case 'P':
        if (!snap) return bad(line);
        cur = { proc: procOf[snap.i]?.get(Number(w[1])) ?? Number(w[1]), vmas: [], pages: [] };
        snap.procs.push(cur);
        break;
      case 'V':
        if (!cur) return bad(line);
        cur.vmas.push({ start: Number(w[1]), end: Number(w[2]), perms: w[3], vmFlags: '' });
        break;
      case 'F': {
        const v = cur?.vmas.at(-1);
        if (!v) return bad(line);
        v.vmFlags = w.slice(1).join(' ');
        break;
      }
      case 'G': {
        if (!cur) return bad(line);
        const present = w[2] === '1';
        const flags = w[6] === '-' ? null : BigInt('0x' + w[6]);
        const bit = (b: bigint) => flags !== null && ((flags >> b) & 1n) === 1n;
        cur.pages.push({
          page: Number(w[1]),
          present,
          swapped: w[3] === '1',
          exclusive: w[4] === '1',
          rawFrame: !present ? null : bit(KPF_ZERO_PAGE) ? 'zero' : w[5],
          compound: bit(KPF_COMPOUND_HEAD) ? 'head' : bit(KPF_COMPOUND_TAIL) ? 'tail' : null,
        });
        break;
      }
      case 'SE': {
        if (!snap || snap.i !== Number(w[1])) return bad(line);
        const step = s.steps[snap.i];
        const label = snap.i === s.steps.length ? 'final' : step?.op === 'snapshot' ? step.label : bad(line);
        snapshots.push({ label, procs: canonicalizeSnapshot(snap.procs) });
        snap = null;
        cur = null;
        break;
      }
      case 'END':
        ended = true;
        break;
      default:
        bad(line);
    }
  }
  if (!ended) throw new OracleError('the oracle output has no END line');
  const steps: StepObservation[] = [];
  s.steps.forEach((st, i) => {
    if (st.op === 'snapshot') return;
    const r = results.get(i);
    if (!r) throw new OracleError(`the oracle reported no result for step ${i} (${st.op})`);
    steps.push({ i, op: st.op, result: r });
  });
  return { format: OBSERVATION_FORMAT, scenario: s.name, steps, snapshots };
}

/**
 * Runs a validated scenario on the running kernel, in a fresh oracle process (and one
 * OS process per scenario process), and returns its observation. Needs Linux, root and
 * gcc; otherwise throws `OracleUnavailableError`. Runtime failures and timeouts throw
 * `OracleError` carrying the oracle's stderr.
 */
export async function runOnKernel(s: Scenario, opts: RunOptions = {}): Promise<Observation> {
  checkRunnable(s);
  const script = toScript(s);
  const bin = opts.binary ?? ensureOracleBinary(opts);
  const timeoutMs = opts.timeoutMs ?? 20000;
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {
      /* reported through the exit status */
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new OracleError(`cannot start the oracle ${bin}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup(); // leftover scenario processes, if any
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) reject(new OracleError(`scenario "${s.name}": the oracle timed out after ${timeoutMs} ms`, stderr));
      else if (code !== 0)
        reject(new OracleError(`scenario "${s.name}": the oracle failed (${signal ? `signal ${signal}` : `exit ${code}`})`, stderr));
      else resolve({ stdout, stderr });
    });
    child.stdin.end(script);
  });
  try {
    return parseOracleOutput(s, stdout);
  } catch (e) {
    if (e instanceof OracleError) throw new OracleError(`scenario "${s.name}": ${e.message}`, stderr);
    throw e;
  }
}

/** Can scenarios run on this machine's kernel (Linux, root, a C compiler for the oracle)? */
export function oracleAvailable(): boolean {
  if (process.platform !== 'linux' || process.geteuid?.() !== 0) return false;
  try {
    ensureOracleBinary();
    return true;
  } catch (e) {
    if (e instanceof OracleUnavailableError) return false;
    throw e;
  }
}
