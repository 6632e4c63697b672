/**
 * @mmsim/debugger: the web time-travel debugger. `serveDebugger` is what
 * `mmsim serve LOG` calls; the app itself is built from this package with Vite.
 */
export { serveDebugger, CSP } from './server.js';
export type { DebuggerServer, ServeOptions } from './server.js';
export { BUILD_MODE, defaultCacheDir, ensureAppBuilt, installedVersions, sourceHash } from './build.js';
export type { BuildOptions } from './build.js';
export type { LiveStatus, ViolationSource } from './shared/protocol.js';
export type { LiveSource } from './live.js';
