import { describe, expect, it } from 'vitest';
import { lookupPte } from '@mmsim/core';
import { forkCowLog, relocationLog } from '../testing/engine-logs.js';
import { DebugSession } from './session.js';
import { pteHasProblem, pteRow, vmaPages } from './views.js';

/** every page of every VMA, checked the slow way: a row built for each */
function bruteStale(s: ReturnType<DebugSession['stateAt']>) {
  const out = new Map<number, number>();
  let disagreements = 0;
  for (const k of Object.keys(s.mms)) {
    const mm = s.mms[+k];
    for (const id of mm.vmas) {
      const v = s.vmas.get(id)!;
      let stale = 0;
      for (let vpn = v.start; vpn < v.end; vpn++) {
        const pte = lookupPte(mm, vpn);
        if (pte === 0) continue;
        const slow = pteRow(s, v, vpn, pte, false).problems.length > 0;
        if (slow !== pteHasProblem(s, v, vpn, pte)) disagreements++;
        if (slow) stale++;
      }
      out.set(id, stale);
    }
  }
  return { out, disagreements };
}

describe('vmaPages builds few rows but counts every page', () => {
  // 256 pages relocated: mid-walk, most pages are stale and most rows are never built
  const logs = [relocationLog(256, 1), forkCowLog()];
  for (const [i, log] of logs.entries()) {
    it(`pteHasProblem agrees with pteRow on every page, at every 97th event (log ${i})`, () => {
      const ds = DebugSession.fromBytes(log.bytes);
      let sawStale = 0;
      for (let p = 0; p <= ds.length; p += 97) {
        const st = ds.stateAt(p);
        const { out, disagreements } = bruteStale(st);
        expect(disagreements).toBe(0);
        for (const g of vmaPages(st)) {
          expect(g.stale).toBe(out.get(g.vma));
          sawStale += g.stale;
          expect(g.rows.filter((r) => r.problems.length).length).toBe(Math.min(g.stale, 64));
        }
      }
      if (i === 0) expect(sawStale).toBeGreaterThan(1000);
    });
  }
});
