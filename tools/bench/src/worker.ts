/**
 * Child-process entry of a simulator session: `node --import tsx worker.ts '<SimJob JSON>'`.
 * Progress goes to stderr as `@@progress {...}` lines, the SimResult to stdout as JSON.
 */
import { runSimSession, type SimJob } from './sim.js';

const job = JSON.parse(process.argv[2] ?? '{}') as SimJob;
const res = await runSimSession(job, (phase, done, total) => {
  process.stderr.write(`@@progress ${JSON.stringify({ phase, done, total })}\n`);
});
process.stdout.write(JSON.stringify(res) + '\n');
