/**
 * Checker overhead on a big scenario: `npx tsx packages/invariants/bench/overhead.ts [pages] [reps]`.
 * Runs interleaved (to share warm-up and machine noise) and prints min / median.
 */
import { runScenario } from '@mmsim/runner';
import { parseScenario } from '@mmsim/scenario';
import { attachCheckers, checkLog, type CheckerName } from '../src/index.js';

const N = Number(process.argv[2] ?? 16384);
const REPS = Number(process.argv[3] ?? 5);
const scen = parseScenario(
  JSON.stringify({
    format: 'mmsim-scenario/1',
    name: 'big',
    arena: { pages: 8 * N },
    steps: [
      { op: 'mmap', page: 0, pages: N, prot: 'rw-' },
      { op: 'touch', page: 0, pages: N },
      { op: 'mprotect', page: N / 2, pages: N / 4, prot: 'r--' },
      { op: 'mremap', page: 0, pages: N / 2, flags: ['MAYMOVE', 'FIXED'], to: 4 * N },
      { op: 'fork' },
      { op: 'touch', proc: 1, page: 4 * N, pages: N / 4 },
      { op: 'exit', proc: 1 },
      { op: 'munmap', page: 4 * N, pages: N / 2 },
    ],
  }),
);
// one syscall may exceed the default batch: the engine would commit mid-syscall
const engine = { batchEvents: 1e9 };
let events = 0;
const configs: [string, () => void][] = [
  ['no checkers', () => void (events = runScenario(scen, { engine }).engine.log.length)],
  ['all checkers', () => void runScenario(scen, { engine, onKernel: (k) => void attachCheckers(k.eng) })],
  ...(['rmap', 'rmap-race', 'locking', 'structure', 'lifetime'] as CheckerName[]).map(
    (c) => [`only ${c}`, () => void runScenario(scen, { engine, onKernel: (k) => void attachCheckers(k.eng, { checkers: [c] }) })] as [string, () => void],
  ),
];
const times = new Map<string, number[]>(configs.map(([l]) => [l, []]));
for (let rep = 0; rep < REPS; rep++) {
  for (const [label, fn] of configs) {
    const t0 = performance.now();
    fn();
    times.get(label)!.push(performance.now() - t0);
  }
}
const log = runScenario(scen, { engine }).engine.log;
const tl: number[] = [];
for (let rep = 0; rep < REPS; rep++) {
  const t0 = performance.now();
  checkLog(log);
  tl.push(performance.now() - t0);
}
times.set('checkLog (replay + all checkers)', tl);
const stat = (a: number[]) => {
  const s = a.slice().sort((x, y) => x - y);
  return { min: s[0], med: s[s.length >> 1] };
};
const base = stat(times.get('no checkers')!);
console.log(`${events} events, ${N} pages, ${REPS} reps`);
for (const [label, a] of times) {
  const { min, med } = stat(a);
  console.log(`${label.padEnd(34)} min ${min.toFixed(0).padStart(6)} ms  median ${med.toFixed(0).padStart(6)} ms  (${((med / base.med) * 100 - 100).toFixed(0)}% vs baseline median)`);
}
