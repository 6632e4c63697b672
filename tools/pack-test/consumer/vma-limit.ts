/**
 * vma-limit: an invariant checker. No VMA may span more than `maxPages` pages. It
 * subscribes to the engine (ENGINE_SUBSCRIBER) and looks at every vma_insert and
 * vma_adjust event as it is applied. In `report` mode it collects violations (read
 * them with `vmaLimitViolations(engine)`); in `strict` mode, the default, the first one
 * throws, so the syscall is rolled back and the run stops naming the plugin.
 */
import { E, ENGINE_SUBSCRIBER, PluginError, definePlugin, toEvent, type Engine, type Plugin } from '@mmsim/core';

export interface VmaLimitOptions {
  /** the largest VMA allowed, in pages (default 16) */
  maxPages?: number;
  /** `strict` (default) throws at the first violation, `report` collects them */
  mode?: 'report' | 'strict';
}

export interface VmaLimitViolation {
  /** position of the offending event in the log */
  seq: number;
  vma: number;
  pages: number;
  message: string;
}

const found = new WeakMap<Engine, VmaLimitViolation[]>();

/** The violations found so far on this engine (report mode). */
export function vmaLimitViolations(engine: Engine): readonly VmaLimitViolation[] {
  return found.get(engine) ?? [];
}

export const vmaLimit: Plugin<VmaLimitOptions> = definePlugin<VmaLimitOptions>({
  name: 'vma-limit',
  version: '1.0.0',
  setup(host, { maxPages = 16, mode = 'strict' }: VmaLimitOptions = {}) {
    host.provide(ENGINE_SUBSCRIBER, (engine: Engine) => {
      const violations: VmaLimitViolation[] = [];
      found.set(engine, violations);
      const offRaw = engine.onRaw((raw) => {
        // cheap numeric test first: most events are not about VMA bounds
        if (raw.type !== E.VmaInsert && raw.type !== E.VmaAdjust) return;
        const ev = toEvent(raw); // the typed MmEvent union
        if (ev.type !== 'vma_insert' && ev.type !== 'vma_adjust') return;
        const pages = ev.end - ev.start; // narrowed: both types carry vma, start, end
        if (pages <= maxPages) return;
        const v: VmaLimitViolation = { seq: ev.seq, vma: ev.vma, pages, message: `VMA ${ev.vma} spans ${pages} pages (limit ${maxPages})` };
        if (mode === 'strict') throw new PluginError('vma-limit', ENGINE_SUBSCRIBER.id, new Error(v.message));
        violations.push(v);
      });
      // a syscall that failed is rolled back: forget what its events broke
      const offRollback = engine.onRollback((seq) => {
        while (violations.length && violations[violations.length - 1].seq >= seq) violations.pop();
      });
      return () => {
        offRaw();
        offRollback();
      };
    });
  },
});

export default vmaLimit;
