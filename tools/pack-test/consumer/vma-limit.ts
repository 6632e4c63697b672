/**
 * vma-limit: an invariant checker. No VMA may span more than `maxPages` pages. It is
 * provided at @mmsim/invariants' CHECKER, so it runs with the built-in checkers: in
 * `mmsim run --check`, `mmsim check LOG --plugin`, `mmsim bisect --check --plugin`, and
 * wherever `attachCheckers(engine)` or `checkLog(log)` run. It looks at every vma_insert
 * and vma_adjust event as it is applied and reports a violation (exit 3 in the CLI).
 */
import { E, definePlugin, toEvent, type Plugin } from '@mmsim/core';
import { CHECKER } from '@mmsim/invariants';

export interface VmaLimitOptions {
  /** the largest VMA allowed, in pages (default 16) */
  maxPages?: number;
}

export const vmaLimit: Plugin<VmaLimitOptions> = definePlugin<VmaLimitOptions>({
  name: 'vma-limit',
  version: '1.0.0',
  setup(host, { maxPages = 16 }: VmaLimitOptions = {}) {
    host.provide(CHECKER, {
      name: 'vma-limit',
      // one instance per engine (or per log replayed by checkLog)
      create: (ctx) => ({
        onEvent(raw) {
          // cheap numeric test first: most events are not about VMA bounds
          if (raw.type !== E.VmaInsert && raw.type !== E.VmaAdjust) return;
          const ev = toEvent(raw); // the typed MmEvent union
          if (ev.type !== 'vma_insert' && ev.type !== 'vma_adjust') return;
          const pages = ev.end - ev.start; // narrowed: both types carry vma, start, end
          if (pages > maxPages) ctx.report(`VMA ${ev.vma} spans ${pages} pages (limit ${maxPages})`, { vma: [ev.vma] });
        },
      }),
    });
  },
});

export default vmaLimit;
