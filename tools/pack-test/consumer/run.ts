/**
 * Runs the scenario through both plugins with the public API, and the strategy on a
 * VmaBench layout; prints one JSON object for the pack test to check.
 */
import { newRawEvent, toEvent, type Engine, type EventOf } from '@mmsim/core';
import { attachCheckers, type CheckerHandle } from '@mmsim/invariants';
import { MREMAP_FIXED, MREMAP_MAYMOVE, doMremap, errnoName } from '@mmsim/linux';
import { runScenario } from '@mmsim/runner';
import { BENCH_BASE, VmaBench } from '@mmsim/linux/testing';
import { parseScenario } from '@mmsim/scenario';
import maxMove from './max-move.js';
import { vmaLimit } from './vma-limit.js';
import scenarioJson from './scenario.json' with { type: 'json' };

/** Every `note` event of a run, with the name of the span it was emitted in. */
function notes(engine: Engine): { text: string; value: number; span: string }[] {
  const spanNames = new Map<number, string>();
  const out: { text: string; value: number; span: string }[] = [];
  const cur = engine.log.cursor(0);
  const raw = newRawEvent();
  while (cur.next(raw)) {
    const ev = toEvent(raw);
    if (ev.type === 'span_open') spanNames.set(ev.span, ev.name);
    else if (ev.type === 'note') {
      const note: EventOf<'note'> = ev;
      out.push({ text: note.text, value: note.value, span: spanNames.get(note.span) ?? '' });
    }
  }
  return out;
}

// 1. a scenario, with the strategy and the checker (attachCheckers runs the built-in
//    checkers and those the plugins provide at CHECKER, in report mode by default)
const scenario = parseScenario(scenarioJson);
let checkers: CheckerHandle | undefined;
const { observation, engine } = runScenario(scenario, {
  plugins: [
    [maxMove, { maxPages: 16 }],
    [vmaLimit, { maxPages: 16 }],
  ],
  onKernel: (k) => void (checkers = attachCheckers(k.eng)),
});

// 2. the strategy alone on a VmaBench layout: A (10 pages) may not move, B (2) may
const bench = new VmaBench('AAAAAAAAAA  BB');
bench.k.eng.plugins.use(maxMove, { maxPages: 4 });
const mremap = (letter: string, to: number) => {
  const [start, end] = bench.range(letter);
  const r = bench.k.eng.syscall('mremap', () =>
    doMremap(bench.k, bench.mm, BENCH_BASE + start, end - start, end - start, MREMAP_MAYMOVE | MREMAP_FIXED, BENCH_BASE + to),
  );
  if (!r.ok) throw r.error;
  return r.value < 0 ? errnoName(-r.value) : r.value - BENCH_BASE;
};
const moveA = mremap('A', 0x14);
const moveB = mremap('B', 0x1a);

console.log(
  JSON.stringify({
    plugins: engine.plugins.names(),
    steps: observation.steps,
    notes: notes(engine),
    violations: checkers!.violations(),
    bench: { moveA, moveB, layout: bench.draw(32) },
  }),
);
