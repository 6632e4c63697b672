/**
 * Logs the ENGINE produced: scenarios run on the Linux model with @mmsim/linux's
 * runScenario (optionally with MREMAP_RELOCATE_ANON), encoded as `mmsim run` writes them.
 * The debugger's tests and benchmark run on these, never on hand-made event lists.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { encodeLogFile } from '@mmsim/core';
import { runScenario } from '@mmsim/runner';
import relocateAnon from '@mmsim/relocate-anon';
import { parseScenario, type Scenario } from '@mmsim/scenario';

export const REPO_ROOT = resolve(import.meta.dirname, '../../../..');

export interface EngineLog {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly scenario: Scenario;
}

export interface RunLogOptions {
  /** enable MREMAP_RELOCATE_ANON (@mmsim/relocate-anon, variant 'fixed') */
  relocate?: boolean;
}

/** Run a scenario on the model and encode its log. */
export function scenarioLog(raw: unknown, opts: RunLogOptions = {}): EngineLog {
  const s = parseScenario(raw);
  const plugins = opts.relocate ? [[relocateAnon, { variant: 'fixed' }] as [typeof relocateAnon, unknown]] : [];
  const res = runScenario(s, { plugins });
  return { name: s.name, bytes: encodeLogFile(res.engine.log, res.header), scenario: s };
}

/** A scenario file of the repository (scenarios/...). */
export function repoScenario(rel: string): unknown {
  return JSON.parse(readFileSync(resolve(REPO_ROOT, 'scenarios', rel), 'utf8')) as unknown;
}

/** The golden relocate-anon scenario: three faulted VMAs, the middle one relocated between the others. */
export function relocateGoldenLog(): EngineLog {
  return scenarioLog(repoScenario('golden/relocate-anon/mremap_relocate_anon_faulted_between_faulted.json'), { relocate: true });
}

/** fork, CoW, madvise, exit and an mremap: several mms and anon_vma trees. */
export function forkCowLog(): EngineLog {
  return scenarioLog(repoScenario('hand/fork-cow.json'));
}

/**
 * A relocation of `pages` faulted pages, moved by `moves` MREMAP_RELOCATE_ANON mremaps back
 * and forth (each rewrites every folio's index): the size knob of the large logs.
 */
export function relocationLog(pages: number, moves = 1, relocate = true): EngineLog {
  const steps: object[] = [
    { op: 'mmap', page: 0, pages, prot: 'rw-' },
    { op: 'touch', page: 0, pages, access: 'write' },
  ];
  for (let i = 0; i < moves; i++) {
    const [from, to] = i % 2 === 0 ? [0, pages + 512] : [pages + 512, 0];
    steps.push({ op: 'mremap', page: from, pages, flags: relocate ? ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'] : ['MAYMOVE', 'FIXED'], to });
  }
  const s = { format: 'mmsim-scenario/1', name: `relocate-${pages}p-${moves}x`, arena: { pages: 2 * pages + 1024 }, steps };
  return scenarioLog(s, { relocate });
}

/** The relocate-anon golden run with the series' first posting (variant patch-v1): the checkers flag it. */
export function relocatePatchV1Log(): EngineLog {
  const s = parseScenario(repoScenario('golden/relocate-anon/mremap_relocate_anon_faulted_between_faulted.json'));
  const res = runScenario(s, { plugins: [[relocateAnon, { variant: 'patch-v1' }]] });
  return { name: `${s.name}-patch-v1`, bytes: encodeLogFile(res.engine.log, res.header), scenario: s };
}

/** A damaged copy of a log file: the tail is cut and garbage appended (whatever the framing). */
export function corruptLog(bytes: Uint8Array): Uint8Array {
  const keep = Math.floor(bytes.length * 0.6);
  const out = new Uint8Array(keep + 7);
  out.set(bytes.subarray(0, keep));
  out.set([0x43, 0x48, 0x4e, 0x4b, 9, 9, 9], keep);
  return out;
}

/**
 * A race's counterexample as `mmsim explore --out` writes it: relocate-vs-rmap-walk under
 * the variant bug-unlocked-new-anon-vma, run (runScenario, as explore does) under the
 * schedule of the violation explore finds first ("34:1"). Task 100 runs the mremap, 101
 * the rmap walk; the checkers flag it in the middle of the relocation, not at its end.
 */
export function raceCounterexampleLog(): EngineLog {
  const s = parseScenario(repoScenario('races/relocate-vs-rmap-walk.json'));
  const res = runScenario(s, { plugins: [[relocateAnon, { variant: 'bug-unlocked-new-anon-vma' }]], schedule: '34:1' });
  return { name: `${s.name}-34-1`, bytes: encodeLogFile(res.engine.log, res.header), scenario: s };
}
