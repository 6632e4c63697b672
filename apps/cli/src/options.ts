import { CliError, EXIT } from './context.js';

/**
 * Parse an integer option: decimal digits only (Number() would take "1e3", "0x1F90",
 * "" and " 7"), within [min, max] (a value past max could be a loop bound or an array
 * length: 99999999999999999999 is refused here, not a RangeError later). Every integer
 * option goes through this one helper, so each error names its option and its range.
 */
export function intOption(option: string, v: string, range: { min?: number; max?: number } = {}): number {
  const min = range.min ?? 0;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) {
    const want =
      max !== Number.MAX_SAFE_INTEGER ? `an integer from ${min} to ${max}` : min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer >= ${min}`;
    throw new CliError(`${option}: expected ${want}, got ${JSON.stringify(v)}`, EXIT.BAD_INPUT);
  }
  return n;
}

/** A commander argParser for an integer option (same rules as intOption). */
export function intParser(option: string, range: { min?: number; max?: number } = {}): (v: string) => number {
  return (v) => intOption(option, v, range);
}

/** Parse a non-negative integer option value, naming the option on error. */
export function nonNegInt(option: string, v: string | undefined, max?: number): number | undefined {
  return v === undefined ? undefined : intOption(option, v, { max });
}

/** Parse `--shard I/N` (0 <= I < N): this process's part of a partitioned campaign. */
export function parseShard(v: string | undefined): { index: number; count: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2]) || !Number.isSafeInteger(Number(m[2]))) {
    throw new CliError(`--shard: expected I/N with 0 <= I < N (e.g. 0/4; a Kubernetes Indexed Job passes $JOB_COMPLETION_INDEX as I), got "${v}"`, EXIT.BAD_INPUT);
  }
  return { index: Number(m[1]), count: Number(m[2]) };
}
