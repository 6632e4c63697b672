/**
 * mmsim-explore/1 results as `mmsim merge` reads them: each file validated field by
 * field (a result is a file from anywhere: "p.violations is not iterable" named neither
 * the file nor the field), then the shards against each other, so that only the N parts
 * of one exploration are merged. Errors name the file and the field.
 */
import { createHash } from 'node:crypto';
import { stableStringify, type Scenario } from '@mmsim/scenario';
import type { ExploreResult } from '@mmsim/runner';
import { CliError, EXIT } from './context.js';

export const EXPLORE_FORMAT = 'mmsim-explore/1';

/**
 * What makes two shards parts of one exploration besides strategy, bound and seed: the
 * scenario's content (a hash: two files of one name may differ) and every option that
 * changes what a schedule does or reports. `explore --json` writes both into its result.
 */
export interface ExploreIdentity {
  scenarioHash: string;
  options: Record<string, unknown>;
}

export function exploreIdentity(scenario: Scenario, options: Record<string, unknown>): ExploreIdentity {
  const scenarioHash = createHash('sha256').update(stableStringify(scenario)).digest('hex').slice(0, 16);
  return { scenarioHash, options: JSON.parse(stableStringify(options)) as Record<string, unknown> };
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isRate = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Validate one parsed result file against mmsim-explore/1 (unknown fields are let through: a later mmsim may add some). */
export function validateExploreResult(v: unknown, file: string): ExploreResult & Partial<ExploreIdentity> {
  const bad = (field: string, problem: string) => new CliError(`${file}: field "${field}": ${problem}`, EXIT.BAD_INPUT);
  if (!isObject(v)) throw new CliError(`${file}: not an ${EXPLORE_FORMAT} result: expected a JSON object`, EXIT.BAD_INPUT);
  if (v.format !== EXPLORE_FORMAT) throw bad('format', `expected "${EXPLORE_FORMAT}", got ${JSON.stringify(v.format)} (a result of \`mmsim explore --json\`)`);
  if (typeof v.scenario !== 'string') throw bad('scenario', 'must be a string');
  if (v.strategy !== 'dfs' && v.strategy !== 'pct' && v.strategy !== 'random') throw bad('strategy', `must be "dfs", "pct" or "random", got ${JSON.stringify(v.strategy)}`);
  for (const k of ['bound', 'seed', 'schedules', 'pruned', 'distinctFinalStates'] as const) if (!isCount(v[k])) throw bad(k, `must be a non-negative integer, got ${JSON.stringify(v[k])}`);
  for (const k of ['schedulesPerSec', 'elapsedMs'] as const) if (!isRate(v[k])) throw bad(k, `must be a non-negative finite number, got ${JSON.stringify(v[k])}`);
  if (typeof v.complete !== 'boolean') throw bad('complete', `must be true or false, got ${JSON.stringify(v.complete)}`);
  if (v.firstViolationAfter !== null && !(isCount(v.firstViolationAfter) && v.firstViolationAfter >= 1)) throw bad('firstViolationAfter', `must be null or a positive integer, got ${JSON.stringify(v.firstViolationAfter)}`);
  if (!Array.isArray(v.violations)) throw bad('violations', 'must be an array');
  v.violations.forEach((x: unknown, i) => {
    const f = `violations[${i}]`;
    if (!isObject(x)) throw bad(f, 'must be an object {schedule, checker, message, preemptions}');
    for (const k of ['schedule', 'checker', 'message'] as const) if (typeof x[k] !== 'string') throw bad(`${f}.${k}`, 'must be a string');
    if (!isCount(x.preemptions)) throw bad(`${f}.preemptions`, `must be a non-negative integer, got ${JSON.stringify(x.preemptions)}`);
  });
  if (v.shard !== undefined) {
    if (!isObject(v.shard)) throw bad('shard', 'must be {index, count}');
    const { index, count } = v.shard;
    if (!isCount(count) || count < 1) throw bad('shard.count', `must be a positive integer, got ${JSON.stringify(count)}`);
    // -1: what mmsim merge writes
    if (!(index === -1 || (isCount(index) && index < count))) throw bad('shard.index', `must be an integer from 0 to ${count - 1} (the shard count), got ${JSON.stringify(index)}`);
  }
  if (v.finalStates !== undefined && !(Array.isArray(v.finalStates) && v.finalStates.every((s) => typeof s === 'string'))) throw bad('finalStates', 'must be an array of strings');
  if (v.scenarioHash !== undefined && typeof v.scenarioHash !== 'string') throw bad('scenarioHash', 'must be a string');
  if (v.options !== undefined && !isObject(v.options)) throw bad('options', 'must be an object');
  return v as unknown as ExploreResult & Partial<ExploreIdentity>;
}

/**
 * The shards of one exploration, each once: same scenario (and hash), options, strategy,
 * bound, seed and shard count; indexes within the count, none twice; no merged result
 * (it already holds its shards: merging it with them again would count them twice).
 */
export function checkShards(parts: readonly { file: string; result: ExploreResult & Partial<ExploreIdentity> }[]): void {
  const fail = (file: string, problem: string) => new CliError(`${file}: ${problem}`, EXIT.BAD_INPUT);
  for (const { file, result } of parts) {
    if (!result.shard || !result.finalStates) throw fail(file, 'a result without "shard" and "finalStates": run explore with --shard I/N --json');
    if (result.shard.index === -1) throw fail(file, `field "shard.index": -1, a result of mmsim merge: merge the shards themselves, not a merged result${parts.length > 1 ? ' with them' : ''}`);
  }
  const [first, ...rest] = parts;
  const a = first.result;
  const same: [string, (r: ExploreResult & Partial<ExploreIdentity>) => unknown][] = [
    ['scenario', (r) => r.scenario],
    ['scenarioHash', (r) => r.scenarioHash ?? null],
    ['options', (r) => (r.options === undefined ? null : stableStringify(r.options))],
    ['strategy', (r) => r.strategy],
    ['bound', (r) => r.bound],
    ['seed', (r) => r.seed],
    ['shard.count', (r) => r.shard!.count],
  ];
  const seen = new Map<number, string>();
  seen.set(a.shard!.index, first.file);
  for (const { file, result } of rest) {
    for (const [field, get] of same) {
      if (get(result) !== get(a)) {
        throw fail(file, `field "${field}" is ${JSON.stringify(get(result))}, in ${first.file} ${JSON.stringify(get(a))}: shards of different explorations do not merge`);
      }
    }
    const other = seen.get(result.shard!.index);
    if (other !== undefined) throw fail(file, `field "shard.index": shard ${result.shard!.index} again (also ${other})`);
    seen.set(result.shard!.index, file);
  }
  const schedules = parts.reduce((n, p) => n + p.result.schedules, 0);
  if (!Number.isSafeInteger(schedules)) throw new CliError(`the shards' "schedules" sum to ${schedules}, past 2^53: not counts of one exploration`, EXIT.BAD_INPUT);
}
