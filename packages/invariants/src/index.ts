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
import type { CheckerOptions, Violation } from './types.js';

export { InvariantViolationError, ALL_CHECKERS } from './types.js';
export type { CheckerName, CheckerOptions, Violation } from './types.js';
export { InvariantChecker } from './checker.js';
export { rmapWalk } from './walk.js';
export type { RmapWalkResult } from './walk.js';

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
export function attachCheckers(engine: Engine, opts: CheckerOptions = {}): CheckerHandle {
  const chk = new InvariantChecker(() => engine.s, opts, () => engine.commit(), {
    pageFolio: (pfn) => engine.pageFolio(pfn),
    lock: (name) => engine.lockState(name),
  });
  const offRaw = engine.onRaw((r) => chk.onEvent(r));
  const offRb = engine.onRollback((seq) => chk.onRollback(seq));
  return {
    violations() {
      chk.flush(engine.log.length - 1, false);
      return chk.violations.slice();
    },
    count: () => chk.found,
    clear() {
      chk.flush(engine.log.length - 1, false);
      chk.violations.length = 0;
      chk.found = 0;
    },
    detach() {
      offRaw();
      offRb();
    },
  };
}

/** Replay a log through the checkers (for `mmsim check LOG`). Strict mode throws at the first violation. */
export function checkLog(log: EventLog, opts: CheckerOptions & { batchEvents?: number } = {}): Violation[] {
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
  const chk = new InvariantChecker(() => (draft ?? state) as State, opts, commit, {
    pageFolio: (pfn) => (draft ? batchPageFolio(draft, batch, pfn) : pageFolio(state, pfn)),
    lock: (name) => (draft ? batchLock(draft, batch, name) : state.locks[name]),
  });
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
    if (++n >= batchEvents) commit();
  }
  commit();
  chk.flush(log.length - 1, true);
  return chk.violations.slice();
}

/** The core's subscriber point (kept under this name for plugin authors who used it). */
export const ENGINE_ATTACH = ENGINE_SUBSCRIBER;

const handles = new WeakMap<Engine, CheckerHandle>();

/** The checkers the plugin attached to an engine, if any. */
export function checkersOf(engine: Engine): CheckerHandle | undefined {
  return handles.get(engine);
}

/** The checkers as a core plugin: provides an ENGINE_ATTACH observer. Options: CheckerOptions. */
export const invariantsPlugin: Plugin<CheckerOptions> = definePlugin<CheckerOptions>({
  name: '@mmsim/invariants',
  version: '0.1.0',
  setup(host, options) {
    host.provide(ENGINE_ATTACH, (engine: Engine) => {
      const h = attachCheckers(engine, options ?? {});
      handles.set(engine, h);
      return () => {
        h.detach();
        handles.delete(engine);
      };
    });
  },
});

/** Call every ENGINE_ATTACH observer the engine's plugins provide (for hosts that build engines). */
export function runEngineAttach(engine: Engine): () => void {
  return engine.attachSubscribers();
}
