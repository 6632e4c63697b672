/**
 * End to end on the real kernel model (@mmsim/linux) with the golden scenarios of
 * scenarios/golden/merge (and scenarios/golden/vma). Skipped while the model does not export runScenario.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeLogFile } from '@mmsim/core';
import { cli, tmp } from './testing/harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const GOLDEN = join(ROOT, 'scenarios/golden/merge');
/** the scenario files of a folder of goldens, sorted */
const jsonFiles = (d: string): string[] =>
  readdirSync(d)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(d, f));
const goldens = jsonFiles(GOLDEN);
const dir = tmp();

describe('goldens on @mmsim/linux', () => {
  it('run passes every expectation of the merge goldens', async () => {
    const r = await cli(['run', ...goldens, '-q'], dir);
    expect(r.out).toContain(`${goldens.length} scenarios: ${goldens.length} passed, 0 with failed expectations`);
    expect(r.code).toBe(0);
  });

  it('run passes every expectation of the vma.c goldens, under the checkers', async () => {
    const vma = jsonFiles(join(ROOT, 'scenarios/golden/vma'));
    expect(vma.length).toBeGreaterThanOrEqual(10);
    const r = await cli(['run', ...vma, '-q', '--check'], dir);
    expect(r.out).toContain(`${vma.length} scenarios: ${vma.length} passed, 0 with failed expectations, 0 invariant violations`);
    expect(r.code).toBe(0);
  });

  it('the relocate-anon goldens pass with no flag (the default profile has the series)', async () => {
    const rel = jsonFiles(join(ROOT, 'scenarios/golden/relocate-anon'));
    const r = await cli(['run', ...rel, '-q'], dir);
    expect(r.out).toContain(`${rel.length} scenarios: ${rel.length} passed`);
    expect(r.code).toBe(0);
  });

  it('the large-folio goldens pass with no flag, under the checkers: their kernel blocks decide', async () => {
    const lf = jsonFiles(join(ROOT, 'scenarios/golden/large-folio'));
    expect(lf.length).toBeGreaterThanOrEqual(3);
    const r = await cli(['run', ...lf, '-q', '--check'], dir);
    expect(r.out).toContain(`${lf.length} scenarios: ${lf.length} passed, 0 with failed expectations, 0 invariant violations`);
    expect(r.code).toBe(0);
  });

  it('run --log twice gives byte-identical files', async () => {
    const a = await cli(['run', ...goldens, '--log', 'one', '--json'], dir);
    const b = await cli(['run', ...goldens, '--log', 'two', '--json'], dir);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    // the header's nonce is a hash of what the run read (core file.ts), not random: the
    // same run writes the same bytes, and every other run another nonce
    const nonces = new Set<string>();
    for (const g of goldens) {
      const name = g.split('/').pop()!.replace(/\.json$/, '.mmlog');
      const x = readFileSync(join(dir, 'one', name));
      expect(x.length).toBeGreaterThan(100);
      expect(x.equals(readFileSync(join(dir, 'two', name))), name).toBe(true);
      nonces.add(decodeLogFile(x).header.nonce!);
    }
    expect(nonces.size).toBe(goldens.length);
    expect(a.out).toBe(b.out);
  });

  it('replay --json equals run --json for every golden', async () => {
    const run = await cli(['run', ...goldens, '--json'], dir);
    const lines = run.out.trim().split('\n');
    expect(lines).toHaveLength(goldens.length);
    for (let k = 0; k < goldens.length; k++) {
      const name = goldens[k].split('/').pop()!.replace(/\.json$/, '.mmlog');
      const rep = await cli(['replay', join('one', name), '--json'], dir);
      expect(rep.code).toBe(0);
      expect(rep.out.trim(), name).toBe(lines[k]);
    }
  });

  it('events shows PTE, lock, folio and VMA events with increasing seq', async () => {
    const g = goldens.find((f) => f.includes('mremap_correct_placed_faulted'))!;
    await cli(['run', g, '--log', 'mr.mmlog', '--json'], dir);
    const r = await cli(['events', 'mr.mmlog', '--json'], dir);
    expect(r.code).toBe(0);
    const evs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    let last = -1;
    for (const e of evs) {
      expect(e.seq).toBeGreaterThan(last);
      last = e.seq;
    }
    const types = new Set(evs.map((e) => e.type));
    for (const t of ['pte_set', 'lock_acquire', 'lock_release', 'folio_alloc', 'vma_insert', 'span_open', 'note']) expect(types, t).toContain(t);
    expect([...types].some((t) => t === 'pte_move' || t === 'pt_move')).toBe(true);
    const f = await cli(['events', 'mr.mmlog', '--type', 'vma_insert,vma_adjust'], dir);
    expect(f.out).toMatch(/\d+:__mmap_region\s+vma_insert\s+vma=1 mm=1/);
  });

  it('inspect --at works mid-log', async () => {
    const all = (await cli(['events', 'mr.mmlog', '--json'], dir)).out.trim().split('\n').map((l) => JSON.parse(l));
    const mid = all.find((e) => e.type === 'pte_set')!.seq + 1;
    const r = await cli(['inspect', 'mr.mmlog', '--at', String(mid)], dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`state after ${mid} of ${all.length} events`);
    expect(r.out).toMatch(/VMAs:\n\s+vma\s+start\s+end\s+arena pages\s+pages\s+pgoff \(page\)\s+perms\s+anon_vma\s+chain\s+flags/);
    // byte addresses as the kernel prints them, the arena pages beside them
    expect(r.out).toMatch(/#\d+\s+0x10000000000\s+0x[0-9a-f]+000\s+\[0, \d+\)/);
    expect(r.out).toMatch(/-> {2}pfn \d+/);
    expect(r.out).toContain('folios (');
    expect(r.out).toContain('open spans:');
    const j = JSON.parse((await cli(['inspect', 'mr.mmlog', '--at', String(mid), '--json'], dir)).out);
    expect(j.state.seq).toBe(mid);
    expect(j.state.mms[0].ptes.length).toBeGreaterThan(0);
    expect(j.state.spans.length).toBeGreaterThan(0);
  });

  it('a log cut at two thirds with garbage appended is refused with a clear message', async () => {
    const buf = readFileSync(join(dir, 'mr.mmlog'));
    const cut = Buffer.concat([buf.subarray(0, Math.floor((buf.length * 2) / 3)), Buffer.from('garbage garbage garbage')]);
    writeFileSync(join(dir, 'cut.mmlog'), cut);
    for (const cmd of ['replay', 'events', 'inspect', 'stats']) {
      const r = await cli([cmd, 'cut.mmlog'], dir);
      expect(r.code, cmd).toBe(2);
      expect(r.err).toMatch(/cut\.mmlog: .*(cut short|checksum|magic).*at byte offset \d+/);
      expect(r.err).toContain('--salvage');
    }
    const s = await cli(['stats', 'cut.mmlog', '--salvage', '--json'], dir);
    expect(s.code).toBe(0);
    expect(s.err).toMatch(/salvaged \d+ events/);
  });

  it('stats and export work on a model log', async () => {
    const s = JSON.parse((await cli(['stats', 'mr.mmlog', '--json'], dir)).out);
    expect(s.counts.VMAs.max).toBeGreaterThan(0);
    expect(s.byType.lock_acquire).toBe(s.byType.lock_release);
    const e = await cli(['export', 'mr.mmlog', '--perfetto', 'mr.trace.json'], dir);
    expect(e.code).toBe(0);
    const trace = JSON.parse(readFileSync(join(dir, 'mr.trace.json'), 'utf8'));
    const ev = trace.traceEvents as { ph: string; name?: string }[];
    expect(ev.filter((x) => x.ph === 'B').length).toBe(ev.filter((x) => x.ph === 'E').length);
    expect(ev.some((x) => x.ph === 'B' && x.name === 'step:mremap')).toBe(true);
    expect(ev.some((x) => x.ph === 'X' && x.name?.startsWith('mmap_lock'))).toBe(true);
  });

  it('demo tells the story and writes a log for the debugger', async () => {
    const r = await cli(['demo', '--log', 'demo.mmlog'], dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('mmsim demo: a VMA moved away with mremap() and back does not merge again');
    for (const h of ['1. Map 10 pages', '2. Move the upper half away', '3. Move the upper half back', '4. The same with MREMAP_RELOCATE_ANON', 'Summary']) {
      expect(r.out).toContain(h);
    }
    expect(r.out).toContain('A [0, 5) rw-p   B [5, 10) rw-p');
    expect(r.out).toMatch(/=> one 10-page mapping is now 2 VMAs/);
    // one VMAs row (the mapping is the mm's only one), no repeated row
    expect(r.out).toMatch(/\n {2}VMAs\s+2\s+1\n/);
    expect(r.out).not.toContain('VMAs in the mapping');
    expect(r.out).toContain(`Event log of the mainline run: ${join(dir, 'demo.mmlog')}`);
    expect(r.out).toContain('one VMA again');
    const again = await cli(['demo', '--log', 'demo2.mmlog'], dir);
    expect(again.out.replaceAll('demo2', 'demo')).toBe(r.out);
    expect(readFileSync(join(dir, 'demo.mmlog')).equals(readFileSync(join(dir, 'demo2.mmlog')))).toBe(true);
    const st = await cli(['replay', 'demo.mmlog', '--json'], dir);
    expect(JSON.parse(st.out).snapshots.map((s: { label: string }) => s.label)).toEqual(['mapped', 'moved away and faulted', 'moved back', 'final']);
  });

  it('demo writes mmsim-demo.mmlog in the working directory by default', async () => {
    const d = tmp();
    const r = await cli(['demo'], d);
    expect(r.code).toBe(0);
    expect(r.out).toContain(join(d, 'mmsim-demo.mmlog'));
    expect(readFileSync(join(d, 'mmsim-demo.mmlog')).length).toBeGreaterThan(0);
  });
});
