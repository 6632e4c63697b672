/**
 * @mmsim/large-folio: MREMAP_RELOCATE_ANON for large folios (mTHP and PMD THP).
 *
 *   runScenario(s, { plugins: [relocateAnon, largeFolio], config: { mthpOrders: [4] } });
 */
import { definePlugin, type Plugin } from '@mmsim/core';
import { LARGE_FOLIO } from '@mmsim/relocate-anon';
import { largeFolioHandler } from './handler.js';

export { largeFolioHandler } from './handler.js';

export const largeFolioPlugin: Plugin = definePlugin({
  name: '@mmsim/large-folio',
  version: '0.1.0',
  setup(host) {
    host.provide(LARGE_FOLIO, largeFolioHandler);
  },
});

export default largeFolioPlugin;
