import { describe, expect, it } from 'vitest';
import { newRawEvent, toEvent, type Engine } from '@mmsim/core';
import { BENCH_BASE, MREMAP_FIXED, MREMAP_MAYMOVE, VmaBench, doMremap, errnoName, runScenario } from '@mmsim/linux';
import { parseScenario } from '@mmsim/scenario';
import maxMove from '../consumer/max-move.js';
import { vmaLimit, vmaLimitViolations } from '../consumer/vma-limit.js';

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

  it('runs in a scenario, next to a checker in report mode', () => {
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
    const { observation, engine } = runScenario(s, {
      plugins: [
        [maxMove, { maxPages: 16 }],
        [vmaLimit, { maxPages: 16, mode: 'report' }],
      ],
    });
    expect(observation.steps.map((st) => st.result)).toEqual([
      { ok: true, page: 0 },
      { ok: true, page: 8 },
      { ok: true, page: 20 },
      { ok: false, errno: 'EPERM' },
    ]);
    expect(notes(engine)).toHaveLength(1);
    expect(vmaLimitViolations(engine).map((v) => v.pages)).toEqual([24]);
  });

  it('the strict checker fails the step that breaks the limit', () => {
    const s = parseScenario({
      format: 'mmsim-scenario/1',
      name: 'too-big',
      arena: { pages: 64 },
      steps: [{ op: 'mmap', page: 0, pages: 32, prot: 'rw-' }],
    });
    expect(() => runScenario(s, { plugins: [vmaLimit] })).toThrow(/step 0 \(mmap\).*VMA \d+ spans 32 pages \(limit 16\)/);
  });
});
