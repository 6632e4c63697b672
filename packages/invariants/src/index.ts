/**
 * @mmsim/invariants: incremental invariant checkers over mmsim's event stream.
 * Explicit named exports only.
 */
import { createDraft, finishDraft, type Draft } from 'immer';
import {
  applyToDraft,
  ENGINE_SUBSCRIBER,
  definePlugin,
  emptyState,
  batchLock,
  batchPageFolio,
  finishBatch,
  newBatch,
  pageFolio,
  newRawEvent,
  type Engine,
  type EventLog,
  type Plugin,
  type State,
} from '@mmsim/core';
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

/** Replay a log through the checkers (for `mmsim check LOG`). Strict mode throws at the first violation. */
export function checkLog(log: EventLog, opts: RunCheckersOptions & { batchEvents?: number } = {}): Violation[] {
  const sel = selectCheckers(opts, []);
  let state: State = emptyState();
  let draft: Draft<State> | null = null;
  let batch = newBatch();
  let n = 0;
  const batchEvents = opts.batchEvents ?? 65536;
  const commit = (): void => {
    if (draft) {
      finishBatch(draft, batch);
      state = finishDraft(draft) as State;
    }
    draft = null;
  };
  const chk = new InvariantChecker(() => (draft ?? state) as State, { ...opts, checkers: sel.builtin }, commit, {
    pageFolio: (pfn) => (draft ? batchPageFolio(draft, batch, pfn) : pageFolio(state, pfn)),
    lock: (name) => (draft ? batchLock(draft, batch, name) : state.locks[name]),
  });
  const more = sel.extra.length ? new ExtraCheckers(sel.extra, () => (draft ?? state) as State, opts.mode === 'strict', opts.maxViolations) : null;
  const cur = log.cursor(0);
  const r = newRawEvent();
  while (cur.next(r)) {
    if (!draft) {
      draft = createDraft(state);
      batch = newBatch();
      n = 0;
    }
    applyToDraft(draft, r, batch);
    chk.onEvent(r);
    more?.onEvent(r);
    if (++n >= batchEvents) commit();
  }
  commit();
  chk.flush(log.length - 1, true);
  more?.end(log.length - 1, true);
  return mergeViolations(chk.violations, more?.violations ?? []);
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
