/**
 * @mmsim/relocate-anon: MREMAP_RELOCATE_ANON and MREMAP_MUST_RELOCATE_ANON.
 *
 *   import relocateAnon from '@mmsim/relocate-anon';
 *   runScenario(s, { plugins: [[relocateAnon, { variant: 'fixed' }]] });
 */
import { definePlugin, type Plugin } from '@mmsim/core';
import { MREMAP_STRATEGY } from '@mmsim/linux';
import { relocateAnonStrategy, type RelocateOptions } from './relocate.js';
import { RELOCATE_VARIANTS, isRelocateVariant } from './variants.js';

export {
  MREMAP_RELOCATE_ANON,
  MREMAP_MUST_RELOCATE_ANON,
  relocateAnonStrategy,
  rewriteFolio,
  shouldRelocateAnon,
  vmaMaybeHasSharedAnonFolios,
} from './relocate.js';
export type { RelocateOptions } from './relocate.js';
export { RELOCATE_ANON_VARIANTS, RELOCATE_VARIANTS, behaviourOf, isRelocateVariant } from './variants.js';
export type { Behaviour, RelocateVariant } from './variants.js';
export { LARGE_FOLIO } from './points.js';
export type { LargeFolioHandler, RelocateWalk } from './points.js';

export const relocateAnonPlugin: Plugin<RelocateOptions> = definePlugin<RelocateOptions>({
  name: '@mmsim/relocate-anon',
  version: '0.1.0',
  setup(host, options) {
    const variant = options?.variant ?? 'fixed';
    if (!isRelocateVariant(variant)) {
      throw new Error(`unknown variant "${String(variant)}"; choose one of ${RELOCATE_VARIANTS.join(', ')}`);
    }
    host.provide(MREMAP_STRATEGY, relocateAnonStrategy({ variant }));
  },
});

export default relocateAnonPlugin;
