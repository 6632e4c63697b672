/** Two mremap strategies may not claim one MREMAP_* flag: the run fails naming both. */
import { describe, expect, it } from 'vitest';
import { definePlugin, PluginConflictError } from '@mmsim/core';
import { parseScenario } from '@mmsim/scenario';
import { MREMAP_STRATEGY } from '@mmsim/linux';
import { runScenario } from './run.js';

const claim = (name: string, extraFlags: number) =>
  definePlugin({ name: `${name}-plugin`, setup: (host) => host.provide(MREMAP_STRATEGY, { name, extraFlags }) });

const scenario = parseScenario(
  JSON.stringify({
    format: 'mmsim-scenario/1',
    name: 'one-move',
    arena: { pages: 64 },
    steps: [
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'mremap', page: 0, pages: 4, flags: ['MAYMOVE', 'FIXED'], to: 20 },
    ],
  }),
);

describe('MREMAP_STRATEGY flag claims', () => {
  it('two strategies with one flag: a PluginConflictError naming both strategies, their plugins and the flag', () => {
    let err: unknown;
    try {
      runScenario(scenario, { plugins: [claim('first', 8), claim('second', 8 | 16)] });
    } catch (e) {
      err = e;
    }
    expect((err as { cause?: unknown }).cause).toBeInstanceOf(PluginConflictError);
    expect((err as Error).message).toBe(
      'step 1 (mremap): mremap strategies first (plugin first-plugin) and second (plugin second-plugin) both claim MREMAP_RELOCATE_ANON (0x8): load only one of them',
    );
  });

  it('a strategy claiming a flag mremap() implements is refused; disjoint flags run', () => {
    expect(() => runScenario(scenario, { plugins: [claim('greedy', 2)] })).toThrow(/mremap strategy greedy \(plugin greedy-plugin\) claims MREMAP_FIXED \(0x2\), which mremap\(\) itself implements/);
    const ok = runScenario(scenario, { plugins: [claim('a', 8), claim('b', 16)] });
    expect(ok.observation.steps[1].result).toEqual({ ok: true, page: 20 });
  });
});
