/**
 * Type assertions about the public API plugin authors build on. Compiled, never run:
 * by the typecheck target (`npx nx run @mmsim/pack-test:typecheck`, `npm run
 * typecheck`) and by api.test.ts (so `npm test` fails too). A failing
 * `expectTypeOf(...)` or an unused `@ts-expect-error` is a compile error.
 */
import { expectTypeOf } from 'vitest';
import {
  ENGINE_SUBSCRIBER,
  definePlugin,
  toEvent,
  type Engine,
  type EventOf,
  type EventTypeName,
  type ExtensionPoint,
  type KGen,
  type MmEvent,
  type Plugin,
  type PluginHost,
  type RawEvent,
} from '@mmsim/core';
import {
  MREMAP_STRATEGY,
  type CopyResult,
  type MoveContext,
  type MremapStrategy,
  type Vrm,
} from '@mmsim/linux';
import { runScenario, type RunOptions } from '@mmsim/runner';
import { checkExpectations, parseScenario, type MremapStep, type Observation, type Scenario, type Step, type StepResult } from '@mmsim/scenario';
import { invariantsPlugin, type Violation } from '@mmsim/invariants';
import relocateAnon, { type RelocateOptions } from '@mmsim/relocate-anon';
import largeFolio from '@mmsim/large-folio';

/* ------------------------------------------------------------------ Plugin */

expectTypeOf<Plugin>().toHaveProperty('name').toEqualTypeOf<string>();
expectTypeOf<Plugin>().toHaveProperty('version').toEqualTypeOf<string | undefined>();
expectTypeOf<Plugin<{ n: number }>['setup']>().parameters.toEqualTypeOf<[host: PluginHost, options?: { n: number }]>();
expectTypeOf<Plugin['setup']>().returns.toEqualTypeOf<void>();
// definePlugin keeps the options type
expectTypeOf(definePlugin<{ n: number }>({ name: 'x', setup() {} })).toEqualTypeOf<Plugin<{ n: number }>>();
expectTypeOf(relocateAnon).toEqualTypeOf<Plugin<RelocateOptions>>();
expectTypeOf(invariantsPlugin).toExtend<Plugin<never>>();
expectTypeOf(largeFolio).toExtend<Plugin<never>>();
// a Plugin<O> goes into RunOptions.plugins alone or with its options
expectTypeOf<[Plugin<RelocateOptions>, RelocateOptions]>().toExtend<NonNullable<RunOptions['plugins']>[number]>();

// PluginHost.provide is typed by the extension point
expectTypeOf<PluginHost['provide']>().toBeFunction();
export function provideChecks(host: PluginHost, strategy: MremapStrategy): void {
  host.provide(MREMAP_STRATEGY, strategy);
  host.provide(MREMAP_STRATEGY, { name: 'minimal', extraFlags: 0 }, { order: 50 });
  host.provide(ENGINE_SUBSCRIBER, (engine: Engine) => engine.onRaw(() => {}));
  // @ts-expect-error: a strategy needs extraFlags
  host.provide(MREMAP_STRATEGY, { name: 'no-flags' });
  // `impl: NoInfer<T>`: an implementation of the wrong shape fails instead of widening T
  // @ts-expect-error: a subscriber is a function of the engine
  host.provide(ENGINE_SUBSCRIBER, { name: 'not-a-function' });
}

/* ------------------------------------------------------------- MmEvent union */

expectTypeOf<MmEvent['type']>().toEqualTypeOf<EventTypeName>();
expectTypeOf<Extract<MmEvent, { type: 'note' }>>().toEqualTypeOf<EventOf<'note'>>();
expectTypeOf(toEvent).parameter(0).toEqualTypeOf<RawEvent>();
expectTypeOf(toEvent).returns.toEqualTypeOf<MmEvent>();
export function narrowing(ev: MmEvent): void {
  expectTypeOf(ev.seq).toBeNumber();
  expectTypeOf(ev.span).toBeNumber();
  // @ts-expect-error: not every event has a vma
  void ev.vma;
  if (ev.type === 'note') {
    expectTypeOf(ev).toEqualTypeOf<EventOf<'note'>>();
    expectTypeOf(ev.text).toBeString();
    expectTypeOf(ev.value).toBeNumber();
  } else if (ev.type === 'vma_insert') {
    expectTypeOf(ev).toHaveProperty('start').toBeNumber();
    expectTypeOf(ev).toHaveProperty('end').toBeNumber();
    expectTypeOf(ev).toHaveProperty('flags').toBeNumber();
    // @ts-expect-error: vma_insert carries no string
    void ev.text;
  } else if (ev.type === 'span_open') {
    expectTypeOf(ev.name).toBeString();
  } else if (ev.type === 'pte_set') {
    expectTypeOf(ev).toHaveProperty('pfn').toBeNumber();
    expectTypeOf(ev).toHaveProperty('vpn').toBeNumber();
  }
}

/* ------------------------------------------------------------ MremapStrategy */

expectTypeOf(MREMAP_STRATEGY).toEqualTypeOf<ExtensionPoint<MremapStrategy>>();
expectTypeOf<MremapStrategy['name']>().toEqualTypeOf<string>();
expectTypeOf<MremapStrategy['extraFlags']>().toEqualTypeOf<number>();
expectTypeOf<MremapStrategy['checkParams']>().toEqualTypeOf<((flags: number) => number) | undefined>();
expectTypeOf<MremapStrategy['checkPrepVma']>().toEqualTypeOf<((ctx: MoveContext) => number) | undefined>();
expectTypeOf<MremapStrategy['copyVmaAndData']>().toEqualTypeOf<((ctx: MoveContext) => KGen<CopyResult | null>) | undefined>();
expectTypeOf<MremapStrategy['afterMove']>().toEqualTypeOf<((ctx: MoveContext, newVma: number) => KGen<void>) | undefined>();
expectTypeOf<MoveContext['vrm']>().toEqualTypeOf<Vrm>();
expectTypeOf<MoveContext['copyVmaAndData']>().returns.toEqualTypeOf<KGen<CopyResult>>();
expectTypeOf<Vrm>().toHaveProperty('flags').toBeNumber();
expectTypeOf<CopyResult>().toEqualTypeOf<{ err: number; newVma: number; vma: number }>();

/* ------------------------------------------------------ Scenario/Observation */

expectTypeOf(parseScenario).returns.toEqualTypeOf<Scenario>();
expectTypeOf(parseScenario).parameter(0).toBeUnknown();
expectTypeOf<Scenario['format']>().toEqualTypeOf<'mmsim-scenario/1'>();
expectTypeOf<Scenario['steps']>().toEqualTypeOf<Step[]>();
expectTypeOf<Extract<Step, { op: 'mremap' }>>().toEqualTypeOf<MremapStep>();
expectTypeOf<Observation['format']>().toEqualTypeOf<'mmsim-observation/1'>();
expectTypeOf<Observation['steps'][number]['result']>().toEqualTypeOf<StepResult>();
expectTypeOf(runScenario).returns.toHaveProperty('observation').toEqualTypeOf<Observation>();
expectTypeOf(runScenario).returns.toHaveProperty('engine').toEqualTypeOf<Engine>();
expectTypeOf(checkExpectations).parameters.toEqualTypeOf<[Scenario, Observation]>();
expectTypeOf(checkExpectations).returns.toEqualTypeOf<string[]>();
export function results(r: StepResult): void {
  if (!r.ok && 'errno' in r) expectTypeOf(r.errno).toBeString();
}
expectTypeOf<Violation>().toHaveProperty('seq').toBeNumber();
