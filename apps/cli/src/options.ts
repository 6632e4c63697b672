import { CliError, EXIT } from './context.js';

/** Parse a non-negative integer option value, naming the option on error. */
export function nonNegInt(option: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw new CliError(`${option}: expected a non-negative integer, got "${v}"`, EXIT.BAD_INPUT);
  return Number(v);
}
