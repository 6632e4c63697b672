/**
 * max-move: an mremap() move strategy. It refuses, with EPERM, any mremap() that may
 * move (MREMAP_MAYMOVE) a VMA larger than `maxPages` pages, and leaves a `note` event,
 * inside a span of its own, after every move it let through.
 */
import { E, definePlugin, type KGen, type Plugin } from '@mmsim/core';
import { EPERM, MREMAP_MAYMOVE, MREMAP_STRATEGY, vmaPages, type MoveContext, type MremapStrategy } from '@mmsim/linux';

export interface MaxMoveOptions {
  /** the largest VMA, in pages, that mremap() may move (default 16) */
  maxPages?: number;
}

export function maxMoveStrategy({ maxPages = 16 }: MaxMoveOptions = {}): MremapStrategy {
  return {
    name: 'max-move',
    // no MREMAP_* flags of its own: unknown flags stay EINVAL
    extraFlags: 0,
    // check_prep_vma(): runs once the source VMA is known, before anything changes
    checkPrepVma({ k, vrm }: MoveContext): number {
      if (!(vrm.flags & MREMAP_MAYMOVE)) return 0;
      return vmaPages(k.vma(vrm.vma)) > maxPages ? -EPERM : 0;
    },
    // after the source is unmapped: record the move in the event log
    *afterMove({ k, vrm }: MoveContext, newVma: number): KGen<void> {
      yield* k.eng.span('max_move_after_move', function* () {
        const text = JSON.stringify({ plugin: 'max-move', from: vrm.addr, to: vrm.newAddr, pages: vrm.newLen, vma: newVma });
        k.eng.emit(E.Note, vrm.newLen, 0, 0, 0, 0, 0, text);
      });
    },
  };
}

/** The plugin: `runScenario(s, { plugins: [[maxMove, { maxPages: 8 }]] })` or `mmsim run --plugin`. */
export const maxMove: Plugin<MaxMoveOptions> = definePlugin<MaxMoveOptions>({
  name: 'max-move',
  version: '1.0.0',
  setup(host, options) {
    host.provide(MREMAP_STRATEGY, maxMoveStrategy(options));
  },
});

export default maxMove;
