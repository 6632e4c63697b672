/**
 * The engine: the only way kernel code changes state. `emit` appends an event to the
 * log and applies it to the open immer draft (so kernel code reads its own writes);
 * `commit` finishes the draft into a new immutable State. Many events share one
 * produce: a batch ends at a syscall boundary or after `batchEvents` events.
 */
import { createDraft, finishDraft, type Draft } from 'immer';
// the two classes from their own modules: 'rxjs' itself loads all 220 of its CommonJS
// files (0.3-0.6 s of every mmsim start), the engine uses two
import { Subject } from 'rxjs/internal/Subject';
import { Observable } from 'rxjs/internal/Observable';
import { filter } from 'rxjs/internal/operators/filter';
import type { Observer, Subscription } from 'rxjs';
import { STRUCTURE_EVENT } from './touches.js';
import { E, newRawEvent, toEvent, type EmitArgs, type LockKind, type MmEvent, type RawEvent } from './events.js';
import { EventLog, type LogMark, type SealedChunk } from './log.js';
import { applyToDraft, batchFolio, batchLock, batchLocks, batchMm, batchPageFolio, batchSpans, finishBatch, newBatch, type Batch } from './reducer.js';
import { emptyState, folioAtHead, pageFolio, type Folio, type LockState, type Mm, type SpanFrame, type State } from './state.js';
import { BLOCKED, DeadlockError, POINT, runTask, interleave, schedule, type Chooser, type KGen } from './sched.js';
import { PluginRegistry, asPluginError, callPlugin, defineExtensionPoint, type PluginError } from './plugins.js';
import { Keyframes } from './timetravel.js';

export interface EngineOptions {
  /** finish the draft after this many events even inside a syscall (default 65536) */
  batchEvents?: number;
  /** keep a keyframe state every K events (default 16384) */
  keyframeEvery?: number;
  /**
   * Keep the whole log and keyframes (default true: time travel, mark/restore, files
   * written at the end). False for a run whose log streams or is not wanted (a long
   * trace replay): after each syscall the log lets go of its sealed chunks (a streaming
   * writer attached before the first event has them) and no keyframes are kept, so
   * memory does not grow with the run.
   */
  retainLog?: boolean;
  /** free-form configuration recorded in the log header */
  config?: Record<string, unknown>;
  seed?: number;
}

export interface SpanNotice {
  readonly phase: 'open' | 'close';
  readonly span: number;
  readonly name: string;
  readonly task: number;
  readonly depth: number;
  readonly seq: number;
  /** close only: 0 or -errno */
  readonly result?: number;
}

export type RawListener = (r: Readonly<RawEvent>, engine: Engine) => void;

/**
 * Pseudo event types of the accesses a TouchHook is told about besides events: a
 * lockless read (READ_ONCE, an atomic) of a PTE (a = mm, b = vpn), of a folio field
 * (a = pfn: refcount, pincount, mapping, index, flags), a lock's state (s = name, a
 * lock attempt that found it held), the VMA/anon_vma structure (RCU walks), a swap slot
 * (a = slot), a shmem object (a = id), everything (All: a reader of the raw state); and an id allocator's use (s = its name: taking
 * the next id is a read-modify-write of the allocator). Reads through the engine's and
 * the kernel's accessors report themselves (noteRead), so no reader has to declare one.
 */
export const ACCESS = { Pte: -1, Folio: -2, Lock: -3, Structure: -4, Alloc: -5, Swap: -6, Shmem: -7, All: -8 } as const;

/**
 * Told of every event (before it is applied) and every lockless access while set: the
 * explorer builds each schedule segment's footprint from it. Not called otherwise.
 */
export type TouchHook = (type: number, a: number, b: number, c: number, s: string) => void;

/** emit's implementation signature: every slot, for events whose type is only known at run time. */
type RawEmit = (type: number, a: number, b: number, c: number, d: number, e: number, f: number, s: string) => void;

/** What Engine.mark() saves: enough to put the engine back exactly (restore()). */
export interface EngineMark {
  readonly seq: number;
  readonly state: State;
  readonly nextSpan: number;
  readonly ids: Readonly<Engine['ids']>;
  readonly task: number;
  /** the log's point (cut back to without re-encoding) */
  readonly log: LogMark;
}


/**
 * Subscribers: plugins that attach to the engine once it exists (invariant checkers,
 * recorders, live views). Whoever builds an engine for a run calls
 * `engine.attachSubscribers()` after registering plugins; a returned function detaches.
 */
export const ENGINE_SUBSCRIBER = defineExtensionPoint<(engine: Engine) => (() => void) | void>(
  'engine-attach',
  'multi',
  'observers that attach to the engine once it exists (invariant checkers, subscribers)',
);

/** Counters whose every get and set calls `use(name)` (Engine.ids). */
function allocators<T extends Record<string, number>>(init: T, use: (name: string) => void): T {
  const vals: Record<string, number> = { ...init };
  const out = {} as T;
  for (const name of Object.keys(init)) {
    Object.defineProperty(out, name, {
      enumerable: true,
      get: () => (use(name), vals[name]),
      set: (v: number) => {
        use(name);
        vals[name] = v;
      },
    });
  }
  return out;
}

/** A finished KGen<void>: what lock()/unlock() return when there is nothing to wait for. */
const DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });
const DONE_GEN = Object.freeze({
  next: () => DONE,
  return: () => DONE,
  throw: (e: unknown) => {
    throw e;
  },
  [Symbol.iterator]() {
    return this;
  },
}) as unknown as KGen<void>;

/**
 * What Engine.span returns: the span opens when the iterator is first resumed, its body
 * runs (delegated, every yield passed through), and it closes with the body's result;
 * if the body throws, the spans it left open close down to this one. A small class rather
 * than a generator: a span per kernel function per page adds up.
 */
class SpanIter<T> {
  private inner: KGen<T> | null = null;
  private id = 0;
  constructor(
    private readonly eng: Engine,
    private readonly name: string,
    private readonly body: (() => KGen<T>) | KGen<T>,
    private readonly arg0: number,
    private readonly arg1: number,
  ) {}
  [Symbol.iterator](): this {
    return this;
  }
  private step(r: IteratorResult<number, T>): IteratorResult<number, T> {
    if (r.done) {
      const v = r.value;
      this.eng.spanClose(this.id, typeof v === 'number' && v < 0 ? v : 0);
    }
    return r;
  }
  next(): IteratorResult<number, T> {
    if (this.inner === null) {
      this.id = this.eng.spanOpen(this.name, this.arg0, this.arg1);
      const b = this.body;
      this.inner = typeof b === 'function' ? b() : b;
    }
    let r: IteratorResult<number, T>;
    try {
      r = this.inner.next();
    } catch (e) {
      this.eng.abortSpan(this.id);
      throw e;
    }
    return this.step(r);
  }
  throw(e: unknown): IteratorResult<number, T> {
    if (this.inner === null) throw e;
    let r: IteratorResult<number, T>;
    try {
      r = this.inner.throw(e);
    } catch (e2) {
      this.eng.abortSpan(this.id);
      throw e2;
    }
    return this.step(r);
  }
  return(v: T): IteratorResult<number, T> {
    return this.inner ? this.inner.return(v) : { done: true, value: v };
  }
}

export class Engine {
  readonly log = new EventLog();
  readonly plugins = new PluginRegistry();
  readonly keyframes: Keyframes;
  readonly options: Required<Omit<EngineOptions, 'config' | 'seed'>> & { config: Record<string, unknown>; seed: number };

  private committed: State = emptyState();
  private draft: Draft<State> | null = null;
  private batch: Batch = newBatch();
  private batchCount = 0;
  private readonly r: RawEvent = newRawEvent();
  private task = 0;
  private nextSpan = 1;
  private rawListeners: RawListener[] = [];

  private readonly events = new Subject<MmEvent>();
  private readonly spans = new Subject<SpanNotice>();
  private readonly states = new Subject<State>();

  /**
   * Bumped by every event that changes a VMA, an anon_vma or a chain (and by rollback):
   * kernel code may cache what it read of those while it stays the same.
   */
  structureGen = 0;

  /**
   * id allocators: deterministic, part of the model's configuration not of the state.
   * Each use is told to the TouchHook (ACCESS.Alloc): two tasks allocating commute only
   * up to which id each gets.
   */
  readonly ids = allocators({ vma: 1, anonVma: 1, pfn: 1024, shmem: 1, swap: 1, mm: 1 }, (name) => {
    if (this.touchHook !== null) this.touchHook(ACCESS.Alloc, 0, 0, 0, name);
  });

  constructor(opts: EngineOptions = {}) {
    this.options = {
      batchEvents: opts.batchEvents ?? 65536,
      keyframeEvery: opts.keyframeEvery ?? 16384,
      retainLog: opts.retainLog ?? true,
      config: opts.config ?? {},
      seed: opts.seed ?? 0,
    };
    this.keyframes = new Keyframes(this.options.keyframeEvery);
    this.keyframes.add(this.committed);
  }

  /** The current state: the open draft while a batch runs (kernel code reads its own writes). */
  get s(): State {
    return (this.draft ?? this.committed) as State;
  }

  /** The last committed immutable state. */
  get state(): State {
    return this.committed;
  }

  get currentTask(): number {
    return this.task;
  }

  /** Run kernel code as task `t` from now on (a task_switch event is logged lazily). */
  setTask(t: number): void {
    this.task = t;
  }

  /**
   * Attach every ENGINE_SUBSCRIBER the registered plugins provide; returns a detach-all.
   * close() calls it too (once): a subscriber's detach function always runs.
   */
  attachSubscribers(): () => void {
    const offs = this.plugins.all(ENGINE_SUBSCRIBER).map((e) => {
      // what the subscriber hooks up while it attaches is its own: a throw there names it
      const outer = this.attaching;
      this.attaching = e.plugin;
      try {
        return { plugin: e.plugin, off: callPlugin(e.plugin, ENGINE_SUBSCRIBER.id, () => e.impl(this)) };
      } finally {
        this.attaching = outer;
      }
    });
    let done = false;
    const detach = () => {
      if (done) return;
      done = true;
      this.detachers = this.detachers.filter((d) => d !== detach);
      for (const { plugin, off } of offs) if (typeof off === 'function') callPlugin(plugin, `${ENGINE_SUBSCRIBER.id} (detach)`, off);
    };
    this.detachers.push(detach);
    return detach;
  }
  private detachers: (() => void)[] = [];

  /** the plugin whose subscriber is attaching now (its callbacks are guarded) */
  private attaching: string | null = null;
  /** a plugin's RxJS callback threw: thrown from emit() once the subject returns */
  private pluginFailure: PluginError | null = null;

  /** `fn` as the attaching plugin's callback at `point`: a throw is its PluginError. */
  private guarded<A extends unknown[]>(fn: (...a: A) => void, point: string): (...a: A) => void {
    const plugin = this.attaching;
    if (!plugin) return fn;
    return (...a: A) => {
      try {
        fn(...a);
      } catch (e) {
        throw asPluginError(plugin, point, e);
      }
    };
  }

  /**
   * An observable for the attaching plugin: RxJS reports a throwing subscriber later
   * and out of band, so its callbacks are guarded here, the failure kept and thrown
   * from emit(). (Callbacks behind operators, `.pipe(...)`, are RxJS's to report.)
   */
  private guardedObservable<T>(obs: Observable<T>, point: string): Observable<T> {
    const plugin = this.attaching;
    if (!plugin) return obs;
    const out = new Observable<T>((sub) => obs.subscribe(sub));
    const subscribe = out.subscribe.bind(out) as (o?: unknown) => Subscription;
    (out as { subscribe: unknown }).subscribe = (o?: Partial<Observer<T>> | ((v: T) => void)) => {
      const next = typeof o === 'function' ? o : o?.next?.bind(o);
      if (!next) return subscribe(o);
      const safe = (v: T) => {
        try {
          next(v);
        } catch (e) {
          this.pluginFailure ??= asPluginError(plugin, point, e);
        }
      };
      return subscribe(typeof o === 'function' ? safe : { ...o, next: safe });
    };
    return out;
  }

  private throwPluginFailure(): void {
    const f = this.pluginFailure;
    if (f) {
      this.pluginFailure = null;
      throw f;
    }
  }

  /** Observe every raw event as it is applied (incremental checkers). Do not keep `r`. */
  onRaw(fn: RawListener): () => void {
    const g = this.guarded(fn, 'event callback (engine.onRaw)');
    this.rawListeners.push(g);
    return () => {
      this.rawListeners = this.rawListeners.filter((f) => f !== g);
    };
  }

  /**
   * Append one event and apply it. Numeric slots as the schema orders them (EmitArgs:
   * exactly the type's fields; a type with a string slot takes zeros up to slot f, then
   * the string), so a call with the wrong number of numbers does not compile.
   */
  emit<T extends E>(type: T, ...args: EmitArgs<T>): void;
  emit(type: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, s = ''): void {
    if (this.log.registers.task !== this.task && type !== E.TaskSwitch) this.emit(E.TaskSwitch, this.task);
    const r = this.r;
    r.type = type;
    r.a = a;
    r.b = b;
    r.c = c;
    r.d = d;
    r.e = e;
    r.f = f;
    r.s = s;
    if (this.touchHook !== null) this.touchHook(type, a, b, c, s);
    this.log.append(r);
    if (STRUCTURE_EVENT[type]) this.structureGen++;
    if (!this.draft) {
      this.draft = createDraft(this.committed);
      this.batch = newBatch();
      this.batchCount = 0;
    }
    applyToDraft(this.draft, r, this.batch);
    for (let i = 0; i < this.rawListeners.length; i++) this.rawListeners[i](r, this);
    if (this.events.observed) {
      this.events.next(toEvent(r));
      this.throwPluginFailure();
    }
    // outside syscalls (setup, snapshots) a long batch is committed as it grows; inside
    // one the draft lives until the syscall ends: kernel code holds references into it
    if (++this.batchCount >= this.options.batchEvents && !this.inSyscall) this.commit();
  }

  /** Append a raw event of any type (replaying a log): its slots as they are, unchecked. */
  emitRaw(r: Readonly<RawEvent>): void {
    (this.emit as unknown as RawEmit).call(this, r.type, r.a, r.b, r.c, r.d, r.e, r.f, r.s);
  }

  private inSyscall = false;
  /** the explorer's footprint recorder (see TouchHook); null on every other run */
  private touchHook: TouchHook | null = null;
  /**
   * True while syscall() runs a single task to completion: nobody can be scheduled at a
   * POINT then, so lock()/unlock() skip the yield (each one resumes the whole chain of
   * delegating generators for nothing). interleave() runs tasks with it false.
   */
  private solo = false;

  /** Finish the open batch into an immutable state. */
  commit(): State {
    if (this.draft) {
      finishBatch(this.draft, this.batch);
      this.committed = finishDraft(this.draft) as State;
      this.draft = null;
      if (this.options.retainLog) this.keyframes.maybeAdd(this.committed);
    }
    // nothing can roll back behind a commit outside a syscall: the sealed chunks may go
    if (!this.options.retainLog && !this.inSyscall) this.log.discardSealed();
    return this.committed;
  }

  /* ----- spans ----- */

  spanOpen(name: string, arg0 = 0, arg1 = 0): number {
    const id = this.nextSpan++;
    const stack = this.spansOf(this.task);
    const parent = stack && stack.length ? stack[stack.length - 1].id : 0;
    const depth = stack ? stack.length : 0;
    this.emit(E.SpanOpen, id, parent, arg0, arg1, 0, 0, name);
    if (this.spans.observed) this.spans.next({ phase: 'open', span: id, name, task: this.task, depth, seq: this.log.length - 1 });
    this.throwPluginFailure();
    return id;
  }

  spanClose(id: number, result = 0): void {
    // the span's name and depth: its frame, on top of the task's stack (the reducer
    // rejects a close that is not of the innermost span)
    const stack = this.spansOf(this.task);
    const depth = stack && stack.length ? stack.length - 1 : -1;
    const top = depth >= 0 ? stack![depth] : undefined;
    this.emit(E.SpanClose, id, result);
    if (this.spans.observed && top) {
      this.spans.next({ phase: 'close', span: id, name: top.name, task: this.task, depth, seq: this.log.length - 1, result });
      this.throwPluginFailure();
    }
    // the end of a top-level span commits; inside syscall() that is done once it returns
    if (depth === 0 && !this.inSyscall) {
      this.commit();
      if (this.states.observed) this.states.next(this.committed);
      this.throwPluginFailure();
    }
  }

  /**
   * Run a span around kernel code: `yield* eng.span('move_vma', function* () { ... })`.
   * The result (a number: 0 or -errno, or any value) is recorded on close when numeric.
   * `body` may also be a generator not yet started (`eng.span('do_wp_page',
   * doWpPageBody(k, vma, vpn))`): a generator runs nothing before its first resume, so
   * it starts inside the span just the same, without a closure to make it.
   */
  span<T>(name: string, body: (() => KGen<T>) | KGen<T>, arg0 = 0, arg1 = 0): KGen<T> {
    return new SpanIter(this, name, body, arg0, arg1) as unknown as KGen<T>;
  }

  /** A span's body threw: close it (and what it left open inside it). */
  abortSpan(id: number): void {
    if (this.spanIsOpen(id)) this.closeSpansDownTo(id);
  }

  private spanIsOpen(id: number): boolean {
    return (this.spansOf(this.task) ?? []).some((f) => f.id === id);
  }

  private closeSpansDownTo(id: number): void {
    // read the ids first: closing the outermost span of a run outside syscall() commits
    const ids = (this.spansOf(this.task) ?? []).map((f) => f.id);
    for (let i = ids.length - 1; i >= 0; i--) {
      this.spanClose(ids[i], -1);
      if (ids[i] === id) break;
    }
  }

  /**
   * Run a whole syscall as one unit: a top-level span, committed at its end. If the
   * body throws (a plugin error, a model bug), the syscall is rolled back: the log is
   * cut back to the span start, state returns to what it was, and an `error` event
   * records what happened. Returns the body's value, or the thrown error.
   */
  syscall<T>(name: string, body: () => KGen<T>, arg0 = 0, arg1 = 0): { ok: true; value: T } | { ok: false; error: unknown } {
    this.commit();
    const startSeq = this.log.length;
    const before = this.committed;
    const savedSpan = this.nextSpan;
    this.inSyscall = true;
    const wasSolo = this.solo;
    this.solo = true;
    try {
      const value = runTask(this.span(name, body, arg0, arg1), `${name} (task ${this.task})`);
      this.inSyscall = false;
      this.commit();
      if (this.states.observed) this.states.next(this.committed);
      this.throwPluginFailure();
      return { ok: true, value };
    } catch (error) {
      this.rollback(startSeq, before, savedSpan);
      const msg = error instanceof Error ? error.message : String(error);
      this.inSyscall = false;
      try {
        this.emit(E.Error, 0, 0, 0, 0, 0, 0, `${name}: ${msg}`);
      } catch {
        // a listener failed again on the error event: the event is in the log already,
        // and the first failure is the one to report
      }
      this.commit();
      return { ok: false, error };
    } finally {
      this.inSyscall = false;
      this.solo = wasSolo;
    }
  }

  private rollback(seq: number, state: State, nextSpan: number, logMark?: LogMark): void {
    this.draft = null;
    this.structureGen++;
    if (logMark) this.log.truncateToMark(logMark);
    else this.log.truncate(seq);
    this.committed = state;
    this.keyframes.dropAfter(seq);
    this.nextSpan = nextSpan;
    for (const fn of this.rollbackListeners) fn(seq);
  }

  private rollbackListeners: ((seq: number) => void)[] = [];
  /** Told when a syscall is rolled back: events from `seq` on no longer exist. */
  onRollback(fn: (seq: number) => void): () => void {
    const g = this.guarded(fn, 'rollback callback (engine.onRollback)');
    this.rollbackListeners.push(g);
    return () => {
      this.rollbackListeners = this.rollbackListeners.filter((f) => f !== g);
    };
  }

  /** True while one task runs with nobody to race it (a syscall, the last task of a concurrent step). */
  get alone(): boolean {
    return this.solo;
  }

  /** Set (or clear, with null) the footprint recorder the explorer uses. */
  setTouchHook(fn: TouchHook | null): void {
    this.touchHook = fn;
  }

  /**
   * A lockless access (READ_ONCE/WRITE_ONCE, an atomic) of state some other path changes
   * under a lock this code does not hold: a point where another task may run first.
   * `kind` is an ACCESS value. Free when a syscall runs alone (a finished iterator).
   */
  lockless(kind: number, a = 0, b = 0): KGen<void> {
    if (this.solo) return DONE_GEN;
    return this.locklessPoint(kind, a, b);
  }

  private *locklessPoint(kind: number, a: number, b: number): KGen<void> {
    yield POINT;
    // the access itself happens once the task runs again: it belongs to that segment
    if (this.touchHook !== null) this.touchHook(kind, a, b, 0, '');
  }

  /**
   * Run tasks concurrently under a chooser (see sched.ts): every lock operation and
   * lockless access is a scheduling point. Nothing commits until all tasks are done (the
   * tasks hold references into the draft across their points); the caller commits. A
   * DeadlockError leaves the state as it is at the deadlock (locks held), for the log.
   */
  runConcurrent(tasks: { task: number; run: () => KGen<unknown> }[], choose: Chooser): { results: unknown[]; aborted: boolean } {
    this.commit();
    const wasSolo = this.solo;
    const wasIn = this.inSyscall;
    this.solo = false;
    this.inSyscall = true;
    try {
      return schedule(
        tasks.map((t) => ({ id: t.task, gen: t.run() })),
        choose,
        (id) => this.setTask(id),
        // the last task runs as a syscall alone does: no points (its schedule has no choices left)
        () => (this.solo = true),
      );
    } finally {
      this.solo = wasSolo;
      this.inSyscall = wasIn;
    }
  }

  /** Remember this point (committed first), to come back to it with restore(). */
  mark(): EngineMark {
    this.commit();
    return { seq: this.log.length, state: this.committed, nextSpan: this.nextSpan, ids: { ...this.ids }, task: this.task, log: this.log.mark() };
  }

  /**
   * Go back to a mark: the log is cut back, the state, id allocators and span ids are
   * what they were (the explorer restarts every schedule here). Rollback listeners
   * (checkers) are told, as after a failed syscall.
   */
  restore(m: EngineMark): void {
    this.inSyscall = false;
    this.solo = false;
    this.rollback(m.seq, m.state, m.nextSpan, m.log);
    Object.assign(this.ids, m.ids);
    this.task = m.task;
  }

  /** Interleave several tasks' kernel code, deterministically from a seed. */
  interleave(tasks: { task: number; run: () => KGen<unknown> }[], seed = this.options.seed): Map<number, unknown> {
    this.commit();
    const wasSolo = this.solo;
    this.solo = false;
    try {
      return interleave(
        tasks.map((t) => ({ id: t.task, gen: t.run() })),
        seed,
        (id) => this.setTask(id),
      );
    } finally {
      this.solo = wasSolo;
    }
  }

  /* ----- locks: every acquire and release is a suspension point ----- */

  /** Take a lock (mode 0 exclusive/write, 1 shared/read). Blocks while another task holds it. */
  lock(name: string, mode: 0 | 1, kind: LockKind): KGen<void> {
    // alone in a syscall with the lock free: take it now and hand back a finished
    // iterator (no generator object, nothing to resume)
    if (this.solo) {
      const l = this.lockState(name);
      if (!l || (l.mode === 1 && mode === 1 && !l.holders.includes(this.task))) {
        this.emit(E.LockAcquire, mode, kind === 'spin' ? 1 : 0, 0, 0, 0, 0, name);
        return DONE_GEN;
      }
    }
    return this.lockWait(name, mode, kind);
  }

  private *lockWait(name: string, mode: 0 | 1, kind: LockKind): KGen<void> {
    for (;;) {
      const l = this.lockState(name);
      if (!l || (l.mode === 1 && mode === 1 && !l.holders.includes(this.task))) break;
      if (l.holders.includes(this.task)) throw new DeadlockError(`task ${this.task} takes ${name} which it already holds (self-deadlock)`);
      if (this.touchHook !== null) this.touchHook(ACCESS.Lock, 0, 0, 0, name);
      yield BLOCKED;
    }
    this.emit(E.LockAcquire, mode, kind === 'spin' ? 1 : 0, 0, 0, 0, 0, name);
    if (!this.solo) yield POINT;
  }

  /** Try to take a lock without blocking; logs lock_try_fail when it is held. */
  trylock(name: string, mode: 0 | 1, kind: LockKind): boolean {
    const l = this.lockState(name);
    if (l && !(l.mode === 1 && mode === 1 && !l.holders.includes(this.task))) {
      this.emit(E.LockTryFail, mode, kind === 'spin' ? 1 : 0, 0, 0, 0, 0, name);
      return false;
    }
    this.emit(E.LockAcquire, mode, kind === 'spin' ? 1 : 0, 1, 0, 0, 0, name);
    return true;
  }

  /** Release a lock: a suspension point too (unless the syscall runs alone). */
  unlock(name: string, mode: 0 | 1, kind: LockKind): KGen<void> {
    if (this.solo) {
      this.emit(E.LockRelease, mode, kind === 'spin' ? 1 : 0, 0, 0, 0, 0, name);
      return DONE_GEN;
    }
    return this.unlockPoint(name, mode, kind);
  }

  private *unlockPoint(name: string, mode: 0 | 1, kind: LockKind): KGen<void> {
    this.emit(E.LockRelease, mode, kind === 'spin' ? 1 : 0, 0, 0, 0, 0, name);
    yield POINT;
  }

  /** The folio whose head is pfn, as of now (no immer proxies: for kernel code's reads). */
  folioAtHead(head: number): Folio | undefined {
    const f = this.draft ? batchFolio(this.draft, this.batch, head) : folioAtHead(this.committed, head);
    if (this.touchHook !== null) this.touchHook(ACCESS.Folio, f ? f.pfn : head, 0, 0, '');
    return f;
  }

  /** page_folio(): the folio containing page pfn, as of now (proxy-free). */
  pageFolio(pfn: number): Folio | undefined {
    const f = this.draft ? batchPageFolio(this.draft, this.batch, pfn) : pageFolio(this.committed, pfn);
    if (this.touchHook !== null) this.touchHook(ACCESS.Folio, f ? f.pfn : pfn, 0, 0, '');
    return f;
  }

  /**
   * A read of modelled state, told to the explorer's footprint recorder (an ACCESS
   * kind and its object): the kernel's accessors call it, so readers need not. Free
   * when no recorder is set.
   */
  noteRead(kind: number, a = 0, b = 0): void {
    if (this.touchHook !== null) this.touchHook(kind, a, b, 0, '');
  }

  /** An mm's record as of now (proxy-free; do not keep it across events). */
  mmNow(id: number): Mm | undefined {
    return this.draft ? batchMm(this.draft, this.batch, id) : this.committed.mms[id];
  }

  /** A lock's state as of now (proxy-free). */
  lockState(name: string): LockState | undefined {
    return this.draft ? batchLock(this.draft, this.batch, name) : this.committed.locks[name];
  }

  /** Names of the locks a task holds as of now (default: the current task), unsorted. */
  locksHeld(task = this.task): string[] {
    const all = this.draft ? batchLocks(this.draft, this.batch) : this.committed.locks;
    const out: string[] = [];
    if (all instanceof Map) {
      for (const [n, l] of all) if (l !== undefined && l.holders.includes(task)) out.push(n);
    } else {
      const rec = all as Readonly<Record<string, LockState>>;
      for (const n of Object.keys(rec)) if (rec[n].holders.includes(task)) out.push(n);
    }
    return out;
  }

  /** A task's open spans as of now, outermost first (proxy-free). */
  spansOf(task: number): readonly SpanFrame[] | undefined {
    return this.draft ? batchSpans(this.draft, this.batch, task) : this.committed.spans[task];
  }

  /** Does the current task hold `name`? */
  holds(name: string): boolean {
    if (this.touchHook !== null) this.touchHook(ACCESS.Lock, 0, 0, 0, name);
    const l = this.lockState(name);
    return !!l && l.holders.includes(this.task);
  }

  /* ----- RxJS ----- */

  /** Live events (typed objects are made only while someone subscribes). */
  get events$(): Observable<MmEvent> {
    return this.guardedObservable(this.events.asObservable(), 'event callback (engine.events$)');
  }

  /** Events from `seq` on: the history comes from the log, then live ones follow. */
  eventsFrom(seq = 0): Observable<MmEvent> {
    return new Observable<MmEvent>((sub) => {
      let last = seq - 1;
      const live = this.events.subscribe({
        next: (ev) => {
          if (ev.seq > last) {
            last = ev.seq;
            sub.next(ev);
          }
        },
      });
      for (const ev of this.log.events(seq, this.log.length)) {
        if (ev.seq > last) {
          last = ev.seq;
          sub.next(ev);
        }
      }
      return () => live.unsubscribe();
    });
  }

  get spans$(): Observable<SpanNotice> {
    return this.guardedObservable(this.spans.asObservable(), 'span callback (engine.spans$)');
  }

  /**
   * Every syscall as it returns (a top-level span's close: its name, task, result and the
   * seq of its exit event): the grain of a progress bar or a live view, a few per
   * thousand events.
   */
  get syscalls$(): Observable<SpanNotice> {
    return this.spans$.pipe(filter((n) => n.phase === 'close' && n.depth === 0));
  }

  /**
   * Every chunk of the log as it seals (CHUNK_EVENTS events; a flush seals a short one):
   * what a streaming writer writes, as a stream. Completes with close().
   */
  get chunks$(): Observable<SealedChunk> {
    const sealed = new Observable<SealedChunk>((sub) => {
      const off = this.log.onSeal((c) => sub.next(c));
      const done = this.closed$.subscribe(() => sub.complete());
      return () => {
        off();
        done.unsubscribe();
      };
    });
    return this.guardedObservable(sealed, 'chunk callback (engine.chunks$)');
  }
  private readonly closed$ = new Subject<void>();

  /** The state after every syscall (top-level span close). */
  get state$(): Observable<State> {
    return this.guardedObservable(this.states.asObservable(), 'state callback (engine.state$)');
  }

  /** Complete the observables (end of a run). */
  close(): void {
    this.commit();
    for (const d of [...this.detachers]) d();
    this.log.flush();
    this.events.complete();
    this.spans.complete();
    this.states.complete();
    this.closed$.next();
    this.closed$.complete();
  }
}
