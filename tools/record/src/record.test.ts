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
import { TraceFormatError, WORKLOADS, buildWorkload, readTrace, record, replayTrace, type Policy } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'mmsim-record-test-'));

async function replay(trace: string, policy: Policy) {
  const plugins = policy === 'relocate' ? [relocateAnonPlugin] : policy === 'auto' ? [autoRelocatePlugin] : [];
  return (await replayTrace(trace, { policy, plugins })).report;
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
        const stock = rep.processes[0];
        expect(stock.moves).toBeGreaterThan(100);
        for (const policy of ['relocate', 'auto'] as const) {
          const p = (await replay(out, policy)).processes[0];
          expect(p.relocated).toBe(stock.moves);
          expect(p.vmas).toBeLessThan(stock.vmas);
          expect(p.peakVmas).toBeLessThan(stock.peakVmas);
        }
      }
      if (w.name === 'forkserver') expect(rep.processes.length).toBe(7);
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
    expect(n).toBe(lines.filter((l) => l.startsWith('[')).length);
  });
});
