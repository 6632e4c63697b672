/**
 * The public checker extension point: a third-party invariant checker is a plugin that
 * provides CHECKER. It is fed the same events as the built-in checkers, reads the same
 * state, and its `report()` produces a Violation like theirs (checker name, seq, span
 * path, message, objects), so `mmsim run --check`, `mmsim check LOG --plugin`,
 * `mmsim bisect`, the explorer and the debugger show it with the built-ins (exit 3).
 *
 *   host.provide(CHECKER, {
 *     name: 'vma-limit',
 *     create: (ctx) => ({
 *       onEvent(r) {
 *         if (r.type === E.VmaInsert && r.d - r.c > 16) ctx.report(`VMA ${r.a} spans ${r.d - r.c} pages`, { vma: [r.a] });
 *       },
 *     }),
 *   });
 */
import { E, PluginError, PluginRegistry, defineExtensionPoint, type Plugin, type RawEvent, type State } from '@mmsim/core';
import { InvariantViolationError, type Violation } from './types.js';

/** What a checker instance can do and read while it runs. */
export interface CheckerContext {
  /** the current state (a live draft while a batch is open: read it, do not keep it) */
  readonly state: State;
  /**
   * Report a violation at the event being checked (in onEvent) or at the event that
   * closed the syscall (in onSyscallEnd). In strict mode the first one stops the run.
   */
  report(message: string, objects?: Violation['objects']): void;
  /** names of the open spans of the task of the event being checked, outermost first */
  spanPath(): string[];
}

/** One checker's state for one engine or one log replay. */
export interface CheckerInstance {
  /** every event, right after it is applied (do not keep `r`: it is reused) */
  onEvent?(r: Readonly<RawEvent>): void;
  /** a syscall ended and no task has an open span: a consistent state to check */
  onSyscallEnd?(seq: number): void;
  /** the syscall that started at `seq` was rolled back (its violations are dropped) */
  onRollback?(seq: number): void;
  /** the log ended (checkLog) or the violations are being read */
  onEnd?(seq: number): void;
}

/** A checker a plugin provides at CHECKER. */
export interface CheckerDefinition {
  /** the name reports carry (`[name] seq N: ...`); unique among the checkers of a run */
  readonly name: string;
  /** one instance per engine or per log replay */
  create(ctx: CheckerContext): CheckerInstance;
}

/** The extension point third-party invariant checkers provide. */
export const CHECKER = defineExtensionPoint<CheckerDefinition>(
  'invariant-checker',
  'multi',
  'invariant checkers that join the built-in ones: report violations with ctx.report() (mmsim run --check, mmsim check)',
);

/** A checker with the plugin that provides it (the plugin is named when it throws). */
export interface ExtraChecker {
  checker: CheckerDefinition;
  plugin: string;
}

/** The CHECKER implementations of a plugin registry (an engine's `engine.plugins`). */
export function checkersProvided(registry: PluginRegistry): ExtraChecker[] {
  return registry.all(CHECKER).map((e) => ({ checker: e.impl, plugin: e.plugin }));
}

/**
 * The checkers a list of plugins provides, without an engine (for replaying a log:
 * `checkLog(log, { extra: checkersFromPlugins([plugin]) })`). Runs each plugin's setup.
 */
export function checkersFromPlugins(plugins: readonly (Plugin<never> | [Plugin<never>, unknown])[]): ExtraChecker[] {
  const reg = new PluginRegistry();
  for (const p of plugins) {
    if (Array.isArray(p)) reg.use(p[0] as Plugin<unknown>, p[1]);
    else reg.use(p as Plugin<unknown>);
  }
  return checkersProvided(reg);
}

/**
 * Runs the extra checkers over an event stream: tracks spans per task (for spanPath and
 * the syscall end, like the built-ins), names a throwing plugin, and collects violations.
 */
export class ExtraCheckers {
  readonly violations: Violation[] = [];
  found = 0;
  private readonly instances: { inst: CheckerInstance; def: ExtraChecker }[] = [];
  private readonly spans = new Map<number, string[]>();
  private openTasks = 0;
  private cur: Readonly<RawEvent> | null = null;
  private endSeq = 0;
  private toThrow: Violation | null = null;
  /** strict mode threw: the syscall unwinds until no task has an open span */
  private aborting = false;

  constructor(
    extras: readonly ExtraChecker[],
    getState: () => State,
    private readonly strict: boolean,
    private readonly maxViolations = 10000,
  ) {
    const seen = new Set<string>();
    for (const def of extras) {
      if (seen.has(def.checker.name)) throw new PluginError(def.plugin, CHECKER.id, new Error(`a checker named "${def.checker.name}" is already registered`));
      seen.add(def.checker.name);
      const name = def.checker.name;
      const ctx: CheckerContext = {
        get state() {
          return getState();
        },
        report: (message, objects = {}) => this.report(name, message, objects),
        spanPath: () => this.path(),
      };
      const inst = this.call(def, 'create', () => def.checker.create(ctx));
      this.instances.push({ inst: inst ?? {}, def });
    }
  }

  get size(): number {
    return this.instances.length;
  }

  onEvent(r: Readonly<RawEvent>): void {
    this.cur = r;
    let closed = false;
    if (r.type === E.SpanOpen) {
      const st = this.spans.get(r.task) ?? [];
      if (!st.length && this.openTasks === 0) this.aborting = false;
      if (!st.length) this.openTasks++;
      st.push(r.s);
      this.spans.set(r.task, st);
    }
    for (const { inst, def } of this.instances) if (inst.onEvent) this.call(def, 'onEvent', () => inst.onEvent!(r));
    if (r.type === E.SpanClose) {
      const st = this.spans.get(r.task);
      if (st?.length) {
        if (st.length === 1) {
          this.openTasks--;
          closed = this.openTasks === 0;
        }
        if (closed) this.syscallEnd(r.seq);
        st.pop();
      }
    }
    this.cur = null;
    this.throwPending();
  }

  onRollback(seq: number): void {
    this.spans.clear();
    this.openTasks = 0;
    this.toThrow = null;
    while (this.violations.length && this.violations[this.violations.length - 1].seq >= seq) this.violations.pop();
    for (const { inst, def } of this.instances) if (inst.onRollback) this.call(def, 'onRollback', () => inst.onRollback!(seq));
  }

  /** The end of a log, or violations being read: lets checkers report what they keep. */
  end(seq: number, throwing: boolean): void {
    this.endSeq = seq;
    for (const { inst, def } of this.instances) if (inst.onEnd) this.call(def, 'onEnd', () => inst.onEnd!(seq));
    if (throwing) this.throwPending();
    else this.toThrow = null;
  }

  private syscallEnd(seq: number): void {
    this.endSeq = seq;
    for (const { inst, def } of this.instances) if (inst.onSyscallEnd) this.call(def, 'onSyscallEnd', () => inst.onSyscallEnd!(seq));
  }

  private path(): string[] {
    return this.cur ? [...(this.spans.get(this.cur.task) ?? [])] : [];
  }

  private report(checker: string, message: string, objects: Violation['objects']): void {
    if (this.aborting) return;
    this.found++;
    const v: Violation = { checker, seq: this.cur ? this.cur.seq : this.endSeq, spanPath: this.path(), message: String(message), objects };
    if (this.violations.length < this.maxViolations) this.violations.push(v);
    if (this.strict && !this.toThrow) this.toThrow = v;
  }

  private throwPending(): void {
    if (!this.toThrow) return;
    const v = this.toThrow;
    this.toThrow = null;
    this.aborting = true;
    throw new InvariantViolationError(v);
  }

  /** A checker that throws is named (PluginError), unlike a violation it reports. */
  private call<R>(def: ExtraChecker, hook: string, fn: () => R): R {
    try {
      return fn();
    } catch (e) {
      if (e instanceof InvariantViolationError || e instanceof PluginError) throw e;
      throw new PluginError(def.plugin, `${CHECKER.id} (checker ${def.checker.name}, ${hook})`, e);
    }
  }
}

/** Normalize what callers pass as `extra`: checker definitions, or [definition, plugin name]. */
export function toExtraCheckers(extra: readonly (CheckerDefinition | ExtraChecker)[] | undefined): ExtraChecker[] {
  return (extra ?? []).map((x) => ('checker' in x && 'plugin' in x ? x : { checker: x as CheckerDefinition, plugin: (x as CheckerDefinition).name }));
}

/** Built-in and extra violations in the order of their events (ties: built-ins first). */
export function mergeViolations(builtin: readonly Violation[], extra: readonly Violation[]): Violation[] {
  if (!extra.length) return builtin.slice();
  const all = [...builtin.map((v, i) => ({ v, i })), ...extra.map((v, i) => ({ v, i: builtin.length + i }))];
  all.sort((a, b) => a.v.seq - b.v.seq || a.i - b.i);
  return all.map((x) => x.v);
}
