/**
 * Write engine-made logs for the debugger: `tsx src/testing/gen-cli.ts KIND OUT.mmlog [PAGES] [MOVES]`
 * with KIND golden (the relocate-anon golden run), patch-v1 (the same with the flagged variant),
 * fork (scenarios/hand/fork-cow.json), relocate (PAGES faulted pages moved MOVES times with
 * MREMAP_RELOCATE_ANON; 120000 pages x 14 moves is about 10.6M events), corrupt.
 */
import { writeFileSync } from 'node:fs';
import { corruptLog, forkCowLog, relocateGoldenLog, relocatePatchV1Log, relocationLog } from './engine-logs.js';

const [kind, out, a, b] = process.argv.slice(2);
const KINDS: Record<string, () => Uint8Array> = {
  golden: () => relocateGoldenLog().bytes,
  'patch-v1': () => relocatePatchV1Log().bytes,
  fork: () => forkCowLog().bytes,
  relocate: () => relocationLog(Number(a ?? 4096), Number(b ?? 1)).bytes,
  corrupt: () => corruptLog(relocationLog(1024, 1).bytes),
};
if (!kind || !out || !KINDS[kind]) {
  process.stderr.write(`usage: gen-cli.ts ${Object.keys(KINDS).join('|')} OUT.mmlog [PAGES] [MOVES]\n`);
  process.exitCode = 2;
} else {
  const bytes = KINDS[kind]();
  writeFileSync(out, bytes);
  process.stdout.write(`${out}: ${bytes.length} bytes\n`);
}
