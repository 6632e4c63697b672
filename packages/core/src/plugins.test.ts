/**
 * A plugin failure in any extension point is a PluginError naming the plugin and the
 * point it was thrown in: methods of a provided object, generator hooks while they
 * run, a subscriber's event callbacks (not "engine-attach").
 */
import { describe, expect, it } from 'vitest';
import { ENGINE_SUBSCRIBER, Engine } from './engine.js';
import { E } from './events.js';
import { PluginError, defineExtensionPoint, definePlugin, describeThrown } from './plugins.js';
import type { KGen } from './sched.js';

interface Strategy {
  readonly name: string;
  readonly flags: number;
  check(n: number): number;
  copy?(n: number): KGen<number>;
}
const STRATEGY = defineExtensionPoint<Strategy>('test-strategy', 'multi', 'a hook object with a generator method');

function engineWith(...plugins: Parameters<Engine['plugins']['use']>[0][]): Engine {
  const eng = new Engine();
  for (const p of plugins) eng.plugins.use(p);
  eng.attachSubscribers();
  eng.emit(E.MmCreate, 1, 0);
  eng.commit();
  return eng;
}

const caught = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
};

describe('PluginError names the plugin and the point', () => {
  it('a method of a provided object; its data still reads through', () => {
    class Impl implements Strategy {
      readonly name = 'cls';
      readonly flags = 0x40;
      private calls = 0;
      check(n: number): number {
        if (++this.calls > 1) throw new Error(`second call with ${n}`);
        return n + 1;
      }
    }
    const eng = engineWith(definePlugin({ name: 'p-strategy', setup: (h) => h.provide(STRATEGY, new Impl()) }));
    const s = eng.plugins.all(STRATEGY)[0].impl;
    expect(s.flags).toBe(0x40);
    expect(s.name).toBe('cls');
    expect(s.check(1)).toBe(2); // `this` is the plugin's own object
    expect(s.copy).toBeUndefined();
    const e = caught(() => s.check(5));
    expect(e).toBeInstanceOf(PluginError);
    expect(e).toMatchObject({ plugin: 'p-strategy', point: 'test-strategy.check' });
    expect((e as Error).message).toBe('plugin p-strategy failed in test-strategy.check: second call with 5');
  });

  it('a generator hook that throws while the kernel resumes it, inside a syscall: rolled back, named', () => {
    const eng = engineWith(
      definePlugin({
        name: 'p-gen',
        setup: (h) =>
          h.provide(STRATEGY, {
            name: 'g',
            flags: 0,
            check: () => 0,
            *copy(n: number) {
              yield* eng.lock('mmap_lock:1', 0, 'sleep');
              eng.emit(E.Note, n, 0, 0, 0, 0, 0, 'inside');
              throw new RangeError('copy failed half way');
            },
          }),
      }),
    );
    const s = eng.plugins.all(STRATEGY)[0].impl;
    const r = eng.syscall('mremap', () => s.copy!(7));
    expect(r.ok).toBe(false);
    const err = (r as { error: unknown }).error;
    expect(err).toBeInstanceOf(PluginError);
    expect(err).toMatchObject({ plugin: 'p-gen', point: 'test-strategy.copy' });
    expect((err as PluginError).cause).toBeInstanceOf(RangeError);
    const last = eng.log.get(eng.log.length - 1);
    expect(last).toMatchObject({ type: 'error' });
  });

  it("a subscriber's raw-event callback: named as an event callback, not engine-attach", () => {
    const eng = engineWith(
      definePlugin({
        name: 'p-sub',
        setup: (h) =>
          h.provide(ENGINE_SUBSCRIBER, (engine) =>
            engine.onRaw((r) => {
              if (r.type === E.Note) throw new Error('cannot stand notes');
            }),
          ),
      }),
    );
    const r = eng.syscall('s', function* () {
      eng.emit(E.Note, 0, 0, 0, 0, 0, 0, 'x');
      return 0;
    });
    const err = (r as { error: unknown }).error;
    expect(err).toBeInstanceOf(PluginError);
    expect(err).toMatchObject({ plugin: 'p-sub', point: 'event callback (engine.onRaw)' });
  });

  it("a subscriber's RxJS callback throws synchronously from the event (not later, out of band)", () => {
    const eng = engineWith(
      definePlugin({
        name: 'p-rx',
        setup: (h) =>
          h.provide(ENGINE_SUBSCRIBER, (engine) => {
            const sub = engine.events$.subscribe((ev) => {
              if (ev.type === 'note') throw new Error('rx says no');
            });
            return () => sub.unsubscribe();
          }),
      }),
    );
    const r = eng.syscall('s', function* () {
      eng.emit(E.Note, 0, 0, 0, 0, 0, 0, 'x');
      return 0;
    });
    expect(r.ok).toBe(false);
    expect((r as { error: unknown }).error).toMatchObject({ plugin: 'p-rx', point: 'event callback (engine.events$)' });
    // code outside plugins subscribes unguarded, as before
    const seen: string[] = [];
    const s = eng.events$.subscribe((ev) => seen.push(ev.type));
    eng.emit(E.MmCreate, 2, 0);
    s.unsubscribe();
    expect(seen).toEqual(['mm_create']);
  });
});

describe('whatever a plugin throws is described without trusting it', () => {
  /** every trap throws: instanceof, .message and String() all fail on it */
  const hostile = () =>
    new Proxy(
      {},
      {
        get: () => {
          throw new Error('getter');
        },
        getPrototypeOf: () => {
          throw new Error('proto');
        },
      },
    );

  it('a thrown Proxy whose traps throw, in a hook: a PluginError with a clean message', () => {
    const eng = engineWith(
      definePlugin({
        name: 'p-proxy',
        setup: (h) =>
          h.provide(STRATEGY, {
            name: 'p',
            flags: 0,
            check: () => {
              throw hostile();
            },
          }),
      }),
    );
    const err = caught(() => eng.plugins.all(STRATEGY)[0].impl.check(1));
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).message).toBe('plugin p-proxy failed in test-strategy.check: a value whose properties throw when read (not an Error)');
  });

  it('in setup, and plain values: strings, numbers, null, an object with a throwing toString', () => {
    const eng = new Engine();
    const err = caught(() =>
      eng.plugins.use(
        definePlugin({
          name: 'p-setup',
          setup: () => {
            throw hostile();
          },
        }),
      ),
    );
    expect(err).toMatchObject({ plugin: 'p-setup', point: 'setup' });
    expect(describeThrown('no')).toBe('no');
    expect(describeThrown(7)).toBe('7');
    expect(describeThrown(null)).toBe('null');
    expect(describeThrown(new TypeError('t'))).toBe('t');
    const bad = {
      toString() {
        throw new Error('x');
      },
    };
    expect(describeThrown(bad)).toBe('a value that cannot be converted to text (not an Error)');
  });
});
