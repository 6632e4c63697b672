/**
 * The interleaving explorer: every schedule of a scenario's concurrent steps, each run
 * under every checker, restarted from the immutable state just before the first
 * concurrent step (the prefix runs once).
 *
 *  - dfs: every schedule with at most `bound` preemptions, fewest first (iterative
 *    context bounding, as CHESS): work items are queued by their preemption count and
 *    level k is done before level k + 1. A sleep-set partial-order reduction skips
 *    schedules that differ from an explored one only in the order of independent
 *    segments (footprint.ts). `complete` when the bounded space is exhausted.
 *  - pct: probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010), depth
 *    bound + 1: random task priorities, `bound` priority change points.
 *  - random: a uniformly random runnable task at every point (the baseline).
 *
 * A deadlock, a model error, a checker's violation and an rmap walk that missed a
 * mapping are violations; each comes with its schedule shrunk to the fewest deviations
 * from the default policy that still show it.
 */
import { ABORT, PluginError, isInstance, prng, type Engine } from '@mmsim/core';
import type { Scenario } from '@mmsim/scenario';
import { ScheduleError, defaultChoice, driverOf, formatSchedule, replayDriver, taskResultViolations, type Deviations, type ScheduleDriver } from './concurrent.js';
import { Footprint, footprintHook, independent } from './footprint.js';
import { rootCause } from './findings.js';
import { ScenarioRun, StepFailedError, type RunOptions } from './run.js';
import { PointKeys } from './state-key.js';

export const EXPLORE_FORMAT = 'mmsim-explore/1' as const;
export const STRATEGIES = ['dfs', 'pct', 'random'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** One violation a checker reported on a schedule. */
export interface CheckerFinding {
  checker: string;
  message: string;
}

/** Checkers attached to the engine for one schedule (see attachScheduleCheckers in the CLI). */
export interface ScheduleCheckers {
  violations(): CheckerFinding[];
  /** forget what was found so far: attached once, the checkers serve every schedule */
  clear(): void;
  detach(): void;
}

export interface ExploreOptions {
  strategy?: Strategy;
  /** dfs: most preemptions; pct: change points (depth - 1). Default 2. */
  bound?: number;
  /** most schedules to run (pct and random: how many; dfs: stop early). Default 1000 for pct/random, unlimited for dfs. */
  budget?: number;
  seed?: number;
  /** this shard's part of the work: index in [0, count) */
  shard?: { index: number; count: number };
  /** plugins and kernel configuration, as for runScenario */
  run?: Pick<RunOptions, 'plugins' | 'config'>;
  /** attach the checkers for one schedule (the engine is at the restart point) */
  checkers?: (eng: Engine) => ScheduleCheckers;
  /** dfs: the partial-order reduction (default true; false explores every bounded schedule) */
  por?: boolean;
  /** dfs: cut a run that reaches a point already explored with as much budget left (default true) */
  cache?: boolean;
  /** report only the checkers this accepts (default: all); the others are not looked at */
  report?: (checker: string) => boolean;
  /** called after every schedule: schedules run, and what is known of the total */
  onProgress?: (done: number, total: number) => void;
  /** asked before every schedule: true stops the exploration there (a signal), the result then not complete */
  interrupt?: () => boolean;
}

export interface ExploreViolation {
  /** the shortest schedule found that shows this very violation (same checker, object, rule) */
  schedule: string;
  checker: string;
  message: string;
  preemptions: number;
  /** schedules (explored, not shrinking runs) that showed this root cause */
  count: number;
}

export interface ExploreResult {
  format: typeof EXPLORE_FORMAT;
  scenario: string;
  strategy: Strategy;
  bound: number;
  seed: number;
  schedules: number;
  /** runs cut short by the partial-order reduction (equivalent to one explored) */
  pruned: number;
  /** runs cut short at a point (state and every task's state) explored before */
  cached: number;
  complete: boolean;
  distinctFinalStates: number;
  violations: ExploreViolation[];
  /**
   * schedules run when the first violation showed (1-based), null if none. Merged
   * shards run side by side: the schedules all of them had run when the first shard
   * to find one found it (each shard counted up to that shard's count).
   */
  firstViolationAfter: number | null;
  schedulesPerSec: number;
  elapsedMs: number;
  shard?: { index: number; count: number };
  /** with a shard: the final states' keys, so that `mmsim merge` can count distinct ones */
  finalStates?: string[];
  /** how to run a schedule again (set by the CLI): the scenario's real path, the `mmsim run` options */
  reproduce?: { file: string; options: string[] };
}

/** What one schedule showed. */
interface Outcome {
  aborted: boolean;
  /** cut at a visited point: findings so far, no final state */
  cached: boolean;
  findings: CheckerFinding[];
  finalKey: string;
  deviations: Deviations;
  preemptions: number;
}

/** One decision of a dfs run: what could run (a bit per task), what ran, what it touched. */
interface Node {
  runnable: number;
  current: number;
  chosen: number;
  cost: number;
  sleep: Map<number, Footprint>;
  fp: Footprint;
}

/** The footprint of a run without the reduction (never filled: nothing reads it then). */
const NO_FOOTPRINT: Footprint = new Footprint();
/** An empty sleep set, shared (sleep sets are copied before they are added to) */
const NO_SLEEP = new Map<number, Footprint>();

/** The runnable tasks as a bit mask (at most 8 tasks; ascending order is bit order). */
function maskOf(runnable: readonly number[]): number {
  let m = 0;
  for (let i = 0; i < runnable.length; i++) m |= 1 << runnable[i];
  return m;
}

interface Item {
  prefix: number[];
  cost: number;
  sleep: Map<number, Footprint>;
  owner: number;
}

/** The scenario prepared for exploration: run up to its first concurrent step, marked. */
export class Explorer {
  private readonly run: ScenarioRun;
  private readonly mark;
  private readonly steps: number;
  /** violations of the prefix (before any concurrent step), found once */
  readonly prefixFindings: CheckerFinding[] = [];

  constructor(
    readonly scenario: Scenario,
    private readonly opts: ExploreOptions = {},
  ) {
    const first = scenario.steps.findIndex((st) => st.op === 'concurrent');
    if (first < 0) throw new ScheduleError(`scenario ${scenario.name} has no concurrent step: there is nothing to explore`);
    this.steps = scenario.steps.length;
    this.run = new ScenarioRun(scenario, { ...(opts.run ?? {}) });
    const h = opts.checkers?.(this.run.eng);
    this.run.runUntil(first);
    if (h) {
      this.prefixFindings.push(...h.violations());
      h.detach();
    }
    this.mark = this.run.mark();
    // attached once: every restore() rebuilds their shadows from the marked state
    this.checkers = opts.checkers?.(this.run.eng) ?? null;
  }

  private readonly checkers: ScheduleCheckers | null;

  /**
   * Run the scenario's rest once under `driver`, every checker attached. With `touch`,
   * the footprints are recorded (`touch` gets the function that hands over the
   * segment's and starts the next); with `points`, the values that key visited points.
   */
  execute(driver: ScheduleDriver, touch?: (fp: () => Footprint) => void, points?: PointKeys): Outcome {
    const run = this.run;
    run.restore(this.mark);
    run.driver = driver;
    const h = this.checkers;
    h?.clear();
    let cur: Footprint = new Footprint();
    if (touch) {
      const hook = footprintHook(run.eng, () => cur, points);
      points?.reset(hook);
      run.eng.setTouchHook(hook);
      touch(() => {
        const done = cur;
        cur = new Footprint();
        return done;
      });
    }
    let failed: CheckerFinding | null = null;
    try {
      run.runUntil(this.steps);
    } catch (e) {
      if (e instanceof ScheduleError) throw e;
      // a plugin that throws is the plugin's failure, as in `mmsim run` (the CLI's exit 4),
      // not a finding about the kernel
      if (isInstance(e, PluginError) || (isInstance(e, StepFailedError) && isInstance(e.cause, PluginError))) throw e;
      // a step after the concurrent one failed (its syscall rolled back: a model error,
      // a plugin's throw on the state the race left): a violation of this schedule, not
      // the end of the exploration
      failed = { checker: 'error', message: e instanceof Error ? e.message : String(e) };
    } finally {
      run.eng.setTouchHook(null);
    }
    const findings: CheckerFinding[] = [];
    let finalKey = '';
    const cached = run.aborted && points?.hit === true;
    // a run cut at a visited point: what the checkers saw on its way there counts
    if (cached && h) findings.push(...h.violations());
    if (!run.aborted) {
      if (h) findings.push(...h.violations());
      findings.push(...taskResultViolations(run.steps, this.scenario));
      if (run.stopped) findings.push({ checker: run.stopped.reason, message: run.stopped.message });
      try {
        finalKey = JSON.stringify([run.finalProcs(), run.steps.filter((e) => e.tasks).map((e) => e.tasks)]);
      } catch (e) {
        // the final state cannot even be observed (a PTE mapping a freed folio): the
        // schedule's violation, and a final state of its own
        failed ??= { checker: 'error', message: `final state: ${e instanceof Error ? e.message : String(e)}` };
        finalKey = `error: ${failed.message}`;
      }
      if (failed) findings.push(failed);
    }
    return { aborted: run.aborted, cached, findings, finalKey, deviations: driver.deviations.slice(), preemptions: driver.preemptions };
  }

  /** Does replaying `dev` show the very violation of root cause `cause` (same checker, object, rule)? */
  private reproduces(dev: Deviations, cause: string): boolean {
    try {
      return this.execute(replayDriver(dev)).findings.some((f) => rootCause(f) === cause);
    } catch (e) {
      if (e instanceof ScheduleError) return false;
      throw e;
    }
  }

  /** Drop deviations one by one while the violation (its root cause) still shows: the short schedule. */
  shrink(dev: Deviations, finding: CheckerFinding): { deviations: Deviations; preemptions: number } {
    const cause = rootCause(finding);
    let cur = dev.slice();
    for (let pass = 0; pass < 3; pass++) {
      let changed = false;
      for (let j = cur.length - 1; j >= 0; j--) {
        const cand = cur.filter((_, x) => x !== j);
        if (this.reproduces(cand, cause)) {
          cur = cand;
          changed = true;
        }
      }
      if (!changed) break;
    }
    const d = replayDriver(cur);
    this.execute(d);
    return { deviations: cur, preemptions: d.preemptions };
  }

  /** Explore as the options say. */
  explore(): ExploreResult {
    const o = this.opts;
    const strategy = o.strategy ?? 'dfs';
    const bound = o.bound ?? 2;
    const seed = o.seed ?? 0;
    const shard = o.shard ?? { index: 0, count: 1 };
    const budget = o.budget ?? (strategy === 'dfs' ? Number.POSITIVE_INFINITY : 1000);
    const t0 = performance.now();
    const finals = new Set<string>();
    const found = new Map<string, ExploreViolation>();
    let schedules = 0;
    let pruned = 0;
    let cached = 0;
    let firstViolationAfter: number | null = null;
    let shrinkMs = 0;
    const report = o.report ?? (() => true);
    for (const f of this.prefixFindings.filter((x) => report(x.checker))) {
      const key = rootCause(f);
      const old = found.get(key);
      if (old) old.count++;
      else found.set(key, { schedule: '', checker: f.checker, message: f.message, preemptions: 0, count: 1 });
    }
    const record = (out: Outcome): void => {
      if (!out.cached) {
        schedules++;
        finals.add(out.finalKey);
      }
      // one root cause counts once per schedule, however often its message repeats
      const seen = new Set<string>();
      for (const f of out.findings) {
        if (!report(f.checker)) continue;
        const key = rootCause(f);
        if (seen.has(key)) continue;
        seen.add(key);
        const old = found.get(key);
        if (old) old.count++;
        // a run cut at a visited point is no schedule, but it is the run that showed it
        else firstViolationAfter ??= schedules + (out.cached ? 1 : 0);
        // shrink a new root cause, or a repeat whose schedule deviates less than the kept one
        if (old && out.deviations.length >= deviationsOf(old.schedule)) continue;
        const t = performance.now();
        const s = this.shrink(out.deviations, f);
        shrinkMs += performance.now() - t;
        if (old && (s.deviations.length > deviationsOf(old.schedule) || (s.deviations.length === deviationsOf(old.schedule) && s.preemptions >= old.preemptions))) continue;
        found.set(key, { schedule: formatSchedule(s.deviations), checker: f.checker, message: f.message, preemptions: s.preemptions, count: old ? old.count : 1 });
      }
    };
    let complete = true;
    if (strategy === 'dfs') {
      complete = this.dfs(bound, budget, shard, record, (hit) => (hit ? cached++ : pruned++), () => schedules);
    } else {
      const depthEstimate = Math.max(1, this.defaultDecisions());
      for (let r = 0; r < budget; r++) {
        if (r % shard.count !== shard.index) continue;
        if (o.interrupt?.()) break;
        const d = strategy === 'random' ? randomDriver(seed + r) : pctDriver(seed + r, bound, depthEstimate);
        record(this.execute(d));
        o.onProgress?.(schedules, Math.ceil(budget / shard.count));
      }
      complete = false;
    }
    const elapsedMs = performance.now() - t0;
    const violations = [...found.values()].sort((a, b) => a.checker.localeCompare(b.checker) || a.message.localeCompare(b.message));
    const res: ExploreResult = {
      format: EXPLORE_FORMAT,
      scenario: this.scenario.name,
      strategy,
      bound,
      seed,
      schedules,
      pruned,
      cached,
      complete,
      distinctFinalStates: finals.size,
      violations,
      firstViolationAfter,
      // exploring, not shrinking: the rate of schedules run
      schedulesPerSec: elapsedMs - shrinkMs > 0 ? Math.round((schedules / (elapsedMs - shrinkMs)) * 1000) : 0,
      elapsedMs: Math.round(elapsedMs),
    };
    if (o.shard) {
      res.shard = o.shard;
      res.finalStates = [...finals].sort();
    }
    return res;
  }

  /** Decisions of the default schedule (for pct's change points). */
  private defaultDecisions(): number {
    const d = replayDriver([]);
    this.execute(d);
    return d.decision;
  }

  /**
   * Bounded dfs with sleep sets. Each run replays its item's prefix, then goes on with
   * the default policy (skipping sleeping tasks); every decision after the prefix is a
   * node whose other runnable tasks become items, queued by preemptions.
   */
  private dfs(
    bound: number,
    budget: number,
    shard: { index: number; count: number },
    record: (o: Outcome) => void,
    onPruned: (cached: boolean) => void,
    done: () => number,
  ): boolean {
    const por = this.opts.por !== false;
    const points = this.opts.cache !== false ? new PointKeys(this.run.eng) : null;
    /** visited points: the preemptions spent and the sleeping tasks (a mask) of each visit */
    const visited = new Map<string, { cost: number; sleep: number }[]>();
    const queues: Item[][] = Array.from({ length: bound + 1 }, () => []);
    queues[0].push({ prefix: [], cost: 0, sleep: new Map(), owner: -1 });
    let rootAlternatives = 0;
    for (let level = 0; level <= bound; level++) {
      const q = queues[level];
      while (q.length) {
        if (done() >= budget || this.opts.interrupt?.()) return false;
        const item = q.pop()!;
        const nodes: Node[] = [];
        const L = item.prefix.length;
        let takeFp: () => Footprint = () => NO_FOOTPRINT;
        let cost = item.cost;
        let sleep = item.sleep;
        let last: Node | null = null;
        /** the item's last prefix decision: the switch that made this branch */
        let branch: Node | null = null;
        let step = 0;
        const driver = driverOf((runnable, current, d) => {
          const fp = takeFp();
          points?.segmentEnd();
          if (last) last.fp = fp;
          if (d < L) {
            if (d === L - 1) last = branch = { runnable: 0, current, chosen: item.prefix[d], cost, sleep: NO_SLEEP, fp: NO_FOOTPRINT };
            return item.prefix[d];
          }
          // the sleep set here: what slept before and commutes with what just ran; a
          // context switch after the branch wakes every sleeper (bounded sleep sets)
          if (last && sleep.size && last !== branch && last.chosen !== last.current) sleep = NO_SLEEP;
          if (last && sleep.size) {
            const next = new Map<number, Footprint>();
            for (const [t, f] of sleep) if (t !== last.chosen && independent(f, last.fp)) next.set(t, f);
            sleep = next.size ? next : NO_SLEEP;
          }
          const mask = maskOf(runnable);
          if (points && seenBefore(visited, points.key(mask, current, step), cost, sleep)) {
            points.hit = true;
            return ABORT;
          }
          const awake = sleep.size ? runnable.filter((t) => !sleep.has(t)) : runnable;
          if (!awake.length) return ABORT;
          const c = defaultChoice(awake, current);
          const preempt = current >= 0 && c !== current && (mask & (1 << current)) !== 0;
          if (preempt && cost + 1 > bound) return ABORT;
          const node: Node = { runnable: mask, current, chosen: c, cost, sleep, fp: NO_FOOTPRINT };
          if (preempt) cost++;
          nodes.push(node);
          last = node;
          return c;
        }, () => step++);
        // footprints feed the reduction and the point keys: without both no hook is installed
        const out = por || points ? this.execute(driver, (take) => (takeFp = take), points ?? undefined) : this.execute(driver);
        if (last) {
          const fp = takeFp();
          // the segment that stopped the run (a deadlock, a model error) commutes with
          // nothing: running another task first lets that task finish, a different final
          // state (so its alternatives must not sleep on it)
          if (this.run.stopped && por) fp.w.add('*');
          (last as Node).fp = fp;
        }
        const mine = item.owner < 0 ? shard.index === 0 : item.owner % shard.count === shard.index;
        if (out.aborted) onPruned(out.cached);
        if ((!out.aborted || out.cached) && mine) record(out);
        this.opts.onProgress?.(done(), done() + queues.reduce((n, x) => n + x.length, 0));
        // the alternatives at every node this run decided
        nodes.forEach((n, k) => {
          const d = L + k;
          for (let t = 0, m = n.runnable; m !== 0; t++, m >>>= 1) {
            if ((m & 1) === 0 || t === n.chosen) continue;
            const c = n.cost + (n.current >= 0 && t !== n.current && (n.runnable & (1 << n.current)) !== 0 ? 1 : 0);
            if (c > bound || n.sleep.has(t)) continue;
            const owner = item.owner < 0 ? rootAlternatives++ : item.owner;
            if (owner % shard.count === shard.index) {
              const sl = sleepFor(n, t, por);
              const prefix = choicesUpTo(nodes, item.prefix, d);
              prefix.push(t);
              queues[c].push({ prefix, cost: c, sleep: sl, owner });
            }
          }
        });
      }
    }
    return true;
  }
}

/** How many deviations a schedule string has. */
function deviationsOf(schedule: string): number {
  return schedule === '' ? 0 : schedule.split(',').length;
}

/**
 * The sleep set of the alternative t at node n. Sleep sets alone are unsound under a
 * preemption bound: the explored schedule a pruned one is equivalent to may cost more
 * preemptions than the bound allows (reclaim-list-vs-relocate lost 3 of 14 final states
 * at bound 2). Moving a sleeping task's segment back to where it slept costs no more
 * preemptions when (a) it was the running task's own continuation there (n.chosen is
 * n.current: the alternative t preempts it, the equivalent preempts t back), and (b)
 * no other context switch happens while it sleeps (the driver wakes every sleeper at
 * the next switch). So only the continuation sleeps, and only in a branch that
 * switches away from it; sleepers inherited from earlier branches survive only where
 * t continues the running task.
 */
function sleepFor(n: Node, t: number, por: boolean): Map<number, Footprint> {
  const sl = t === n.current ? new Map(n.sleep) : new Map<number, Footprint>();
  if (por && n.chosen === n.current && t !== n.current) sl.set(n.chosen, n.fp);
  return sl;
}

/**
 * Was this point explored before with no fewer preemptions left and no task asleep
 * that sleeps not here? Then everything from here was (or is queued to be) explored
 * from there. Otherwise the visit is remembered. A null key (unkeyable) is never seen.
 */
function seenBefore(visited: Map<string, { cost: number; sleep: number }[]>, key: string | null, cost: number, sleep: ReadonlyMap<number, Footprint>): boolean {
  if (key === null) return false;
  let mask = 0;
  for (const t of sleep.keys()) mask |= 1 << t;
  const old = visited.get(key);
  if (old) {
    for (const v of old) if (v.cost <= cost && (v.sleep & ~mask) === 0) return true;
    old.push({ cost, sleep: mask });
  } else visited.set(key, [{ cost, sleep: mask }]);
  return false;
}

/** The choices of decisions [0, d): the item's prefix, then what the run chose. */
function choicesUpTo(nodes: readonly Node[], prefix: readonly number[], d: number): number[] {
  const out = prefix.slice(0, d);
  for (let k = 0; out.length < d; k++) out.push(nodes[k].chosen);
  return out;
}

/** random: uniform among runnable tasks at every decision. */
function randomDriver(seed: number): ScheduleDriver {
  const rnd = prng(seed);
  return driverOf((runnable) => runnable[Math.floor(rnd() * runnable.length)]);
}

/**
 * PCT with depth bound + 1: each concurrent step's tasks get distinct random
 * priorities above `bound`; at `bound` random decisions (of about `k`) the running task
 * drops to priority i; the runnable task with the highest priority runs.
 */
function pctDriver(seed: number, bound: number, k: number): ScheduleDriver {
  const rnd = prng(seed * 7919 + 17);
  let prio: number[] = [];
  const change = new Map<number, number>();
  for (let i = 0; i < bound; i++) change.set(Math.floor(rnd() * k), bound - i);
  return driverOf(
    (runnable, current, d) => {
      const low = change.get(d);
      if (low !== undefined && current >= 0) prio[current] = low;
      let best = runnable[0];
      for (const t of runnable) if (prio[t] > prio[best]) best = t;
      return best;
    },
    (n) => {
      const order = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      prio = order.map((x) => x + bound + 1);
    },
  );
}

/** Combine shard results of one exploration (`mmsim merge`). */
export function mergeResults(parts: readonly ExploreResult[]): ExploreResult {
  if (!parts.length) throw new Error('nothing to merge');
  const a = parts[0];
  for (const p of parts) {
    if (p.format !== EXPLORE_FORMAT) throw new Error(`not an ${EXPLORE_FORMAT} result (format ${JSON.stringify(p.format)})`);
    if (p.scenario !== a.scenario || p.strategy !== a.strategy || p.bound !== a.bound || p.seed !== a.seed) {
      throw new Error(`results of different explorations: ${a.scenario}/${a.strategy}/bound ${a.bound}/seed ${a.seed} and ${p.scenario}/${p.strategy}/bound ${p.bound}/seed ${p.seed}`);
    }
    if (!p.shard || !p.finalStates) throw new Error('a result without "shard" and "finalStates": run explore with --shard I/N');
  }
  const count = a.shard!.count;
  const seen = new Set(parts.map((p) => p.shard!.index));
  if (parts.some((p) => p.shard!.count !== count)) throw new Error('shards of different --shard counts');
  if (seen.size !== parts.length) throw new Error('the same shard twice');
  const repro = JSON.stringify(a.reproduce ?? null);
  const other = parts.find((p) => JSON.stringify(p.reproduce ?? null) !== repro);
  if (other) throw new Error(`results of explorations run differently: ${repro} and ${JSON.stringify(other.reproduce ?? null)}`);
  const finals = new Set(parts.flatMap((p) => p.finalStates!));
  const vio = new Map<string, ExploreViolation>();
  for (const p of parts) {
    for (const v of p.violations) {
      const key = rootCause(v);
      const old = vio.get(key);
      const count = (old?.count ?? 0) + (v.count ?? 1);
      if (!old || shorterSchedule(v, old)) vio.set(key, { ...v, count });
      else old.count = count;
    }
  }
  const schedules = parts.reduce((n, p) => n + p.schedules, 0);
  const elapsedMs = Math.max(...parts.map((p) => p.elapsedMs));
  const out: ExploreResult = {
    format: EXPLORE_FORMAT,
    scenario: a.scenario,
    strategy: a.strategy,
    bound: a.bound,
    seed: a.seed,
    schedules,
    pruned: parts.reduce((n, p) => n + p.pruned, 0),
    cached: parts.reduce((n, p) => n + (p.cached ?? 0), 0),
    complete: seen.size === count && parts.every((p) => p.complete),
    distinctFinalStates: finals.size,
    violations: [...vio.values()].sort((x, y) => x.checker.localeCompare(y.checker) || x.message.localeCompare(y.message)),
    firstViolationAfter: firstViolationOverShards(parts),
    schedulesPerSec: parts.reduce((n, p) => n + p.schedulesPerSec, 0),
    elapsedMs,
    shard: { index: -1, count },
    finalStates: [...finals].sort(),
  };
  if (a.reproduce) out.reproduce = a.reproduce;
  return out;
}

/** Is v's schedule the shorter one: fewer preemptions, then fewer deviations, then the first in order? */
function shorterSchedule(v: ExploreViolation, old: ExploreViolation): boolean {
  if (v.preemptions !== old.preemptions) return v.preemptions < old.preemptions;
  const n = (s: string) => (s === '' ? 0 : s.split(',').length);
  if (n(v.schedule) !== n(old.schedule)) return n(v.schedule) < n(old.schedule);
  return v.schedule < old.schedule;
}

/**
 * firstViolationAfter of shards run side by side: for the shard that found one first
 * (its own count f), every shard had run min(its schedules, f); the least such sum.
 */
function firstViolationOverShards(parts: readonly ExploreResult[]): number | null {
  let best: number | null = null;
  for (const p of parts) {
    const f = p.firstViolationAfter;
    if (f === null) continue;
    const total = parts.reduce((n, q) => n + Math.min(q.schedules, f), 0);
    if (best === null || total < best) best = total;
  }
  return best;
}
