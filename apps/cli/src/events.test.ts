/** `mmsim events` on a log of the real model: decoded fields, addresses, the filters. */
import { beforeAll, describe, expect, it } from 'vitest';
import { scenarioJson } from './testing/fixtures.js';
import { cli, files, tmp } from './testing/harness.js';

const dir = tmp();
beforeAll(async () => {
  files(dir, {
    's.json': scenarioJson(
      [
        { op: 'mmap', page: 0, pages: 8, prot: 'rw-' },
        { op: 'touch', page: 0, pages: 3 },
        { op: 'mremap', page: 0, pages: 8, flags: ['MAYMOVE', 'FIXED'], to: 40 },
      ],
      { name: 's' },
    ),
  });
  expect((await cli(['run', 's.json', '--log', 's.mmlog', '-q'], dir)).code).toBe(0);
});

const rows = (out: string) => out.trim().split('\n').slice(1);
const json = async (...args: string[]) => (await cli(['events', 's.mmlog', '--json', ...args], dir)).out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('events', () => {
  it('decodes codes and shows byte addresses with the arena page', async () => {
    const r = await cli(['events', 's.mmlog'], dir);
    expect(r.out).toMatch(/lock_acquire\s+mmap_lock:1 write sleep\n/);
    expect(r.out).toMatch(/lock_acquire\s+ptl:1:0x10000000000 write spin\n/);
    expect(r.out).toMatch(/vma_insert\s+vma=1 mm=1 start=0x10000000000 \(page 0\) end=0x10000008000 \(page 8\) pgoff=0x10000000 \(page offset\) flags=rw-p/);
    expect(r.out).toMatch(/pte_move\s+mm=1 from=0x10000000000 \(page 0\) to=0x10000028000 \(page 40\)/);
    expect(r.out).toMatch(/folio_mapping\s+pfn=\d+ mapping=av1/);
    expect(r.out).toMatch(/anon_vma_count\s+anonVma=av1 num_children \+1/);
  });

  it('--page and --addr: the events about one page, the same either way', async () => {
    const byPage = await json('--page', '2');
    expect(byPage.map((e) => e.type)).toEqual(expect.arrayContaining(['vma_insert', 'pte_set', 'fault', 'pte_move']));
    for (const e of byPage) if (e.type === 'pte_set' || e.type === 'fault') expect(e.vpn).toBe(0x10000002);
    expect(await json('--addr', '0x10000002000')).toEqual(byPage);
    expect(await json('--addr', '0x10000002fff')).toEqual(byPage);
  });

  it('--vma, --pfn, --lock, --task, --span', async () => {
    const vma2 = await json('--vma', '2');
    expect(vma2.length).toBeGreaterThan(0);
    expect(vma2.every((e) => e.vma === 2 || e.newVma === 2 || e.other === 2 || e.lock === 'vma_lock:2')).toBe(true);
    const pfn = (await json('--type', 'pte_set'))[0].pfn;
    const byPfn = await json('--pfn', String(pfn));
    expect(byPfn.map((e) => e.type)).toEqual(expect.arrayContaining(['folio_alloc', 'pte_set', 'folio_mapping']));
    const locks = await json('--lock', 'mmap_lock:1');
    expect(locks.length).toBeGreaterThan(0);
    expect(new Set(locks.map((e) => e.lock))).toEqual(new Set(['mmap_lock:1']));
    expect((await json('--lock', 'ptl')).every((e) => e.lock.startsWith('ptl:'))).toBe(true);
    expect(await json('--task', '7')).toEqual([]);
    const mremap = (await json('--type', 'span_open')).find((e) => e.name === 'step:mremap');
    const inside = await json('--span', String(mremap.span));
    expect(inside[0]).toMatchObject({ type: 'span_open', name: 'step:mremap' });
    expect(inside.map((e) => e.type)).toContain('pte_move');
    expect(inside.some((e) => e.type === 'pte_set')).toBe(false);
  });

  it('refuses a bad --addr and --page together with --addr', async () => {
    const r = await cli(['events', 's.mmlog', '--addr', 'somewhere'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--addr: expected a byte address');
    expect((await cli(['events', 's.mmlog', '--addr', '0x0', '--page', '1'], dir)).err).toContain('give one of them');
    expect(rows((await cli(['events', 's.mmlog', '--addr', '0x7f0000000000'], dir)).out)).toEqual([]);
  });
});

describe('a log where a scenario is expected, and back', () => {
  it('run on a log says to use replay; replay on a scenario says to use run; no --salvage hint for a header', async () => {
    const r = await cli(['run', 's.mmlog'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('s.mmlog is an mmsim event log, not a scenario: use `npx mmsim replay s.mmlog`');
    const b = await cli(['replay', 's.json'], dir);
    expect(b.code).toBe(2);
    expect(b.err).toContain('s.json is JSON (a scenario?), not an mmsim event log: run it with `npx mmsim run s.json --log out.mmlog`');
    files(dir, { 'junk.mmlog': 'not a log at all, just some text' });
    const j = await cli(['replay', 'junk.mmlog'], dir);
    expect(j.err).toContain('bad magic');
    expect(j.err).not.toContain('--salvage');
  });
});

describe('run and replay, human output', () => {
  it('show frame sharing after fork, the zero page, exclusivity, byte addresses; replay keeps the step arguments', async () => {
    files(dir, {
      'fork.json': scenarioJson(
        [
          { op: 'mmap', page: 0, pages: 8, prot: 'rw-' },
          { op: 'touch', page: 0, pages: 2 },
          { op: 'touch', page: 2, pages: 1, access: 'read' },
          { op: 'fork' },
          { op: 'touch', page: 1, pages: 1, proc: 1 },
        ],
        { name: 'fork' },
      ),
    });
    // stock 6.18: a read fault maps the zero page (this machine's pvm_no_zero_page=1 would allocate)
    const r = await cli(['run', 'fork.json', '--log', 'fork.mmlog', '--kernel-config', 'stock'], dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('A  pages [0, 8)       0x10000000000-0x10000008000  rw-p');
    expect(r.out).toMatch(/frames: pages \[0, 1\) f1 not exclusive shared with proc 1 page 0; pages \[1, 2\) f2 \S+( \S+)?; pages \[2, 3\) zero page/);
    expect(r.out).toMatch(/proc 1: [\s\S]*frames: pages \[0, 1\) f1 not exclusive shared with proc 0 page 0; pages \[1, 2\) f\d+ exclusive;/);
    const rp = await cli(['replay', 'fork.mmlog'], dir);
    expect(rp.code).toBe(0);
    expect(rp.out).toMatch(/#0\s+mmap \[0, 8\) rw- private\s+ok -> page 0/);
    expect(rp.out).toMatch(/#4\s+touch \[1, 2\) write \(proc 1\)\s+ok/);
    // the snapshots read the same as run's
    expect(rp.out.slice(rp.out.indexOf('snapshot "final"'))).toBe(r.out.slice(r.out.indexOf('snapshot "final"')));
  });
});
