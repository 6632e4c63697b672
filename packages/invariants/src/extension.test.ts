/**
 * The CHECKER extension point on runs of the model: a plugin's checker reports like the
 * built-ins, while the engine runs (attachCheckers) and over the finished log (checkLog).
 */
import { describe, expect, it } from 'vitest';
import { E, ENGINE_SUBSCRIBER, definePlugin, PluginError, type Plugin } from '@mmsim/core';
import { runScenario } from '@mmsim/runner';
import { parseScenario } from '@mmsim/scenario';
import { CHECKER, InvariantViolationError, attachCheckers, checkLog, checkersFromPlugins, groupViolations, formatViolationGroup } from './index.js';

const scenario = parseScenario(
  JSON.stringify({
    format: 'mmsim-scenario/1',
    name: 'two-mmaps',
    arena: { pages: 256 },
    steps: [
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'mmap', page: 20, pages: 24, prot: 'rw-' },
      { op: 'touch', page: 20, pages: 24 },
      { op: 'mmap', page: 100, pages: 30, prot: 'rw-' },
    ],
  }),
);

/** No VMA larger than 16 pages, checked on each vma_insert; the end of each syscall counts VMAs. */
const vmaLimit: Plugin = definePlugin({
  name: 'vma-limit',
  setup(host) {
    host.provide(CHECKER, {
      name: 'vma-limit',
      create: (ctx) => ({
        onEvent(r) {
          if (r.type === E.VmaInsert && r.d - r.c > 16) ctx.report(`VMA ${r.a} spans ${r.d - r.c} pages (limit 16)`, { vma: [r.a] });
        },
        onSyscallEnd() {
          if (ctx.state.vmas.size > 2) ctx.report('more than 2 VMAs');
        },
      }),
    });
  },
});

describe('CHECKER: third-party invariant checkers', () => {
  it('reports through attachCheckers while the engine runs: checker name, seq, span path, objects', () => {
    let h: ReturnType<typeof attachCheckers> | undefined;
    const res = runScenario(scenario, { plugins: [vmaLimit], onKernel: (k) => void (h = attachCheckers(k.eng)) });
    const vs = h!.violations();
    expect(vs.map((v) => [v.checker, v.message])).toEqual([
      ['vma-limit', 'VMA 2 spans 24 pages (limit 16)'],
      ['vma-limit', 'VMA 3 spans 30 pages (limit 16)'],
      ['vma-limit', 'more than 2 VMAs'],
    ]);
    // the seq is the vma_insert's own; the syscall-end one the closing span_close
    const log = res.engine.log;
    expect(log.get(vs[0].seq).type).toBe('vma_insert');
    expect(log.get(vs[2].seq).type).toBe('span_close');
    expect(vs[0].spanPath[0]).toBe('step:mmap');
    expect(vs[0].objects).toEqual({ vma: [2] });
    // the same findings from the log alone, with the checker given as a plugin
    expect(checkLog(log, { extra: checkersFromPlugins([vmaLimit]) })).toEqual(vs);
    // and not without it
    expect(checkLog(log)).toEqual([]);
  });

  it('strict mode stops at the first violation like a built-in (InvariantViolationError)', () => {
    let thrown: unknown;
    try {
      runScenario(scenario, { plugins: [vmaLimit], onKernel: (k) => void attachCheckers(k.eng, { mode: 'strict' }) });
    } catch (e) {
      thrown = e;
    }
    expect(String(thrown)).toMatch(/step 1 \(mmap\).*\[vma-limit\] VMA 2 spans 24 pages/);
    const res = runScenario(scenario, { plugins: [vmaLimit] });
    expect(() => checkLog(res.engine.log, { mode: 'strict', extra: checkersFromPlugins([vmaLimit]) })).toThrow(InvariantViolationError);
  });

  it('a checker that throws is named: PluginError with the plugin, the checker and the hook', () => {
    const broken = definePlugin({
      name: 'broken-checker',
      setup(host) {
        host.provide(CHECKER, { name: 'broken', create: () => ({ onSyscallEnd: () => { throw new Error('oops'); } }) });
      },
    });
    const res = runScenario(scenario);
    let err: unknown;
    try {
      checkLog(res.engine.log, { extra: checkersFromPlugins([broken]) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toBe('plugin broken-checker failed in invariant-checker (checker broken, onSyscallEnd): oops');
  });

  it('checkers: selects built-in and extra checkers by name, and refuses unknown names', () => {
    const log = runScenario(scenario, { plugins: [vmaLimit] }).engine.log;
    const extra = checkersFromPlugins([vmaLimit]);
    expect(checkLog(log, { extra, checkers: ['rmap'] })).toEqual([]);
    expect(checkLog(log, { extra, checkers: ['vma-limit'] })).toHaveLength(3);
    expect(() => checkLog(log, { extra, checkers: ['nope'] })).toThrow(/unknown checker "nope" \(known: rmap, rmap-race, locking, structure, lifetime, vma-limit\)/);
  });

  it('runScenario calls the detach function of an ENGINE_SUBSCRIBER when the run ends', () => {
    const seen: string[] = [];
    const sub = definePlugin({
      name: 'recorder',
      setup: (host) =>
        host.provide(ENGINE_SUBSCRIBER, (eng) => {
          const off = eng.onRaw(() => undefined);
          seen.push('attached');
          return () => {
            off();
            seen.push('detached');
          };
        }),
    });
    runScenario(scenario, { plugins: [sub] });
    expect(seen).toEqual(['attached', 'detached']);
  });

  it('groups a root cause repeated: one report with a count, the first and the last seq', () => {
    const log = runScenario(scenario, { plugins: [vmaLimit] }).engine.log;
    const groups = groupViolations(checkLog(log, { extra: checkersFromPlugins([vmaLimit]) }));
    expect(groups.map((g) => [g.count, g.pattern])).toEqual([
      [2, 'VMA # spans # pages (limit #)'],
      [1, 'more than # VMAs'],
    ]);
    expect(formatViolationGroup(groups[0])).toMatch(/^\[vma-limit\] seq \d+ in step:mmap.*: VMA 2 spans 24 pages \(limit 16\) \{"vma":\[2\]\} \(2 times: first at seq \d+, last at seq \d+\)$/);
  });
});
