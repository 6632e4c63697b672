/**
 * The plugin API: typed extension points that kernel code calls. A point is either
 * `single` (one implementation: the merge policy, the large-folio handler) or `multi`
 * (an ordered list: mremap move strategies, invariant checkers, subscribers).
 */

export interface ExtensionPoint<T> {
  readonly id: string;
  readonly kind: 'single' | 'multi';
  readonly description: string;
  /** phantom, for inference */
  readonly __type?: T;
}

export function defineExtensionPoint<T>(id: string, kind: 'single' | 'multi', description: string): ExtensionPoint<T> {
  return { id, kind, description };
}

export interface ProvideOptions {
  /** multi points: lower runs first (default 100); ties keep registration order */
  order?: number;
  /** single points: replace an implementation another plugin provided */
  replace?: boolean;
}

export interface PluginHost {
  provide<T>(point: ExtensionPoint<T>, impl: NoInfer<T>, opts?: ProvideOptions): void;
}

export interface Plugin<O = unknown> {
  /** npm-style name, used in errors: "@mmsim/relocate-anon" */
  readonly name: string;
  readonly version?: string;
  setup(host: PluginHost, options?: O): void;
}

export function definePlugin<O = unknown>(p: Plugin<O>): Plugin<O> {
  if (!p || typeof p.name !== 'string' || !p.name) throw new TypeError('a plugin needs a non-empty string name');
  if (typeof p.setup !== 'function') throw new TypeError(`plugin ${p.name}: setup must be a function`);
  return p;
}

export class PluginConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PluginConflictError';
  }
}

/**
 * `v instanceof C`, false where asking throws: a plugin may throw anything, a Proxy
 * whose getPrototypeOf trap throws included.
 */
export function isInstance<T>(v: unknown, C: abstract new (...a: never[]) => T): v is T {
  try {
    return v instanceof C;
  } catch {
    return false;
  }
}

/**
 * What a plugin threw, as text, without trusting it: an Error's message, a string, or
 * whatever String() gives; a value whose getters or conversion throw is named as such.
 */
export function describeThrown(v: unknown): string {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return String(v);
  try {
    const m = (v as { message?: unknown }).message;
    if (typeof m === 'string') return m;
  } catch {
    return 'a value whose properties throw when read (not an Error)';
  }
  try {
    return String(v);
  } catch {
    return 'a value that cannot be converted to text (not an Error)';
  }
}

/** An error thrown inside a plugin, with the plugin named. */
export class PluginError extends Error {
  constructor(
    readonly plugin: string,
    readonly point: string,
    override readonly cause: unknown,
  ) {
    super(`plugin ${plugin} failed in ${point}: ${describeThrown(cause)}`);
    this.name = 'PluginError';
  }
}

interface Entry<T> {
  impl: T;
  plugin: string;
  order: number;
  n: number;
}

export class PluginRegistry {
  private readonly entries = new Map<string, Entry<unknown>[]>();
  private readonly plugins: string[] = [];
  private n = 0;

  /** Register a plugin: runs its setup. Two plugins of one name is a conflict. */
  use<O>(plugin: Plugin<O>, options?: O): this {
    definePlugin(plugin);
    if (this.plugins.includes(plugin.name)) throw new PluginConflictError(`plugin ${plugin.name} registered twice`);
    this.plugins.push(plugin.name);
    const host: PluginHost = {
      provide: (point, impl, opts) => this.provideAs(plugin.name, point, impl, opts),
    };
    try {
      plugin.setup(host, options);
    } catch (e) {
      if (isInstance(e, PluginConflictError)) throw e;
      throw new PluginError(plugin.name, 'setup', e);
    }
    return this;
  }

  provideAs<T>(plugin: string, point: ExtensionPoint<T>, impl: NoInfer<T>, opts: ProvideOptions = {}): void {
    const list = this.entries.get(point.id) ?? [];
    if (point.kind === 'single' && list.length) {
      if (!opts.replace) {
        throw new PluginConflictError(
          `extension point ${point.id} takes one implementation: ${list[0].plugin} provides it already, ` +
            `${plugin} too (pass { replace: true } to replace it)`,
        );
      }
      list.length = 0;
    }
    list.push({ impl: guardImpl(plugin, point.id, impl), plugin, order: opts.order ?? 100, n: this.n++ });
    list.sort((a, b) => a.order - b.order || a.n - b.n);
    this.entries.set(point.id, list);
  }

  /** The implementation of a single point, with the plugin that gave it. */
  get<T>(point: ExtensionPoint<T>): { impl: T; plugin: string } | undefined {
    const l = this.entries.get(point.id);
    return l && l.length ? (l[0] as Entry<T>) : undefined;
  }

  /** Implementations of a multi point, in order. */
  all<T>(point: ExtensionPoint<T>): { impl: T; plugin: string }[] {
    return (this.entries.get(point.id) ?? []) as Entry<T>[];
  }

  has(name: string): boolean {
    return this.plugins.includes(name);
  }

  names(): readonly string[] {
    return this.plugins;
  }
}

/** Call into a plugin, naming it if it throws. */
export function callPlugin<R>(plugin: string, point: string, fn: () => R): R {
  try {
    return fn();
  } catch (e) {
    throw asPluginError(plugin, point, e);
  }
}

/** `e` as the PluginError of `plugin` at `point` (a PluginError already says where it came from). */
export function asPluginError(plugin: string, point: string, e: unknown): PluginError {
  return isInstance(e, PluginError) ? e : new PluginError(plugin, point, e);
}

type AnyFn = (...args: unknown[]) => unknown;

/** A generator's (or any iterator's) steps, with a throw from inside the plugin named. */
function guardIterator(plugin: string, point: string, it: Iterator<unknown, unknown, unknown>): Iterator<unknown, unknown, unknown> & Iterable<unknown> {
  const g = {
    next(v?: unknown) {
      try {
        return it.next(v);
      } catch (e) {
        throw asPluginError(plugin, point, e);
      }
    },
    throw(err?: unknown) {
      if (!it.throw) throw err;
      try {
        return it.throw(err);
      } catch (e) {
        // the error thrown in (a lock wait's, a caller's) coming back out is not the plugin's
        throw e === err ? e : asPluginError(plugin, point, e);
      }
    },
    return(v?: unknown) {
      return it.return ? it.return(v) : { done: true as const, value: v };
    },
    [Symbol.iterator]() {
      return g;
    },
  };
  return g;
}

const isIterator = (v: unknown): v is Iterator<unknown, unknown, unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { next?: unknown }).next === 'function' && typeof (v as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';

function guardFn(plugin: string, point: string, fn: AnyFn, self: unknown): AnyFn {
  return function (this: unknown, ...args: unknown[]) {
    let r: unknown;
    try {
      r = fn.apply(self ?? this, args);
    } catch (e) {
      throw asPluginError(plugin, point, e);
    }
    // kernel hooks that are generators (copyVmaAndData) throw while they are resumed
    return isIterator(r) ? guardIterator(plugin, point, r) : r;
  };
}

/**
 * What a plugin provides, with every call into it guarded: a throw becomes a
 * PluginError naming the plugin and the point (`mremap-strategy.copyVmaAndData`).
 * Objects keep their data (read through the prototype); their methods are wrapped.
 */
function guardImpl<T>(plugin: string, point: string, impl: T): T {
  if (typeof impl === 'function') return guardFn(plugin, point, impl as AnyFn, undefined) as T;
  if (typeof impl !== 'object' || impl === null) return impl;
  const g = Object.create(impl as object) as Record<string, unknown>;
  const seen = new Set<string>();
  for (let o: object | null = impl as object; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor' || seen.has(key)) continue;
      seen.add(key);
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d && typeof d.value === 'function') g[key] = guardFn(plugin, `${point}.${key}`, d.value as AnyFn, impl);
    }
  }
  return g as T;
}
