/**
 * Write test logs: `tsx src/testing/gen-cli.ts demo OUT.mmlog`,
 * `... large OUT.mmlog [EVENTS]` (default 1,000,000), `... corrupt OUT.mmlog`.
 */
import { writeFileSync } from 'node:fs';
import { buildDemoLog, buildLargeLog, corruptLog } from './gen.js';

const [kind, out, n] = process.argv.slice(2);
const bytes = !kind || !out ? null : build(kind);
if (!kind || !out) {
  process.stderr.write('usage: gen-cli.ts demo|large|corrupt OUT.mmlog [EVENTS]\n');
  process.exitCode = 2;
} else if (!bytes) {
  process.stderr.write(`unknown kind ${kind}\n`);
  process.exitCode = 2;
} else {
  writeFileSync(out, bytes);
  process.stdout.write(`${out}: ${bytes.length} bytes\n`);
}

function build(what: string): Uint8Array | null {
  if (what === 'demo') return buildDemoLog().bytes;
  if (what === 'large') return buildLargeLog(Number(n ?? 1_000_000));
  if (what === 'corrupt') return corruptLog(buildLargeLog(50_000));
  return null;
}
