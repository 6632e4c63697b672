import { CliError, EXIT } from './context.js';

/** Parse a non-negative integer option value, naming the option on error. */
export function nonNegInt(option: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new CliError(`${option}: expected a non-negative integer, got "${v}"`, EXIT.BAD_INPUT);
  return Number(v);
}

/** Parse `--shard I/N` (0 <= I < N): this process's part of a partitioned campaign. */
export function parseShard(v: string | undefined): { index: number; count: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) {
    throw new CliError(`--shard: expected I/N with 0 <= I < N (e.g. 0/4; a Kubernetes Indexed Job passes $JOB_COMPLETION_INDEX as I), got "${v}"`, EXIT.BAD_INPUT);
  }
  return { index: Number(m[1]), count: Number(m[2]) };
}
