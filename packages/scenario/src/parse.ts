import { parseConcurrent } from './concurrent.js';
import {
  FAULTS,
  FAULT_OPS,
  type Fault,
  ADVICES,
  ALL_OPS,
  MAX_ARENA_PAGES,
  MAX_PROCS,
  MAX_PROC_ID,
  MAX_NUMA_NODE,
  MLOCKALL_FLAGS,
  MPOL_MODE_NAMES,
  MREMAP_FLAGS,
  OBSERVED_VMA_FLAGS,
  PRCTL_OPTIONS,
  type PrctlOption,
  SCENARIO_FORMAT,
  SIMULATOR_ONLY_OPS,
  VMA_METADATA,
  type Advice,
  type Expectation,
  type MlockallFlag,
  type MpolMode,
  type MremapFlag,
  type Scenario,
  type Step,
  type StepOp,
  type StepResult,
  type VmaExpectation,
  type VmaFlagName,
  type VmaMetadata,
} from './types.js';
import { MAX_SCENARIO_BYTES, describeValue, hasOwnKey, quote, scanJson } from './hostile.js';
import { parseKernelBlock } from './kernel.js';
import { ScenarioError } from './error.js';

export { ScenarioError };

/** True when the scenario uses no simulator-only op (so it can run on a real kernel). */
export function isOracleSafe(s: Scenario): boolean {
  return simulatorOnlyStep(s) === null;
}

/**
 * The first step the real kernel cannot run, and why: a simulator-only op, or an
 * injected fault (the kernel has no fail_prealloc). null when every step can run.
 */
export function simulatorOnlyStep(s: Scenario): { step: number; why: string } | null {
  for (let i = 0; i < s.steps.length; i++) {
    const st = s.steps[i];
    if ((SIMULATOR_ONLY_OPS as readonly string[]).includes(st.op)) return { step: i, why: `the simulator-only op "${st.op}"` };
    if (st.fail !== undefined) return { step: i, why: `an injected fault ("fail": "${st.fail}")` };
  }
  return null;
}

const PROT_RE = /^[r-][w-][x-]$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** a bad value in a message: its type and at most a short prefix (hostile.ts) */
const describe = describeValue;

/** Fields each op accepts besides `op` and `proc`; `true` = required. */
const OP_FIELDS: Record<StepOp, Record<string, boolean>> = {
  mmap: { page: true, pages: true, prot: true, shared: false, fixed: false, noreserve: false },
  munmap: { page: true, pages: true },
  mprotect: { page: true, pages: true, prot: true },
  madvise: { page: true, pages: true, advice: true },
  mremap: { page: true, pages: true, newPages: false, flags: false, to: false },
  touch: { page: true, pages: true, access: false },
  mlock: { page: true, pages: true, onfault: false },
  munlock: { page: true, pages: true },
  mlockall: { flags: true },
  munlockall: {},
  mseal: { page: true, pages: true },
  anon_name: { page: true, pages: true, name: true },
  mbind: { page: true, pages: true, mode: true, nodes: false },
  fork: {},
  exit: {},
  snapshot: { label: true },
  concurrent: { tasks: true },
  pin: { page: true, pages: true },
  unpin: { page: true, pages: true },
  ksm: { page: true, pages: true },
  swapout: { page: true, pages: true },
  thp: { page: true },
  prctl: { option: true, value: true },
};

function jsonPosition(text: string, msg: string): { line: number; column: number } | undefined {
  const lc = /line (\d+) column (\d+)/.exec(msg);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  let pos: number | undefined;
  const m = /position (\d+)/.exec(msg);
  if (m) pos = Number(m[1]);
  else if (/Unexpected end of JSON input/.test(msg)) pos = text.length;
  if (pos === undefined) return undefined;
  let line = 1;
  let col = 1;
  for (let k = 0; k < pos && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { line, column: col };
}

/**
 * Validates a scenario (JSON text or an already parsed value) strictly against
 * `mmsim-scenario/1` and returns it with every default filled in. Throws
 * `ScenarioError` naming the file, step index, op and field on the first problem.
 */
export function parseScenario(input: string | unknown, file?: string): Scenario {
  let raw: unknown = input;
  if (typeof input === 'string') raw = parseScenarioJson(input, file);
  return new Validator(file).scenario(raw);
}

/** JSON text to a value, with the limits JSON.parse lacks: size, depth, duplicate keys (hostile.ts). */
function parseScenarioJson(input: string, file?: string): unknown {
  if (input.length > MAX_SCENARIO_BYTES) {
    throw new ScenarioError(`the scenario is ${(input.length / 2 ** 20).toFixed(1)} MiB of text, more than the limit of ${MAX_SCENARIO_BYTES / 2 ** 20} MiB`, { file });
  }
  const scan = scanJson(input);
  const at = (p: { offset: number }) => jsonPosition(input, `position ${p.offset}`);
  if (scan.tooDeep) throw new ScenarioError(scan.tooDeep.reason, { file, ...at(scan.tooDeep) });
  let raw: unknown;
  try {
    raw = JSON.parse(input);
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).slice(0, 200);
    const pos = jsonPosition(input, msg);
    throw new ScenarioError(`invalid JSON: ${msg}`, { file, ...pos });
  }
  if (scan.duplicate) throw new ScenarioError(scan.duplicate.reason, { file, ...at(scan.duplicate) });
  return raw;
}

class Validator {
  constructor(private readonly file: string | undefined) {}

  private fail(reason: string, field?: string, step?: number, op?: string): never {
    // an unknown field's name is input too: at most a short prefix of it
    const f = field !== undefined && field.length > 80 ? `${field.slice(0, 80)}… (${field.length} characters)` : field;
    throw new ScenarioError(reason, { file: this.file, step, op, field: f });
  }

  scenario(raw: unknown): Scenario {
    if (!isObj(raw)) this.fail(`a scenario must be a JSON object, got ${describe(raw)}`);
    const known = ['format', 'name', 'description', 'arena', 'kernel', 'steps', 'expect', 'observe'];
    for (const k of Object.keys(raw)) if (!known.includes(k)) this.fail('unknown field', k);
    if (raw.format === undefined) this.fail('missing', 'format');
    if (raw.format !== SCENARIO_FORMAT) this.fail(`must be "${SCENARIO_FORMAT}", got ${describe(raw.format)}`, 'format');
    if (raw.name === undefined) this.fail('missing', 'name');
    if (typeof raw.name !== 'string' || raw.name.length === 0)
      this.fail(`must be a non-empty string, got ${describe(raw.name)}`, 'name');
    if (raw.description !== undefined && typeof raw.description !== 'string')
      this.fail(`must be a string, got ${describe(raw.description)}`, 'description');
    if (raw.arena === undefined) this.fail('missing', 'arena');
    if (!isObj(raw.arena)) this.fail(`must be an object, got ${describe(raw.arena)}`, 'arena');
    for (const k of Object.keys(raw.arena)) if (k !== 'pages') this.fail('unknown field', `arena.${k}`);
    if (raw.arena.pages === undefined) this.fail('missing', 'arena.pages');
    const arenaPages = raw.arena.pages;
    if (!Number.isSafeInteger(arenaPages) || (arenaPages as number) < 1 || (arenaPages as number) > MAX_ARENA_PAGES)
      this.fail(`must be an integer in [1, ${MAX_ARENA_PAGES}], got ${describe(arenaPages)}`, 'arena.pages');
    if (raw.steps === undefined) this.fail('missing', 'steps');
    if (!Array.isArray(raw.steps)) this.fail(`must be an array, got ${describe(raw.steps)}`, 'steps');

    const arena = arenaPages as number;
    const live = new Set<number>([0]);
    let nextProc = 1;
    const labels = new Map<string, Set<number>>(); // label -> live procs at that snapshot
    const steps: Step[] = [];
    raw.steps.forEach((rs: unknown, i: number) => {
      const st = this.step(rs, i, arena, live);
      if (st.op === 'fork') {
        // the limit counts live processes (as RLIMIT_NPROC does), not forks
        if (live.size >= MAX_PROCS) this.fail(`too many live processes: at most ${MAX_PROCS} at a time`, undefined, i, 'fork');
        live.add(nextProc++);
      } else if (st.op === 'exit') {
        live.delete(st.proc);
      } else if (st.op === 'snapshot') {
        if (st.label === 'final') this.fail('"final" is reserved for the snapshot taken after the last step', 'label', i, st.op);
        if (labels.has(st.label)) this.fail(`duplicate snapshot label ${JSON.stringify(st.label)}`, 'label', i, st.op);
        labels.set(st.label, new Set(live));
      }
      steps.push(st);
    });
    labels.set('final', new Set(live));

    const out: Scenario = { format: SCENARIO_FORMAT, name: raw.name as string, arena: { pages: arena }, steps };
    if (raw.description !== undefined) {
      // keep the spec's key order: format, name, description, arena, steps, expect
      const { format, name } = out;
      return this.finish({ format, name, description: raw.description as string, arena: { pages: arena }, steps }, raw, steps, labels, arena);
    }
    return this.finish(out, raw, steps, labels, arena);
  }

  private finish(out: Scenario, raw: Obj, steps: Step[], labels: Map<string, Set<number>>, arena: number): Scenario {
    if (raw.kernel !== undefined) out.kernel = parseKernelBlock(raw.kernel, (reason, field) => this.fail(reason, field));
    if (raw.expect !== undefined) {
      if (!Array.isArray(raw.expect)) this.fail(`must be an array, got ${describe(raw.expect)}`, 'expect');
      out.expect = raw.expect.map((e: unknown, k: number) => this.expectation(e, k, steps, labels, arena));
    }
    if (raw.observe !== undefined) out.observe = this.observe(raw.observe);
    (out.expect ?? []).forEach((e, k) => {
      if (!('vma' in e)) return;
      for (const m of VMA_METADATA)
        if (e.vma[m] !== undefined && !out.observe?.includes(m))
          this.fail(`asserting ${m} needs "observe": [${JSON.stringify(m)}] (the simulator reports kernel metadata only where asked)`, `expect[${k}].vma.${m}`);
    });
    return out;
  }

  private observe(v: unknown): VmaMetadata[] {
    if (!Array.isArray(v)) return this.fail(`must be an array of ${VMA_METADATA.map((m) => JSON.stringify(m)).join(', ')}, got ${describe(v)}`, 'observe');
    const seen = new Set<VmaMetadata>();
    v.forEach((m: unknown, k: number) => {
      if (typeof m !== 'string' || !(VMA_METADATA as readonly string[]).includes(m))
        this.fail(`must be one of ${VMA_METADATA.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(m)}`, `observe[${k}]`);
      if (seen.has(m as VmaMetadata)) this.fail(`${JSON.stringify(m)} is listed twice`, `observe[${k}]`);
      seen.add(m as VmaMetadata);
    });
    // canonical order, so that equal scenarios serialize alike
    return VMA_METADATA.filter((m) => seen.has(m));
  }

  private int(o: Obj, field: string, lo: number, hi: number, i: number, op: string, hiInclusive = false): number {
    const v = o[field];
    const range = `[${lo}, ${hi}${hiInclusive ? ']' : ')'}`;
    if (!Number.isSafeInteger(v) || (v as number) < lo || (hiInclusive ? (v as number) > hi : (v as number) >= hi))
      this.fail(`must be an integer in ${range}, got ${describe(v)}`, field, i, op);
    return v as number;
  }

  private bool(o: Obj, field: string, i: number, op: string): boolean {
    const v = o[field];
    if (v === undefined) return false;
    if (typeof v !== 'boolean') this.fail(`must be true or false, got ${describe(v)}`, field, i, op);
    return v;
  }

  private prot(o: Obj, i: number, op: string): string {
    const v = o.prot;
    if (typeof v !== 'string' || !PROT_RE.test(v))
      this.fail(`must be a 3-character string [r-][w-][x-] such as "rw-", got ${describe(v)}`, 'prot', i, op);
    return v;
  }

  private step(rs: unknown, i: number, arena: number, live: Set<number>): Step {
    if (isObj(rs) && rs.fail !== undefined) {
      // fault injection: the step as it is, with the fault its run arms
      const { fail, ...rest } = rs;
      const st = this.step(rest, i, arena, live);
      if (!(FAULT_OPS as readonly string[]).includes(st.op)) this.fail(`a fault can be injected into ${FAULT_OPS.join(', ')}, not ${st.op}`, 'fail', i, st.op);
      if (typeof fail !== 'string' || !(FAULTS as readonly string[]).includes(fail))
        this.fail(`unknown fault ${describe(fail)} (known: ${FAULTS.join(', ')})`, 'fail', i, st.op);
      return { ...st, fail: fail as Fault };
    }
    if (!isObj(rs)) this.fail(`a step must be an object, got ${describe(rs)}`, undefined, i);
    if (rs.op === undefined) this.fail('missing', 'op', i);
    if (typeof rs.op !== 'string' || !(ALL_OPS as readonly string[]).includes(rs.op))
      this.fail(`unknown op ${describe(rs.op)} (known: ${ALL_OPS.join(', ')})`, 'op', i);
    const op = rs.op as StepOp;
    if (op === 'concurrent') return parseConcurrent(rs, i, live, this.file, (sub, at) => this.step(sub, at, arena, live), arena);
    const fields = OP_FIELDS[op];
    for (const k of Object.keys(rs)) {
      if (k === 'op' || k === 'proc') continue;
      if (!hasOwnKey(fields, k)) this.fail(`unknown field for op "${op}"`, k, i, op);
    }
    for (const [k, req] of Object.entries(fields)) if (req && rs[k] === undefined) this.fail('missing', k, i, op);

    let proc = 0;
    if (rs.proc !== undefined) proc = this.int(rs, 'proc', 0, MAX_PROC_ID, i, op, true);
    // a snapshot records every live process, so it needs none of its own (process 0 may be gone)
    if (!live.has(proc) && !(op === 'snapshot' && rs.proc === undefined)) {
      const l = [...live].sort((a, b) => a - b);
      this.fail(
        `process ${proc} does not exist at this step (live: ${l.length ? l.join(', ') : 'none'})`,
        'proc',
        i,
        op,
      );
    }

    let page = 0;
    let pages = 0;
    if (hasOwnKey(fields, 'page')) {
      page = this.int(rs, 'page', 0, arena, i, op);
      if (hasOwnKey(fields, 'pages')) {
        // 0 pages is in range: the kernel's answer (EINVAL or success) is the result
        pages = this.int(rs, 'pages', 0, arena, i, op, true);
        if (page + pages > arena)
          this.fail(`page + pages = ${page + pages} exceeds arena.pages ${arena}`, 'pages', i, op);
      }
    }

    switch (op) {
      case 'mmap':
        return {
          op,
          proc,
          page,
          pages,
          prot: this.prot(rs, i, op),
          shared: this.bool(rs, 'shared', i, op),
          fixed: this.bool(rs, 'fixed', i, op),
          noreserve: this.bool(rs, 'noreserve', i, op),
        };
      case 'munmap':
      case 'munlock':
      case 'mseal':
      case 'pin':
      case 'unpin':
      case 'ksm':
      case 'swapout':
        return { op, proc, page, pages };
      case 'mprotect':
        return { op, proc, page, pages, prot: this.prot(rs, i, op) };
      case 'madvise': {
        const a = rs.advice;
        if (typeof a !== 'string' || !(ADVICES as readonly string[]).includes(a))
          this.fail(`unknown advice ${describe(a)} (known: ${ADVICES.join(', ')})`, 'advice', i, op);
        return { op, proc, page, pages, advice: a as Advice };
      }
      case 'touch': {
        // absent means write; null is not absent
        const a = rs.access === undefined ? 'write' : rs.access;
        if (a !== 'read' && a !== 'write') this.fail(`must be "read" or "write", got ${describe(a)}`, 'access', i, op);
        return { op, proc, page, pages, access: a };
      }
      case 'mremap': {
        let newPages = pages;
        if (rs.newPages !== undefined) newPages = this.int(rs, 'newPages', 0, arena, i, op, true);
        const flags: MremapFlag[] = [];
        if (rs.flags !== undefined) {
          if (!Array.isArray(rs.flags)) this.fail(`must be an array of flag names, got ${describe(rs.flags)}`, 'flags', i, op);
          for (const f of rs.flags) {
            if (typeof f !== 'string' || !(MREMAP_FLAGS as readonly string[]).includes(f))
              this.fail(`unknown flag ${describe(f)} (known: ${MREMAP_FLAGS.join(', ')})`, 'flags', i, op);
            if (flags.includes(f as MremapFlag)) this.fail(`duplicate flag "${f}"`, 'flags', i, op);
            flags.push(f as MremapFlag);
          }
        }
        const fixed = flags.includes('FIXED');
        const st: Step = { op, proc, page, pages, newPages, flags };
        if (rs.to !== undefined) {
          if (!fixed) this.fail('"to" needs the FIXED flag', 'to', i, op);
          const to = this.int(rs, 'to', 0, arena, i, op);
          if (to + newPages > arena)
            this.fail(`to + newPages = ${to + newPages} exceeds arena.pages ${arena}`, 'to', i, op);
          st.to = to;
        } else if (fixed) {
          this.fail('missing (the FIXED flag needs "to")', 'to', i, op);
        } else if (page + newPages > arena) {
          // Growing in place must stay inside the arena: the space beyond is not modelled.
          this.fail(`page + newPages = ${page + newPages} exceeds arena.pages ${arena}`, 'newPages', i, op);
        }
        return st;
      }
      case 'mlock':
        return { op, proc, page, pages, onfault: this.bool(rs, 'onfault', i, op) };
      case 'mlockall': {
        // [] and ["ONFAULT"] are in range: the kernel's EINVAL is the result
        if (!Array.isArray(rs.flags)) this.fail(`must be an array of flag names (${MLOCKALL_FLAGS.join(', ')}), got ${describe(rs.flags)}`, 'flags', i, op);
        const flags: MlockallFlag[] = [];
        for (const f of rs.flags as unknown[]) {
          if (typeof f !== 'string' || !(MLOCKALL_FLAGS as readonly string[]).includes(f))
            this.fail(`unknown flag ${describe(f)} (known: ${MLOCKALL_FLAGS.join(', ')})`, 'flags', i, op);
          if (flags.includes(f as MlockallFlag)) this.fail(`duplicate flag "${f}"`, 'flags', i, op);
          flags.push(f as MlockallFlag);
        }
        return { op, proc, flags };
      }
      case 'anon_name': {
        const n = rs.name;
        // ANON_VMA_NAME_MAX_LEN is 80 with the NUL; the format keeps to a subset of what the
        // kernel accepts (printable, no [ ] \\ $ `) that needs no quoting in the oracle's script
        if (typeof n !== 'string' || !/^[A-Za-z0-9._:+=-]{1,79}$/.test(n))
          this.fail(`must be 1 to 79 characters of A-Z a-z 0-9 . _ : + = -, got ${describe(n)}`, 'name', i, op);
        return { op, proc, page, pages, name: n as string };
      }
      case 'mbind': {
        const m = rs.mode;
        if (typeof m !== 'string' || !(MPOL_MODE_NAMES as readonly string[]).includes(m))
          this.fail(`unknown mode ${describe(m)} (known: ${MPOL_MODE_NAMES.join(', ')})`, 'mode', i, op);
        const nodes: number[] = [];
        if (rs.nodes !== undefined) {
          if (!Array.isArray(rs.nodes)) this.fail(`must be an array of node ids, got ${describe(rs.nodes)}`, 'nodes', i, op);
          for (const n of rs.nodes as unknown[]) {
            if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_NUMA_NODE)
              this.fail(`node ids are integers in [0, ${MAX_NUMA_NODE}], got ${describe(n)}`, 'nodes', i, op);
            if (nodes.includes(n as number)) this.fail(`duplicate node ${n}`, 'nodes', i, op);
            nodes.push(n as number);
          }
        }
        return { op, proc, page, pages, mode: m as MpolMode, nodes };
      }
      case 'munlockall':
      case 'fork':
      case 'exit':
        return { op, proc };
      case 'snapshot': {
        const l = rs.label;
        if (typeof l !== 'string' || l.length === 0 || l.length > 100 || /[\u0000-\u001f\u007f]/.test(l))
          this.fail(`must be a non-empty string (at most 100 characters, no control characters), got ${describe(l)}`, 'label', i, op);
        return { op, proc, label: l };
      }
      case 'thp':
        return { op, proc, page };
      case 'prctl': {
        const o = rs.option;
        if (typeof o !== 'string' || !(PRCTL_OPTIONS as readonly string[]).includes(o))
          this.fail(`unknown option ${describe(o)} (known: ${PRCTL_OPTIONS.join(', ')})`, 'option', i, op);
        // PR_SET_MEMORY_MERGE: 1 enables, 0 disables (the kernel takes any nonzero as 1)
        return { op, proc, option: o as PrctlOption, value: this.int(rs, 'value', 0, 1, i, op, true) };
      }
    }
  }

  private expectation(
    re: unknown,
    k: number,
    steps: Step[],
    labels: Map<string, Set<number>>,
    arena: number,
  ): Expectation {
    const f = (field: string) => `expect[${k}]${field ? '.' + field : ''}`;
    const failE = (reason: string, field: string): never => this.fail(reason, f(field));
    if (!isObj(re)) failE(`an expectation must be an object, got ${describe(re)}`, '');
    const o = re as Obj;
    const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
    if (hasOwnKey(o, 'step')) {
      for (const key of Object.keys(o)) if (key !== 'step' && key !== 'result') failE('unknown field', key);
      if (!isInt(o.step) || o.step < 0 || o.step >= steps.length)
        failE(`must be a step index in [0, ${steps.length}), got ${describe(o.step)}`, 'step');
      const st = steps[o.step as number];
      if (st.op === 'snapshot') failE(`step ${o.step} is a snapshot, which has no result`, 'step');
      if (o.result === undefined) failE('missing', 'result');
      return { step: o.step as number, result: this.result(o.result, f('result')) };
    }
    if (!hasOwnKey(o, 'snapshot')) failE('must have "step" or "snapshot"', '');
    const kinds = ['vma', 'vmaCount'].filter((x) => hasOwnKey(o, x));
    if (kinds.length !== 1) failE('a snapshot expectation needs exactly one of "vma", "vmaCount"', '');
    for (const key of Object.keys(o)) if (!['snapshot', 'proc', 'vma', 'vmaCount', 'range'].includes(key)) failE('unknown field', key);
    if (hasOwnKey(o, 'range') && kinds[0] !== 'vmaCount') failE('"range" goes with "vmaCount"', 'range');
    if (typeof o.snapshot !== 'string') failE(`must be a snapshot label, got ${describe(o.snapshot)}`, 'snapshot');
    const procsAt = labels.get(o.snapshot as string);
    if (!procsAt)
      failE(`unknown snapshot label ${quote(o.snapshot as string)} (known: ${[...labels.keys()].map((l) => JSON.stringify(l)).join(', ')})`, 'snapshot');
    let proc = 0;
    if (o.proc !== undefined) {
      if (!isInt(o.proc) || o.proc < 0) failE(`must be a process id, got ${describe(o.proc)}`, 'proc');
      proc = o.proc as number;
    }
    if (!procsAt!.has(proc)) failE(`process ${proc} is not live at snapshot ${JSON.stringify(o.snapshot)}`, 'proc');
    const snapshot = o.snapshot as string;
    if (kinds[0] === 'vmaCount') {
      if (!isInt(o.vmaCount) || o.vmaCount < 0) failE(`must be a non-negative integer, got ${describe(o.vmaCount)}`, 'vmaCount');
      if (o.range === undefined) return { snapshot, proc, vmaCount: o.vmaCount as number };
      const r = o.range;
      if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => isInt(x) && x >= 0 && x <= arena) || !((r[0] as number) < (r[1] as number)))
        failE(`must be [start, end) arena pages with 0 <= start < end <= ${arena}, got ${describe(r)}`, 'range');
      return { snapshot, proc, vmaCount: o.vmaCount as number, range: [(r as number[])[0], (r as number[])[1]] };
    }
    const v = o.vma;
    if (!isObj(v)) return failE(`must be an object {contains, start, end}, got ${describe(v)}`, 'vma');
    for (const key of Object.keys(v)) if (!['contains', 'start', 'end', 'perms', 'vmFlags', 'pgoff', 'anonVma'].includes(key)) failE('unknown field', `vma.${key}`);
    for (const key of ['contains', 'start', 'end']) if (v[key] === undefined) failE('missing', `vma.${key}`);
    if (!isInt(v.contains) || v.contains < 0 || v.contains >= arena)
      failE(`must be an integer in [0, ${arena}), got ${describe(v.contains)}`, 'vma.contains');
    if (!isInt(v.start)) failE(`must be an integer, got ${describe(v.start)}`, 'vma.start');
    if (!isInt(v.end)) failE(`must be an integer, got ${describe(v.end)}`, 'vma.end');
    if (!((v.start as number) <= (v.contains as number) && (v.contains as number) < (v.end as number)))
      failE(`[start, end) = [${v.start}, ${v.end}) does not contain page ${v.contains}`, 'vma');
    const vma: VmaExpectation['vma'] = { contains: v.contains as number, start: v.start as number, end: v.end as number };
    if (v.perms !== undefined) {
      if (typeof v.perms !== 'string' || !/^[r-][w-][x-][ps]$/.test(v.perms)) failE(`must be perms as /proc/PID/maps writes them ("rw-p"), got ${describe(v.perms)}`, 'vma.perms');
      vma.perms = v.perms as string;
    }
    if (v.vmFlags !== undefined) {
      const known = OBSERVED_VMA_FLAGS as readonly string[];
      if (!Array.isArray(v.vmFlags) || !v.vmFlags.every((x) => typeof x === 'string' && known.includes(x)))
        failE(`must be an array of ${known.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v.vmFlags)}`, 'vma.vmFlags');
      const given = new Set(v.vmFlags as string[]);
      if (given.size !== (v.vmFlags as string[]).length) failE('lists a flag twice', 'vma.vmFlags');
      vma.vmFlags = OBSERVED_VMA_FLAGS.filter((x) => given.has(x)) as VmaFlagName[];
    }
    if (v.pgoff !== undefined) {
      if (!isInt(v.pgoff)) failE(`must be an integer, got ${describe(v.pgoff)}`, 'vma.pgoff');
      vma.pgoff = v.pgoff as number;
    }
    if (v.anonVma !== undefined) {
      if (v.anonVma !== null && (typeof v.anonVma !== 'string' || !/^av[1-9][0-9]*$/.test(v.anonVma)))
        failE(`must be null or an anon_vma name "av1", "av2", ..., got ${describe(v.anonVma)}`, 'vma.anonVma');
      vma.anonVma = v.anonVma as string | null;
    }
    return { snapshot, proc, vma };
  }

  private result(r: unknown, field: string): StepResult {
    const failR = (reason: string, sub = ''): never => this.fail(reason, field + sub);
    if (!isObj(r)) return failR(`must be an object, got ${describe(r)}`);
    if (typeof r.ok !== 'boolean') failR(`must be true or false, got ${describe(r.ok)}`, '.ok');
    const keys = Object.keys(r).filter((x) => x !== 'ok').sort().join(',');
    const pageOk = (p: unknown, nullable: boolean) => (nullable && p === null) || Number.isSafeInteger(p);
    if (r.ok) {
      if (keys === '') return { ok: true };
      if (keys === 'page') {
        if (!pageOk(r.page, true)) failR(`must be an integer or null, got ${describe(r.page)}`, '.page');
        return { ok: true, page: r.page as number | null };
      }
      return failR('an ok result has only "ok" and optionally "page"');
    }
    if (keys === 'errno') {
      if (typeof r.errno !== 'string' || !/^E[A-Z0-9]+$/.test(r.errno))
        failR(`must be an errno name such as "EINVAL", got ${describe(r.errno)}`, '.errno');
      return { ok: false, errno: r.errno as string };
    }
    if (keys === 'page,signal') {
      if (typeof r.signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(r.signal))
        failR(`must be a signal name such as "SIGSEGV", got ${describe(r.signal)}`, '.signal');
      if (!pageOk(r.page, false)) failR(`must be an integer, got ${describe(r.page)}`, '.page');
      return { ok: false, signal: r.signal as string, page: r.page as number };
    }
    return failR('a failed result is {ok:false, errno} or {ok:false, signal, page}');
  }
}
