/**
 * Real programs recorded on this machine's kernel and replayed on the simulator: every
 * shipped workload and two the repo did not write must agree under the stock policy;
 * relocate and auto must reduce the compacting heap's VMAs.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoRelocatePlugin } from '@mmsim/auto-relocate';
import { relocateAnonPlugin } from '@mmsim/relocate-anon';
import { describe, expect, it } from 'vitest';
import { getPte } from '@mmsim/linux';
import { ptePfn } from '@mmsim/core';
import { TraceFormatError, WORKLOADS, buildWorkload, readTrace, record, replayTrace, type Policy, type ReplayOptions } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-record-test-'));

/** pages of the root process's anonymous VMAs at exit: vpn -> "pfn:content" (what a page holds) */
type Pages = Map<number, string>;

async function replay(trace: string, policy: Policy, pages?: Pages) {
  const plugins = policy === 'relocate' ? [relocateAnonPlugin] : policy === 'auto' ? [autoRelocatePlugin] : [];
  const onSnapshot: ReplayOptions['onSnapshot'] = (k, mm, snap) => {
    if (!pages || pages.size) return;
    for (const id of k.mm(mm).vmas) {
      const v = k.vma(id);
      if (v.file) continue;
      for (let vpn = v.start; vpn < v.end; vpn++) {
        const pte = getPte(k, mm, vpn);
        if (pte <= 0) continue;
        const f = k.eng.pageFolio(ptePfn(pte));
        pages.set(vpn, `${ptePfn(pte)}:${f ? f.content[ptePfn(pte) - f.pfn] : 'zero'}`);
      }
    }
    void snap;
  };
  return (await replayTrace(trace, { policy, plugins, onSnapshot })).report;
}

describe('mmsim record + mmsim trace on real programs', () => {
  for (const w of WORKLOADS) {
    it(`${w.name} (${w.what}) records and replays with agree: true`, async () => {
      const cmd = buildWorkload(w);
      expect(cmd, `${w.kind} interpreter missing`).not.toBeNull();
      const out = join(dir, `${w.name}.trace`);
      const r = await record(cmd!, out, { stdio: 'ignore' });
      expect(r.exitCode).toBe(0);
      expect(r.stats.faults).toBeGreaterThan(100);
      const rep = await replay(out, 'stock');
      expect(rep.firstDifference).toBeNull();
      expect(rep.agree).toBe(true);
      expect(rep.processes.every((p) => p.agree !== false)).toBe(true);
      if (w.name === 'compact') {
        const stockPages: Pages = new Map();
        const stock = (await replay(out, 'stock', stockPages)).processes[0];
        expect(stock.moves).toBeGreaterThan(100);
        expect(stockPages.size).toBeGreaterThan(100);
        for (const policy of ['relocate', 'auto'] as const) {
          const pages: Pages = new Map();
          const p = (await replay(out, policy, pages)).processes[0];
          expect(p.relocated).toBe(stock.moves);
          expect(p.foliosRewritten).toBeGreaterThan(0);
          expect(p.vmas).toBeLessThan(stock.vmas);
          expect(p.peakVmas).toBeLessThan(stock.peakVmas);
          // relocation rewrites folio metadata only: every page maps the same frame with the same content
          expect(pages).toEqual(stockPages);
        }
      }
      if (w.name === 'forkserver') {
        expect(rep.processes.length).toBe(7);
        // each worker moves COW-shared memory: relocate and auto fall back, by reason
        for (const policy of ['relocate', 'auto'] as const) {
          const ps = (await replay(out, policy)).processes.slice(1);
          expect(ps.every((p) => p.moves === 1 && p.relocated === 0 && p.fallbacks['cow-shared'] === 1)).toBe(true);
        }
      }
    });
  }

  it('a program the repo did not write (python3 -c, /bin/sh running ls) agrees', async () => {
    for (const [name, cmd] of [
      ['py', ['python3', '-c', 'import json; d = [bytes(100000) for _ in range(50)]; print(len(json.dumps(list(range(20000)))))']],
      ['sh', ['/bin/sh', '-c', 'ls -l /usr/bin > /dev/null; cat /etc/os-release > /dev/null']],
    ] as const) {
      const out = join(dir, `${name}.trace`);
      const r = await record([...cmd], out, { stdio: 'ignore' });
      expect(r.exitCode).toBe(0);
      const rep = await replay(out, 'stock');
      expect(rep.firstDifference).toBeNull();
      expect(rep.processes.length).toBeGreaterThan(name === 'sh' ? 2 : 0);
    }
  });

  it('stress-ng --mremap (the series\' validation load) records its mlock and agrees', async () => {
    const out = join(dir, 'stress-mremap.trace');
    const r = await record(['stress-ng', '--mremap', '1', '--mremap-ops', '20', '--quiet'], out, { stdio: 'ignore' });
    expect(r.exitCode).toBe(0);
    // its mlock splits stress-ng's text VMA: replayed without it, the layouts at exit differ
    expect(readFileSync(out, 'utf8').split('\n').filter((l) => l.startsWith('["mlock",')).length).toBeGreaterThan(0);
    const rep = await replay(out, 'stock');
    expect(rep.firstDifference).toBeNull();
    expect(rep.processes.length).toBeGreaterThanOrEqual(3); // the parent, the stressor's supervisor and its worker
    expect(rep.processes.reduce((n, p) => n + p.moves, 0)).toBeGreaterThan(100);
  });

  it('a damaged trace is refused naming the line and the field', async () => {
    const good = join(dir, 'realloc.trace');
    const lines = readFileSync(good, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('["mmap"'));
    const rec = JSON.parse(lines[i]);
    rec[3] = 'big';
    lines[i] = JSON.stringify(rec);
    const bad = join(dir, 'bad.trace');
    writeFileSync(bad, lines.join('\n'));
    await expect(replayTrace(bad)).rejects.toThrow(new RegExp(`bad.trace:${i + 1} \\(mmap.len\\): must be an integer`));
    writeFileSync(bad, '{"format":"mmsim-trace/2"}\n');
    await expect(replayTrace(bad)).rejects.toThrow(TraceFormatError);
    let n = 0;
    for await (const x of readTrace(good)) if ('record' in x) n++;
    // every record line but the last, the end record (checked, not yielded)
    expect(lines.filter((l) => l.startsWith('[')).at(-1)).toBe(`["end",${n}]`);
    expect(n).toBe(lines.filter((l) => l.startsWith('[')).length - 1);
  });
});
