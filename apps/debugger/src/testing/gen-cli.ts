/**
 * Write test logs: `tsx src/testing/gen-cli.ts demo OUT.mmlog`,
 * `... large OUT.mmlog [EVENTS]` (default 1,000,000), `... corrupt OUT.mmlog`.
 */
import { writeFileSync } from 'node:fs';
import { buildDemoLog, buildLargeLog, corruptLog } from './gen.js';

const [kind, out, n] = process.argv.slice(2);
if (!kind || !out) {
  process.stderr.write('usage: gen-cli.ts demo|large|corrupt OUT.mmlog [EVENTS]\n');
  process.exit(2);
}
const bytes =
  kind === 'demo' ? buildDemoLog().bytes : kind === 'large' ? buildLargeLog(Number(n ?? 1_000_000)) : kind === 'corrupt' ? corruptLog(buildLargeLog(50_000)) : null;
if (!bytes) {
  process.stderr.write(`unknown kind ${kind}\n`);
  process.exit(2);
}
writeFileSync(out, bytes);
process.stdout.write(`${out}: ${bytes.length} bytes\n`);
