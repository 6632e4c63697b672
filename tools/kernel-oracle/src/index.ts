export { runOnKernel, kernelVersion, oracleAvailable, toScript, parseOracleOutput, MADVISE_ADVICE, MREMAP_FLAG_BITS } from './oracle.js';
export type { RunOptions } from './oracle.js';
export { ensureOracleBinary, ORACLE_SOURCE, DEFAULT_BUILD_DIR } from './build.js';
export type { BuildOptions } from './build.js';
export { OracleUnavailableError, OracleError } from './errors.js';
export type { OracleUnavailableReason } from './errors.js';
export { hostKernelConfig, parseHostKernelConfig, describeHostKernelConfig } from './host.js';
export type { HostKernelConfig } from './host.js';
