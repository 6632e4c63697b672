/**
 * Profiling the simulator's hot paths.
 *
 *   node --import tsx tools/bench/src/prof.ts run MIB [--dir DIR] [--no-checkers] [--replay]
 *     one session (fault-in, then relocate) with the V8 sampling profiler on during
 *     each timed phase only (node:inspector): DIR/fault-MIB.cpuprofile and
 *     DIR/relocate-MIB.cpuprofile, then the top self-time functions of each; --replay
 *     adds DIR/replay-MIB.cpuprofile (replay of the session's log) and seek-MIB (50 seeks)
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir DIR tools/bench/src/prof.ts run MIB --whole
 *     the same session under node --cpu-prof (whole process; no in-process profiler)
 *
 *   node --import tsx tools/bench/src/prof.ts top FILE.cpuprofile [N]
 *     self time per function and per file of any .cpuprofile
 */
import { Session } from 'node:inspector';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TimeTravel, replay, type Engine } from '@mmsim/core';
import { aggregateProfile, callersOf, formatProfile, type CpuProfile } from './cpuprofile.js';
import { prng } from './stats.js';
import { runSimSession } from './sim.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function post<T>(s: Session, method: string, params?: object): T {
  let out: T | undefined;
  let err: Error | null = null;
  s.post(method, params ?? {}, (e, r) => {
    err = e;
    out = r as T;
  });
  if (err) throw err;
  if (out === undefined) throw new Error(`${method}: the inspector did not answer synchronously`);
  return out;
}

function top(file: string, n: number): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const a = aggregateProfile(p, ROOT);
  console.log(`${file}: ${a.totalMs} ms sampled`);
  console.log('\nself time by function:');
  for (const l of formatProfile(a.functions, n)) console.log(l);
  console.log('\nself time by file:');
  for (const l of formatProfile(a.files, Math.min(n, 12))) console.log(l);
  for (const r of a.functions.slice(0, 3)) {
    if (r.fn.startsWith('(')) continue;
    const c = callersOf(p, r.fn).slice(0, 6);
    console.log(`\ncallers of ${r.fn}: ${c.map((x) => `${x.caller} ${x.selfMs} ms`).join(', ')}`);
  }
}

const [cmd, arg, ...rest] = process.argv.slice(2);
if (cmd === 'top') {
  top(arg, Number(rest[0] ?? 15));
} else if (cmd === 'run') {
  const mib = Number(arg ?? 256);
  const dirIx = rest.indexOf('--dir');
  const dir = dirIx >= 0 ? rest[dirIx + 1] : '/tmp/mmsim-prof';
  const whole = rest.includes('--whole');
  const checkers = !rest.includes('--no-checkers');
  mkdirSync(dir, { recursive: true });
  const s = new Session();
  const files: string[] = [];
  if (!whole) {
    s.connect();
    post(s, 'Profiler.enable');
    post(s, 'Profiler.setSamplingInterval', { interval: 200 });
  }
  let eng: Engine | null = null;
  const res = await runSimSession({ mib, checkers }, (phase, done, total) => process.stderr.write(`\r${phase} ${done}/${total}   `), {
    start() {
      if (!whole) post(s, 'Profiler.start');
    },
    stop(phase) {
      if (whole) return;
      const { profile } = post<{ profile: CpuProfile }>(s, 'Profiler.stop');
      const f = join(dir, `${phase}-${mib}${checkers ? '' : '-nochk'}.cpuprofile`);
      writeFileSync(f, JSON.stringify(profile));
      files.push(f);
    },
    engine(e) {
      eng = e;
    },
  });
  if (!whole && rest.includes('--replay')) {
    // the log: one full replay, then TimeTravel (its own replay pass) and 50 random seeks
    const e = eng! as Engine;
    e.close();
    const prof = (name: string, fn: () => void) => {
      post(s, 'Profiler.start');
      const t = performance.now();
      fn();
      console.log(`${name}: ${(performance.now() - t).toFixed(0)} ms for ${e.log.length} events`);
      const { profile } = post<{ profile: CpuProfile }>(s, 'Profiler.stop');
      const f = join(dir, `${name}-${mib}.cpuprofile`);
      writeFileSync(f, JSON.stringify(profile));
      files.push(f);
    };
    prof('replay', () => void replay(e.log));
    const tt = new TimeTravel(e.log);
    const rnd = prng(1);
    prof('seek', () => {
      for (let i = 0; i < 50; i++) tt.stateAt(Math.floor(rnd() * e.log.length));
    });
  }
  process.stderr.write('\n');
  console.log(JSON.stringify({ mib, checkers: res.checkers, fault: res.fault, relocate: res.relocate }));
  for (const f of files) {
    console.log();
    top(f, 15);
  }
} else {
  console.error('usage: prof.ts run MIB [--dir DIR] [--no-checkers] [--replay] [--whole] | prof.ts top FILE.cpuprofile [N]');
  process.exitCode = 2;
}
