/**
 * @mmsim/invariants: incremental invariant checkers over mmsim's event stream.
 * Explicit named exports only.
 */
import { ENGINE_SUBSCRIBER, LogReplayer, definePlugin, type Engine, type EventLog, type Plugin } from '@mmsim/core';
import { InvariantChecker } from './checker.js';
import { ExtraCheckers, checkersProvided, mergeViolations, toExtraCheckers, type CheckerDefinition, type ExtraChecker } from './extension.js';
import { ALL_CHECKERS, type CheckerName, type CheckerOptions, type Violation } from './types.js';

export { InvariantViolationError, ALL_CHECKERS } from './types.js';
export type { CheckerName, CheckerOptions, Violation } from './types.js';
export { InvariantChecker } from './checker.js';
export { rmapWalk } from './walk.js';
export type { RmapWalkResult } from './walk.js';
export { CHECKER, checkersFromPlugins, checkersProvided } from './extension.js';
export type { CheckerContext, CheckerDefinition, CheckerInstance, ExtraChecker } from './extension.js';
export { groupViolations, formatViolationGroup } from './group.js';
export type { ViolationGroup } from './group.js';

/** Options of attachCheckers and checkLog: the built-ins' options and the extra checkers. */
export interface RunCheckersOptions extends CheckerOptions {
  /** more checkers: definitions (named after themselves) or { checker, plugin } */
  extra?: readonly (CheckerDefinition | ExtraChecker)[];
}

/** Split `checkers` into built-in names and the extra checkers it selects. */
function selectCheckers(opts: RunCheckersOptions, provided: ExtraChecker[]): { builtin: CheckerName[]; extra: ExtraChecker[] } {
  const extra = [...provided, ...toExtraCheckers(opts.extra)];
  if (!opts.checkers) return { builtin: [...ALL_CHECKERS], extra };
  const names = new Set(opts.checkers);
  const known = [...ALL_CHECKERS, ...extra.map((x) => x.checker.name)];
  const unknown = [...names].filter((n) => !known.includes(n));
  if (unknown.length) throw new Error(`unknown checker${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${known.join(', ')})`);
  return { builtin: ALL_CHECKERS.filter((c) => names.has(c)), extra: extra.filter((x) => names.has(x.checker.name)) };
}

export interface CheckerHandle {
  /** violations so far (events outside any span are checked first) */
  violations(): Violation[];
  /** violations found, including any past maxViolations */
  count(): number;
  /** forget the violations so far (the explorer, between schedules) */
  clear(): void;
  detach(): void;
}

/**
 * Check every event the engine applies from now on. The current state is the starting
 * point (its shadows are built once from engine.s).
 */
export function attachCheckers(engine: Engine, opts: RunCheckersOptions = {}): CheckerHandle {
  const sel = selectCheckers(opts, checkersProvided(engine.plugins));
  const chk = new InvariantChecker(() => engine.s, { ...opts, checkers: sel.builtin }, () => engine.commit(), {
    pageFolio: (pfn) => engine.pageFolio(pfn),
    lock: (name) => engine.lockState(name),
  });
  const more = new ExtraCheckers(sel.extra, () => engine.s, opts.mode === 'strict', opts.maxViolations);
  const offRaw = more.size
    ? engine.onRaw((r) => {
        chk.onEvent(r);
        try {
          more.onEvent(r);
        } catch (e) {
          chk.abortSyscall();
          throw e;
        }
      })
    : engine.onRaw((r) => chk.onEvent(r));
  const offRb = engine.onRollback((seq) => {
    chk.onRollback(seq);
    more.onRollback(seq);
  });
  return {
    violations() {
      chk.flush(engine.log.length - 1, false);
      more.end(engine.log.length - 1, false);
      return mergeViolations(chk.violations, more.violations);
    },
    count: () => chk.found + more.found,
    clear() {
      chk.flush(engine.log.length - 1, false);
      chk.violations.length = 0;
      chk.found = 0;
      more.end(engine.log.length - 1, false);
      more.violations.length = 0;
      more.found = 0;
    },
    detach() {
      offRaw();
      offRb();
    },
  };
}

/** Options of checkLog and LogChecker. */
export interface CheckLogOptions extends RunCheckersOptions {
  /** events a replay batch holds (default 65536) */
  batchEvents?: number;
}

/**
 * The checkers over a log, resumable: step() checks some events at a time (the
 * debugger's worker answers views between slices), checkLog all of them at once.
 */
export class LogChecker {
  private readonly rp: LogReplayer;
  private readonly chk: InvariantChecker;
  private readonly more: ExtraCheckers | null;
  /** events checked so far */
  done = 0;
  finished = false;

  constructor(
    readonly log: EventLog,
    opts: CheckLogOptions = {},
  ) {
    const sel = selectCheckers(opts, []);
    const rp = (this.rp = new LogReplayer(log, { batchEvents: opts.batchEvents }));
    this.chk = new InvariantChecker(() => rp.state, { ...opts, checkers: sel.builtin }, () => rp.commit(), {
      pageFolio: (pfn) => rp.pageFolio(pfn),
      lock: (name) => rp.lock(name),
    });
    this.more = sel.extra.length ? new ExtraCheckers(sel.extra, () => rp.state, opts.mode === 'strict', opts.maxViolations) : null;
  }

  /**
   * Check up to `events` more events, stopping early once `budgetMs` has passed; true
   * once the whole log is checked. Strict mode throws at the first violation.
   */
  step(events = Infinity, budgetMs = Infinity): boolean {
    if (this.finished) return true;
    const { rp, chk, more } = this;
    const t0 = budgetMs === Infinity ? 0 : performance.now();
    for (let i = 0; i < events; i++) {
      if ((i & 255) === 255 && budgetMs !== Infinity && performance.now() - t0 > budgetMs) return false;
      if (!rp.next()) {
        rp.commit();
        chk.flush(this.log.length - 1, true);
        more?.end(this.log.length - 1, true);
        this.finished = true;
        return true;
      }
      chk.onEvent(rp.event);
      more?.onEvent(rp.event);
      this.done++;
    }
    return false;
  }

  /** violations so far: built-in and extra, in the order of their events */
  violations(): Violation[] {
    return mergeViolations(this.chk.violations, this.more?.violations ?? []);
  }

  /** violations found, including any past maxViolations */
  count(): number {
    return this.chk.found + (this.more?.found ?? 0);
  }
}

/** Replay a log through the checkers (for `mmsim check LOG`). Strict mode throws at the first violation. */
export function checkLog(log: EventLog, opts: CheckLogOptions = {}): Violation[] {
  const c = new LogChecker(log, opts);
  c.step();
  return c.violations();
}

const handles = new WeakMap<Engine, CheckerHandle>();

/** The checkers the plugin attached to an engine, if any. */
export function checkersOf(engine: Engine): CheckerHandle | undefined {
  return handles.get(engine);
}

/** The checkers as a core plugin: provides an ENGINE_SUBSCRIBER. Options: CheckerOptions. */
export const invariantsPlugin: Plugin<RunCheckersOptions> = definePlugin<RunCheckersOptions>({
  name: '@mmsim/invariants',
  version: '0.1.0',
  setup(host, options) {
    host.provide(ENGINE_SUBSCRIBER, (engine: Engine) => {
      const h = attachCheckers(engine, options ?? {});
      handles.set(engine, h);
      // detached (engine.close() or the detach-all): no more events are checked, and
      // checkersOf(engine) still reads what was found
      return () => h.detach();
    });
  },
});

/** Call every ENGINE_SUBSCRIBER the engine's plugins provide (for hosts that build engines). */
export function runEngineAttach(engine: Engine): () => void {
  return engine.attachSubscribers();
}
