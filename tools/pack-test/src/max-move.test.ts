import { describe, expect, it } from 'vitest';
import { newRawEvent, toEvent, type Engine } from '@mmsim/core';
import { MREMAP_FIXED, MREMAP_MAYMOVE, doMremap, errnoName } from '@mmsim/linux';
import { runScenario } from '@mmsim/runner';
import { BENCH_BASE, VmaBench } from '@mmsim/linux/testing';
import { attachCheckers, checkLog, checkersFromPlugins, type CheckerHandle } from '@mmsim/invariants';
import { parseScenario } from '@mmsim/scenario';
import maxMove from '../consumer/max-move.js';
import { vmaLimit } from '../consumer/vma-limit.js';

/** mremap(MAYMOVE|FIXED) of a whole layout VMA to page `to`: the new page, or the errno's name */
function move(b: VmaBench, letter: string, to: number): number | string {
  const [start, end] = b.range(letter);
  const r = b.k.eng.syscall('mremap', () =>
    doMremap(b.k, b.mm, BENCH_BASE + start, end - start, end - start, MREMAP_MAYMOVE | MREMAP_FIXED, BENCH_BASE + to),
  );
  if (!r.ok) throw r.error;
  return r.value < 0 ? errnoName(r.value) : r.value - BENCH_BASE;
}

/** the plugin's notes: every `note` event whose text it wrote */
function notes(engine: Engine): string[] {
  const out: string[] = [];
  const cur = engine.log.cursor(0);
  const raw = newRawEvent();
  while (cur.next(raw)) {
    const ev = toEvent(raw);
    if (ev.type === 'note' && ev.text.includes('"plugin":"max-move"')) out.push(ev.text);
  }
  return out;
}

describe('max-move', () => {
  it('refuses to move a VMA larger than maxPages, moves a small one', () => {
    //                      0123456789abcdef
    const b = new VmaBench('AAAAAAAAAA  BB');
    b.k.eng.plugins.use(maxMove, { maxPages: 4 });
    expect(move(b, 'A', 0x14)).toBe('EPERM');
    expect(move(b, 'B', 0x1a)).toBe(0x1a);
    expect(b.draw(32)).toBe('AAAAAAAAAA                ##');
    expect(notes(b.k.eng)).toHaveLength(1);
  });

  it('runs in a scenario, next to the checker (with the built-in ones)', () => {
    const s = parseScenario({
      format: 'mmsim-scenario/1',
      name: 'big-and-small',
      arena: { pages: 128 },
      steps: [
        { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
        { op: 'mremap', page: 0, pages: 4, flags: ['MAYMOVE', 'FIXED'], to: 8 },
        { op: 'mmap', page: 20, pages: 24, prot: 'rw-' },
        { op: 'mremap', page: 20, pages: 24, flags: ['MAYMOVE', 'FIXED'], to: 60 },
      ],
    });
    let checkers: CheckerHandle | undefined;
    const { observation, engine } = runScenario(s, {
      plugins: [
        [maxMove, { maxPages: 16 }],
        [vmaLimit, { maxPages: 16 }],
      ],
      onKernel: (k) => void (checkers = attachCheckers(k.eng)),
    });
    expect(observation.steps.map((st) => st.result)).toEqual([
      { ok: true, page: 0 },
      { ok: true, page: 8 },
      { ok: true, page: 20 },
      { ok: false, errno: 'EPERM' },
    ]);
    expect(notes(engine)).toHaveLength(1);
    expect(checkers!.violations().map((v) => [v.checker, v.message])).toEqual([['vma-limit', 'VMA 3 spans 24 pages (limit 16)']]);
    // the same from the log alone
    expect(checkLog(engine.log, { extra: checkersFromPlugins([vmaLimit]) })).toEqual(checkers!.violations());
  });

  it('in strict mode the first violation fails the step that breaks the limit', () => {
    const s = parseScenario({
      format: 'mmsim-scenario/1',
      name: 'too-big',
      arena: { pages: 64 },
      steps: [{ op: 'mmap', page: 0, pages: 32, prot: 'rw-' }],
    });
    const strict = { plugins: [vmaLimit], onKernel: (k: { eng: Engine }) => void attachCheckers(k.eng, { mode: 'strict' }) };
    expect(() => runScenario(s, strict)).toThrow(/step 0 \(mmap\).*\[vma-limit\] VMA \d+ spans 32 pages \(limit 16\)/);
  });
});
