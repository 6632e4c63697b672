/** Why the kernel oracle cannot run (here, or for this scenario). */
export type OracleUnavailableReason = 'platform' | 'permission' | 'compiler' | 'simulator-only';

/**
 * The kernel oracle cannot produce a faithful observation: not Linux, not root (frame
 * numbers in /proc/self/pagemap and /proc/kpageflags need CAP_SYS_ADMIN), no C compiler,
 * or the scenario uses simulator-only ops. Callers (differential tests) usually skip.
 */
export class OracleUnavailableError extends Error {
  override name = 'OracleUnavailableError';
  constructor(
    readonly reason: OracleUnavailableReason,
    message: string,
  ) {
    super(message);
  }
}

/** The oracle ran but failed (crash, timeout, protocol error); `stderr` is the C program's. */
export class OracleError extends Error {
  override name = 'OracleError';
  constructor(
    message: string,
    readonly stderr = '',
  ) {
    super(stderr.trim() ? `${message}\n--- oracle stderr ---\n${stderr.trim()}` : message);
  }
}
