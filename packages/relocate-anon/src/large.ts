/**
 * The large-folio extension point of the relocation walk is defined by the model
 * (@mmsim/linux), like every extension point; re-exported here for existing imports.
 */
export { LARGE_FOLIO } from '@mmsim/linux';
export type { LargeFolioHandler, RelocateWalk } from '@mmsim/linux';
