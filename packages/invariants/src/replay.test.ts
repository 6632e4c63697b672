/**
 * The replay under checkLog (core's LogReplayer) on the logs of real scenarios: the golden
 * merge, relocate-anon and large-folio runs. At several seqs its state equals time
 * travel's, and mid-batch its readers (every folio's pages, every lock, the counts) read
 * what time travel's committed state holds there.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LogReplayer, TimeTravel, forEachFolio, pageFolio, type EventLog, type Plugin } from '@mmsim/core';
import { runScenario, type RunOptions } from '@mmsim/runner';
import { parseScenario } from '@mmsim/scenario';
import relocateAnon from '@mmsim/relocate-anon';
import largeFolio from '@mmsim/large-folio';

const GOLDEN = fileURLToPath(new URL('../../../scenarios/golden/', import.meta.url));

/** the logs of the first goldens of each folder that fault pages, with the plugins the folder needs */
function goldenLogs(): { name: string; log: EventLog }[] {
  const relocate: [Plugin, unknown] = [relocateAnon, { variant: 'fixed' }];
  const sets: [string, RunOptions][] = [
    ['merge', {}],
    ['relocate-anon', { plugins: [relocate] }],
    // a kernel block: the profile picks the plugins
    ['large-folio', { implementations: { relocateAnon: relocateAnon as Plugin<{ variant: string }>, largeFolio } }],
  ];
  const out: { name: string; log: EventLog }[] = [];
  for (const [dir, opts] of sets) {
    // the first four whose logs have folios (a golden of an EINVAL-only call maps none)
    let taken = 0;
    for (const f of readdirSync(GOLDEN + dir).filter((x) => x.endsWith('.json')).sort()) {
      if (taken === 4) break;
      const s = parseScenario(readFileSync(`${GOLDEN}${dir}/${f}`, 'utf8'), f);
      const log = runScenario(s, opts).engine.log;
      if (![...log.events(0, log.length)].some((e) => e.type === 'folio_alloc')) continue;
      out.push({ name: `${dir}/${f}`, log });
      taken++;
    }
  }
  return out;
}

describe('LogReplayer on scenario logs', () => {
  const logs = goldenLogs();
  it('has logs', () => expect(logs.length).toBeGreaterThanOrEqual(9));

  for (const { name, log } of logs) {
    it(name, () => {
      const tt = new TimeTravel(log, 64);
      const n = log.length;
      const stops = new Set([1, Math.floor(n / 5), Math.floor(n / 2) + 1, n - 3, n].filter((x) => x > 0 && x <= n));
      // batches of 37: the stops fall inside batches, the readers read the open one
      const rp = new LogReplayer(log, { batchEvents: 37 });
      let folios = 0;
      while (rp.next()) {
        const seq = rp.event.seq + 1;
        if (!stops.has(seq)) continue;
        const s = tt.stateAt(seq);
        expect({ ...rp.counts() }, `counts at ${seq}`).toEqual(s.counts);
        expect(Object.fromEntries(rp.locks()), `locks at ${seq}`).toEqual(s.locks);
        forEachFolio(s, (f) => {
          folios++;
          for (let p = f.pfn; p < f.pfn + (1 << f.order); p++) expect(rp.pageFolio(p)).toEqual(pageFolio(s, p));
        });
        expect(rp.commit(), `state at ${seq}`).toEqual(s);
      }
      expect(rp.commit()).toEqual(tt.stateAt(n));
      expect(folios).toBeGreaterThan(0);
    });
  }
});
