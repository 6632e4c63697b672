/**
 * One differential run: the simulator and the real kernel on the same scenario, and a
 * short "signature" naming the kind of divergence, stable under shrinking (no step
 * indices, no page numbers).
 */
import { diffObservations, formatDivergence, type Divergence, type Observation, type Scenario, type StepResult } from '@mmsim/scenario';
import { hostKernelConfig, runOnKernel } from '@mmsim/kernel-oracle';
import { type KernelConfig } from '@mmsim/linux';
import { runScenario } from '@mmsim/runner';

export type Outcome =
  | { kind: 'agree'; sim: Observation; kernel: Observation }
  | { kind: 'mismatch'; signature: string; divergence: Divergence; message: string; sim: Observation; kernel: Observation }
  | { kind: 'crash'; signature: string; message: string; error: unknown; kernel?: Observation }
  | { kind: 'oracle-error'; signature: string; message: string; error: unknown }
  /** the kernel gave two different observations for the same scenario */
  | { kind: 'kernel-flaky'; signature: string; message: string; sim: Observation; kernel: Observation };

export interface SimResult {
  observation?: Observation;
  error?: unknown;
}

/** A simulator step that took longer than the limit (a hang-like performance bug). */
export class SlowStepError extends Error {
  override name = 'SlowStepError';
  constructor(
    readonly step: number,
    readonly op: string,
    readonly ms: number,
  ) {
    super(`step ${step} (${op}): slow: the simulator took ${ms} ms of CPU time for one step`);
  }
}

/** Default limit for one simulator step. */
export const SLOW_STEP_MS = 3000;

/** CPU time this process has used, in ms: unlike the wall clock, other processes on a loaded machine do not add to it. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Runs the simulator, turning exceptions into values. A step that takes longer than
 * `slowStepMs` of CPU time is reported as an error too (the run stops at the next step
 * boundary; CPU, not wall time: a step is not slow because the machine is busy).
 * The simulated kernel is configured as this machine's (hostKernelConfig: THP mode,
 * zero page), so that its observations can equal the kernel's.
 */
export function simulate(s: Scenario, slowStepMs = SLOW_STEP_MS, config: Partial<KernelConfig> = hostKernelConfig()): SimResult {
  let cur = -1;
  let t = 0;
  const check = () => {
    const ms = Math.round(cpuMs() - t);
    if (cur >= 0 && ms > slowStepMs) throw new SlowStepError(cur, s.steps[cur].op, ms);
  };
  try {
    const { observation } = runScenario(s, {
      config,
      onStep: (i) => {
        check();
        cur = i;
        t = cpuMs();
      },
    });
    check();
    return { observation };
  } catch (error) {
    return { error };
  }
}

function resultClass(r: StepResult | undefined): string {
  if (!r) return 'none';
  if (r.ok) return 'ok';
  return 'errno' in r ? r.errno : r.signal;
}

function valueClass(path: string, v: unknown): string {
  if (v === undefined) return 'none';
  if (v === null) return 'null';
  if (/\.frame$/.test(path)) return v === 'zero' ? 'zero' : 'frame';
  if (typeof v === 'boolean' || /\.(compound|perms)$/.test(path)) return String(v);
  if (typeof v === 'object') return Array.isArray(v) ? 'list' : 'entry';
  return '';
}

/** The kind of a divergence: op and result classes of a step, or the snapshot field path class. */
export function divergenceSignature(d: Divergence): string {
  if (d.where === 'step') {
    const op = (d.a ?? d.b)?.op ?? '?';
    let sig = `step:${op}:${resultClass(d.a?.result)}/${resultClass(d.b?.result)}`;
    if (d.a?.result.ok && d.b?.result.ok) {
      const pa = 'page' in d.a.result ? d.a.result.page : undefined;
      const pb = 'page' in d.b.result ? d.b.result.page : undefined;
      sig += `:page ${pa === null ? 'null' : 'arena'}/${pb === null ? 'null' : 'arena'}`;
    }
    return sig;
  }
  const path = d.path.replace(/\[\d+\]/g, '');
  const a = valueClass(d.path, d.a);
  const b = valueClass(d.path, d.b);
  return `snapshot:${path}${a || b ? `:${a}/${b}` : ''}`;
}

export function crashSignature(s: Scenario, error: unknown): string {
  const e = error as { step?: number; op?: string; message?: string };
  const op = e?.op ?? (typeof e?.step === 'number' ? s.steps[e.step]?.op : undefined) ?? '?';
  const msg = String(e?.message ?? error)
    .replace(/^step \d+ \([a-z]+\): /, '')
    .replace(/^slow: .*/, 'slow step')
    .replace(/\d+/g, 'N')
    .split('\n')[0]
    .slice(0, 100);
  return `crash:${op}:${msg}`;
}

export interface CompareOptions {
  timeoutMs?: number;
  /** replaces runOnKernel (tests) */
  kernel?: (s: Scenario) => Promise<Observation>;
  /** replaces the simulator (tests) */
  sim?: (s: Scenario) => SimResult;
  /** runs of the kernel after an oracle failure or timeout (default 1): a loaded machine can stall a run */
  retries?: number;
  /** on a mismatch, run the kernel again: a different kernel observation means kernel nondeterminism (default false) */
  recheck?: boolean;
}

/** Simulator vs kernel on one scenario. The kernel runs while the simulator computes. */
export async function compareOnce(s: Scenario, opts: CompareOptions = {}): Promise<Outcome> {
  const kernel = opts.kernel ?? ((x: Scenario) => runOnKernel(x, { timeoutMs: opts.timeoutMs ?? 20000 }));
  const once = () =>
    kernel(s).then(
      (o) => ({ o, e: undefined as unknown }),
      (e: unknown) => ({ o: undefined, e }),
    );
  const kp = once();
  const sim = (opts.sim ?? simulate)(s);
  let k = await kp;
  for (let r = opts.retries ?? 1; !k.o && r > 0; r--) k = await once();
  if (!k.o) {
    const err = k.e as Error & { stderr?: string };
    const message = (err?.message ?? String(k.e)) + (err?.stderr ? `\n${err.stderr}` : '');
    return { kind: 'oracle-error', signature: `oracle:${message.split('\n')[0].replace(/scenario "[^"]*"/g, 'scenario').replace(/\d+/g, 'N').slice(0, 80)}`, message, error: k.e };
  }
  if (!sim.observation) {
    const message = (sim.error as Error)?.stack ?? String(sim.error);
    return { kind: 'crash', signature: crashSignature(s, sim.error), message, error: sim.error, kernel: k.o };
  }
  const d = diffObservations(sim.observation, k.o);
  if (!d) return { kind: 'agree', sim: sim.observation, kernel: k.o };
  if (opts.recheck) {
    const k2 = await once();
    const dk = k2.o ? diffObservations(k.o, k2.o) : null;
    if (k2.o && dk)
      return {
        kind: 'kernel-flaky',
        signature: `flaky:${divergenceSignature(dk)}`,
        message: formatDivergence(dk, 'kernel run 1', 'kernel run 2'),
        sim: sim.observation,
        kernel: k.o,
      };
  }
  return {
    kind: 'mismatch',
    signature: divergenceSignature(d),
    divergence: d,
    message: formatDivergence(d, 'simulator', 'kernel'),
    sim: sim.observation,
    kernel: k.o,
  };
}
