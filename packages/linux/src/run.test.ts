import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeLogFile, replay, prng } from '@mmsim/core';
import { checkExpectations, parseScenario, type Scenario, type Step } from '@mmsim/scenario';
import { observationFromLog, runScenario } from './run.js';

const goldenDir = fileURLToPath(new URL('../../../scenarios/golden/merge/', import.meta.url));
const goldens = readdirSync(goldenDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => parseScenario(readFileSync(goldenDir + f, 'utf8'), f));

/** A small random scenario: enough variety to exercise replay; validated by parseScenario. */
export function randomScenario(seed: number, steps = 24): Scenario {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)];
  const out: Record<string, unknown>[] = [{ op: 'mmap', page: 0, pages: 64, prot: '---' }];
  let procs = 1;
  for (let i = 0; i < steps; i++) {
    const page = int(56);
    const pages = 1 + int(8);
    const proc = int(procs);
    switch (int(9)) {
      case 0:
        out.push({ op: 'mmap', proc, page, pages, prot: pick(['rw-', 'r--', '---']), fixed: true, noreserve: rnd() < 0.3 });
        break;
      case 1:
      case 2:
        out.push({ op: 'touch', proc, page, pages, access: rnd() < 0.7 ? 'write' : 'read' });
        break;
      case 3:
        out.push({ op: 'mprotect', proc, page, pages, prot: pick(['rw-', 'r--']) });
        break;
      case 4: {
        const to = int(64 - pages);
        if (Math.abs(to - page) >= pages) out.push({ op: 'mremap', proc, page, pages, flags: ['MAYMOVE', 'FIXED'], to });
        break;
      }
      case 5:
        out.push({ op: 'munmap', proc, page, pages });
        break;
      case 6:
        if (procs < 3) {
          out.push({ op: 'fork', proc });
          procs++;
        }
        break;
      case 7:
        out.push({ op: 'madvise', proc, page, pages, advice: pick(['DONTNEED', 'DONTFORK', 'WIPEONFORK', 'HUGEPAGE']) });
        break;
      default:
        out.push({ op: 'snapshot', label: `s${i}` });
    }
  }
  return parseScenario({ format: 'mmsim-scenario/1', name: `random-${seed}`, arena: { pages: 64 }, steps: out as unknown as Step[] });
}

describe('the merge goldens (each checked on a real 6.18 kernel)', () => {
  for (const s of goldens) {
    it(s.name, () => {
      const r = runScenario(s);
      expect(checkExpectations(s, r.observation)).toEqual([]);
    });
  }
});

describe('the log is the truth', () => {
  it('replaying a golden log reproduces the state and the observation', () => {
    for (const s of goldens) {
      const r = runScenario(s);
      expect(replay(r.engine.log)).toEqual(r.engine.state);
      expect(observationFromLog(r.engine.log, r.header)).toEqual(r.observation);
    }
  });

  it('replay equals run on random scenarios (property)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const s = randomScenario(seed);
      const r = runScenario(s);
      expect(replay(r.engine.log), `seed ${seed}`).toEqual(r.engine.state);
      expect(observationFromLog(r.engine.log, r.header), `seed ${seed}`).toEqual(r.observation);
    }
  });

  it('the same scenario gives a byte-identical log', () => {
    const s = goldens[0];
    const a = runScenario(s);
    const b = runScenario(s);
    expect(Buffer.from(encodeLogFile(a.engine.log, a.header)).equals(Buffer.from(encodeLogFile(b.engine.log, b.header)))).toBe(true);
  });
});

describe('observations', () => {
  const run = (steps: unknown[]) =>
    runScenario(parseScenario({ format: 'mmsim-scenario/1', name: 't', arena: { pages: 2048 }, steps })).observation;

  it('a read touch maps the zero page, a write a new exclusive frame', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 2, access: 'read' },
      { op: 'touch', page: 2, pages: 1 },
    ]);
    const pages = o.snapshots[0].procs[0].pages;
    expect(pages.map((p) => p.frame)).toEqual(['zero', 'zero', 'f1']);
    expect(pages.map((p) => p.exclusive)).toEqual([false, false, true]);
  });

  it('fork shares frames until a write copies them (COW), then both are exclusive', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 2, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 2 },
      { op: 'fork' },
      { op: 'snapshot', label: 'forked' },
      { op: 'touch', proc: 1, page: 0, pages: 1 },
    ]);
    const [p0, p1] = o.snapshots[0].procs;
    expect(p0.pages.map((p) => p.frame)).toEqual(p1.pages.map((p) => p.frame));
    expect(p0.pages.every((p) => !p.exclusive)).toBe(true);
    const [q0, q1] = o.snapshots[1].procs;
    expect(q1.pages[0].frame).not.toBe(q0.pages[0].frame);
    expect(q0.pages[0].exclusive && q1.pages[0].exclusive).toBe(true);
    expect(q0.pages[1].frame).toBe(q1.pages[1].frame);
  });

  it('a THP: one head and 511 tails, all exclusive; after fork none are', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 512, prot: 'rw-' },
      { op: 'madvise', page: 0, pages: 512, advice: 'HUGEPAGE' },
      { op: 'touch', page: 0, pages: 1 },
      { op: 'snapshot', label: 'thp' },
      { op: 'fork' },
    ]);
    const pages = o.snapshots[0].procs[0].pages;
    expect(pages).toHaveLength(512);
    expect(pages[0].compound).toBe('head');
    expect(pages.slice(1).every((p) => p.compound === 'tail')).toBe(true);
    expect(new Set(pages.map((p) => p.frame)).size).toBe(512);
    expect(pages.every((p) => p.exclusive)).toBe(true);
    expect(o.snapshots[1].procs[0].pages.every((p) => !p.exclusive)).toBe(true);
  });

  it('SIGSEGV on a PROT_NONE page and on a write to a read-only one', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 2, prot: '---' },
      { op: 'mmap', page: 2, pages: 2, prot: 'r--' },
      { op: 'touch', page: 0, pages: 1, access: 'read' },
      { op: 'touch', page: 2, pages: 2, access: 'write' },
    ]);
    expect(o.steps[2].result).toEqual({ ok: false, signal: 'SIGSEGV', page: 0 });
    expect(o.steps[3].result).toEqual({ ok: false, signal: 'SIGSEGV', page: 2 });
  });

  it('MAP_FIXED_NOREPLACE over a mapping is EEXIST', () => {
    const o = run([
      { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
      { op: 'mmap', page: 2, pages: 4, prot: 'rw-' },
    ]);
    expect(o.steps[1].result).toEqual({ ok: false, errno: 'EEXIST' });
  });
});
