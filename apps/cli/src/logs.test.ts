/**
 * Log-reading commands (events, inspect, stats, export, replay) on logs the model
 * (@mmsim/runner's runScenario) wrote.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLogFile } from '@mmsim/core';
import { parseScenario, stableStringify } from '@mmsim/scenario';
import { runScenario } from '@mmsim/runner';
import { scenarioJson } from './testing/fixtures.js';
import { cli, files, tmp } from './testing/harness.js';

const dir = tmp();
const SCEN = parseScenario(
  scenarioJson([
    { op: 'mmap', page: 0, pages: 10, prot: 'rw-' },
    { op: 'touch', page: 0, pages: 6 },
    { op: 'snapshot', label: 'faulted' },
    { op: 'munmap', page: 0, pages: 10 },
    { op: 'mmap', page: 20, pages: 4, prot: 'r--' },
  ]),
);
const res = runScenario(SCEN);
const bytes = encodeLogFile(res.engine.log, res.header);
const N = res.engine.log.length;

beforeAll(() => {
  files(dir, {
    'a.mmlog': bytes,
    // cut at two thirds, garbage appended
    'cut.mmlog': new Uint8Array([...bytes.subarray(0, Math.floor((bytes.length * 2) / 3)), 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]),
    'notalog.mmlog': 'hello, world, this is not a log',
  });
});

describe('events', () => {
  it('prints NDJSON with seq, task, span, type and the fields, seq increasing', async () => {
    const r = await cli(['events', 'a.mmlog', '--json'], dir);
    expect(r.code).toBe(0);
    const evs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(evs).toHaveLength(N);
    evs.forEach((e, i) => {
      expect(e.seq).toBe(i);
      expect(Object.keys(e).slice(0, 4)).toEqual(['seq', 'task', 'span', 'type']);
    });
    const types = new Set(evs.map((e) => e.type));
    for (const t of ['vma_insert', 'pte_set', 'folio_alloc', 'lock_acquire', 'lock_release', 'span_open', 'note']) expect(types).toContain(t);
    const ins = evs.find((e) => e.type === 'vma_insert');
    expect(ins).toMatchObject({ vma: 1, mm: 1, start: 0x10000000, end: 0x1000000a });
  });

  it('filters by type and seq range (from inclusive, to exclusive)', async () => {
    const r = await cli(['events', 'a.mmlog', '--json', '--type', 'pte_set,folio_alloc', '--from', '10', '--to', '40'], dir);
    expect(r.code).toBe(0);
    const evs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(evs.length).toBeGreaterThan(0);
    for (const e of evs) {
      expect(['pte_set', 'folio_alloc']).toContain(e.type);
      expect(e.seq).toBeGreaterThanOrEqual(10);
      expect(e.seq).toBeLessThan(40);
    }
  });

  it('prints an aligned table naming the enclosing span', async () => {
    const r = await cli(['events', 'a.mmlog', '--to', '12'], dir);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s*seq\s+task\s+span\s+type\s+fields$/);
    expect(lines).toHaveLength(13);
    expect(r.out).toMatch(/\d+:__mmap_region\s+vma_insert\s+vma=1 mm=1 start=0x10000000000( \(page 0\))? end=0x[0-9a-f]+000/);
    expect(r.out).toContain('flags=rw-p MAYREAD|MAYWRITE');
    // columns line up: "type" starts at the same offset on every line
    const col = lines[0].indexOf('type');
    for (const l of lines.slice(1)) expect(l.slice(col - 2, col)).toBe('  ');
  });

  it('refuses an unknown event type with exit 2, listing the known types', async () => {
    const r = await cli(['events', 'a.mmlog', '--type', 'pte_set,vma_explode'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown event type "vma_explode"');
    expect(r.err).toContain('known types: span_open, span_close');
    expect(r.err).toContain('pud_move');
    expect(r.out).toBe('');
  });

  it('refuses a bad --from', async () => {
    const r = await cli(['events', 'a.mmlog', '--from', 'ten'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--from: expected a non-negative integer, got "ten"');
    const s = await cli(['events', 'a.mmlog', '--from', String(N + 5)], dir);
    expect(s.code).toBe(2);
    expect(s.err).toContain(`the log has ${N} events`);
  });
});

describe('damaged logs', () => {
  it.each([['events'], ['inspect'], ['stats'], ['replay']])('%s refuses a truncated log with exit 2 naming the offset', async (cmd) => {
    const r = await cli([cmd, 'cut.mmlog'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cut\.mmlog: .*at byte offset \d+/);
    expect(r.err).toContain('--salvage');
    expect(r.out).toBe('');
  });

  it('a format 1 log (no header checksum) whose header was damaged: the refusal it causes names the offset', async () => {
    const v1 = readFileSync(new URL('../../../packages/core/src/fixtures/fork-cow.v1.mmlog', import.meta.url));
    // one flipped bit in its plugin's name ("@mmsim/large-folio" -> "@mmsim/lcrge-folio"), JSON still valid
    const at = v1.indexOf('large-folio');
    const bent = Buffer.from(v1);
    bent[at + 1] ^= 2;
    files(dir, { 'bent-v1.mmlog': bent, 'noarena-v1.mmlog': Buffer.from(v1.toString('latin1').replace('"arenaPages":256', '"arenaPagez":256'), 'latin1') });
    for (const cmd of ['events', 'stats', 'replay']) {
      const r = await cli([cmd, 'bent-v1.mmlog'], dir);
      expect(r.code, cmd).toBe(2);
      expect(r.err, cmd).toMatch(/not installed here: @mmsim\/lcrge-folio .*header JSON, at byte offset 14, may be damaged/);
    }
    const r = await cli(['replay', 'noarena-v1.mmlog'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot rebuild the observation .*arena size.*at byte offset 14, may be damaged/);
  });

  it('export refuses it too', async () => {
    const r = await cli(['export', 'cut.mmlog', '--perfetto', 'x.json'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/byte offset \d+/);
  });

  it('--salvage keeps the valid prefix and says how many events were kept', async () => {
    const r = await cli(['events', 'cut.mmlog', '--salvage', '--json'], dir);
    expect(r.code).toBe(0);
    const m = /salvaged (\d+) events; lost .* bytes from byte offset (\d+) on/.exec(r.err);
    expect(m).not.toBeNull();
    const kept = Number(m![1]);
    expect(kept).toBeLessThan(N);
    expect(r.out.trim() ? r.out.trim().split('\n').length : 0).toBe(kept);
  });

  it('--salvage on stats, inspect and export', async () => {
    for (const args of [['stats', 'cut.mmlog', '--salvage'], ['inspect', 'cut.mmlog', '--salvage'], ['export', 'cut.mmlog', '--salvage', '--perfetto', 'cut.json']]) {
      const r = await cli(args, dir);
      expect(r.code).toBe(0);
      expect(r.err).toContain('salvaged');
    }
  });

  it('refuses a file that is not a log, and a missing file', async () => {
    const a = await cli(['stats', 'notalog.mmlog'], dir);
    expect(a.code).toBe(2);
    expect(a.err).toContain('not an mmsim log (bad magic) (at byte offset 0)');
    const b = await cli(['stats', 'nope.mmlog'], dir);
    expect(b.code).toBe(2);
    expect(b.err).toContain('nope.mmlog: cannot read the log: no such file');
  });
});

describe('inspect', () => {
  it('shows the state mid-log: VMAs, page table, folios, anon_vmas, locks, spans', async () => {
    // stop inside the touch step, after some faults
    const evs = [...res.engine.log.events()];
    const at = evs.findIndex((e) => e.type === 'pte_set' && e.vpn === 0x10000002) + 1;
    const r = await cli(['inspect', 'a.mmlog', '--at', String(at)], dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`state after ${at} of ${N} events`);
    expect(r.out).toMatch(/#1\s+0x10000000000\s+0x1000000a000\s+(\[0, 10\)\s+)?10\s+0x10000000\s+rw-p\s+av1\s+av1/);
    expect(r.out).toMatch(/0x10000000000\.\.0x10000002000\s+(page 0\.\.2\s+)?\(3\)\s+->\s+pfn 1024\.\.1026\s+write dirty young/);
    expect(r.out).toMatch(/1024\s+0\s+0x10000000\s+av1\s+1\s+1\s+0\s+yes/);
    // a new anon_vma is its own root and parent (mm/rmap.c anon_vma_alloc)
    expect(r.out).toMatch(/av1\s+av1\s+av1\s+1/);
    expect(r.out).toMatch(/ptl:1:0x[0-9a-f]+000\s+write \(spin\) by task 0/);
    expect(r.out).toContain('mmap_lock:1  read (sleep) by task 0');
    expect(r.out).toMatch(/task 0: step:touch#\d+ > handle_mm_fault:write#\d+ > do_anonymous_page#\d+/);
  });

  it('--json gives the structured state', async () => {
    const r = await cli(['inspect', 'a.mmlog', '--at', String(N), '--json'], dir);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.at).toBe(N);
    expect(j.state.mms[0].vmas).toEqual([
      expect.objectContaining({ start: 0x10000014, end: 0x10000018, perms: 'r--p', flagNames: ['READ', 'MAYREAD', 'MAYWRITE', 'MAYEXEC'] }),
    ]);
    // the munmap freed the faulted VMA's anon_vma (mm/rmap.c unlink_anon_vmas); the r-- one has none
    expect(j.state.counts).toMatchObject({ vmas: 1, folios: 0, anonVmas: 0 });
    expect(j.state.locks).toEqual([]);
  });

  it('defaults to the end and starts from the empty state at 0', async () => {
    const end = await cli(['inspect', 'a.mmlog'], dir);
    expect(end.out).toContain(`state after ${N} of ${N} events`);
    const zero = await cli(['inspect', 'a.mmlog', '--at', '0', '--json'], dir);
    expect(JSON.parse(zero.out).state.mms).toEqual([]);
  });

  it('refuses a position past the end', async () => {
    const r = await cli(['inspect', 'a.mmlog', '--at', String(N + 1)], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--at ${N + 1}: the log has ${N} events`);
  });
});

describe('stats', () => {
  it('counts objects at the end and at their maximum, and events by type', async () => {
    const r = await cli(['stats', 'a.mmlog', '--json'], dir);
    expect(r.code).toBe(0);
    const st = JSON.parse(r.out);
    expect(st.events).toBe(N);
    expect(st.counts.VMAs).toMatchObject({ end: 1, max: 1 });
    expect(st.counts.folios).toMatchObject({ end: 0, max: 6 });
    expect(st.counts.AVCs).toMatchObject({ end: 0, max: 1 });
    expect(st.byType.pte_set).toBe(6);
    expect(st.syscalls['step:mmap']).toBe(2);
    const h = await cli(['stats', 'a.mmlog'], dir);
    expect(h.out).toMatch(/folios\s+0\s+6\s+\d+/);
    expect(h.out).toMatch(/pte_set\s+6/);
  });
});

describe('export --perfetto', () => {
  it('writes a Chrome trace with balanced spans, lock slices and counters', async () => {
    const r = await cli(['export', 'a.mmlog', '--perfetto', 'trace.json'], dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('trace.json');
    const trace = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8'));
    const ev = trace.traceEvents as { ph: string; name: string; ts: number; dur?: number; cat?: string; args: Record<string, number & string> }[];
    const B = ev.filter((e) => e.ph === 'B');
    const E = ev.filter((e) => e.ph === 'E');
    expect(B.length).toBeGreaterThan(0);
    expect(E.length).toBe(B.length);
    expect(B.map((e) => e.name)).toContain('step:touch');
    expect(B.map((e) => e.name)).toContain('handle_mm_fault:write');
    const X = ev.filter((e) => e.ph === 'X');
    expect(X.map((e) => e.name)).toContain('mmap_lock:1');
    expect(X.every((e) => e.dur! > 0 && e.cat === 'lock')).toBe(true);
    const C = ev.filter((e) => e.ph === 'C');
    expect(new Set(C.map((e) => e.name))).toEqual(new Set(['VMAs', 'anon_vmas', 'AVCs', 'folios']));
    const folios = C.filter((e) => e.name === 'folios').map((e) => e.args.folios);
    expect(Math.max(...folios)).toBe(6);
    // timestamps: ts = seq, non-decreasing B/E per track
    for (const e of [...B, ...E, ...X]) expect(Number.isInteger(e.ts)).toBe(true);
    expect(ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args.name)).toEqual(expect.arrayContaining(['spans', 'locks']));
  });

  it('asks for an output format', async () => {
    const r = await cli(['export', 'a.mmlog'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--perfetto');
  });
});

describe('replay', () => {
  it('rebuilds the observation from the log alone', async () => {
    const r = await cli(['replay', 'a.mmlog', '--json'], dir);
    expect(r.code).toBe(0);
    const obs = JSON.parse(r.out);
    expect(stableStringify(obs.steps)).toBe(stableStringify(res.observation.steps));
    expect(stableStringify(obs.snapshots)).toBe(stableStringify(res.observation.snapshots));
    const h = await cli(['replay', 'a.mmlog'], dir);
    expect(h.out).toContain('snapshot "faulted"');
    expect(h.out).toContain('######....');
  });
});

describe('a log of several chunks', () => {
  const big = runScenario(
    parseScenario(
      scenarioJson([
        { op: 'mmap', page: 0, pages: 1500, prot: 'rw-' },
        { op: 'touch', page: 0, pages: 1500 },
        { op: 'munmap', page: 0, pages: 1500 },
      ], { arena: { pages: 2048 } }),
    ),
  );
  const b = encodeLogFile(big.engine.log, big.header);
  const n = big.engine.log.length;
  const cut = new Uint8Array([...b.subarray(0, Math.floor((b.length * 2) / 3)), 9, 9, 9, 9]);
  beforeAll(() => files(dir, { 'big.mmlog': b, 'bigcut.mmlog': cut }));

  it('spans several 4096-event chunks', () => {
    expect(n).toBeGreaterThan(3 * 4096);
  });

  it('events --from/--to cross chunk boundaries', async () => {
    const r = await cli(['events', 'big.mmlog', '--json', '--from', '4090', '--to', '4100'], dir);
    expect(r.out.trim().split('\n').map((l) => JSON.parse(l).seq)).toEqual([4090, 4091, 4092, 4093, 4094, 4095, 4096, 4097, 4098, 4099]);
  });

  it('stats sees the maximum in the middle', async () => {
    const st = JSON.parse((await cli(['stats', 'big.mmlog', '--json'], dir)).out);
    expect(st.counts.folios).toMatchObject({ end: 0, max: 1500 });
    expect(st.byType.pte_set).toBe(1500);
  });

  it('inspect at any seq agrees with the event stream', async () => {
    const at = 9000;
    const j = JSON.parse((await cli(['inspect', 'big.mmlog', '--at', String(at), '--json'], dir)).out);
    const ptes = (await cli(['events', 'big.mmlog', '--json', '--type', 'pte_set', '--to', String(at)], dir)).out.trim().split('\n');
    expect(j.state.mms[0].ptes).toHaveLength(ptes.length);
    expect(j.state.counts.folios).toBe(ptes.length);
  });

  it('a cut in a later chunk is refused, and --salvage keeps whole chunks', async () => {
    const r = await cli(['stats', 'bigcut.mmlog'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/truncated or corrupt after event \d+ .*at byte offset \d+/);
    const s = await cli(['export', 'bigcut.mmlog', '--salvage', '--perfetto', 'bigcut.json'], dir);
    expect(s.code).toBe(0);
    const kept = Number(/salvaged (\d+) events/.exec(s.err)![1]);
    expect(kept % 4096).toBe(0);
    expect(kept).toBeGreaterThan(0);
    // the salvaged log ends inside a span: export still balances B/E
    const trace = JSON.parse(readFileSync(join(dir, 'bigcut.json'), 'utf8'));
    const ev = trace.traceEvents as { ph: string }[];
    expect(ev.filter((e) => e.ph === 'B').length).toBe(ev.filter((e) => e.ph === 'E').length);
  });
});
