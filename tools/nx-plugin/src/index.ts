/** @mmsim/tools: the workspace's local Nx plugin (inferred targets) and generators. */
export { createNodesV2, inferTargets, PROJECT_DIRS } from './infer';
export type { MmsimPluginOptions } from './infer';
export const name = '@mmsim/tools';
