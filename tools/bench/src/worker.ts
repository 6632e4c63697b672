/**
 * Child-process entry of a simulator session: `node --import tsx worker.ts '<SimJob JSON>'`.
 * Progress goes to stderr as `@@progress {...}` lines, the SimResult to stdout as JSON.
 */
import { runSimSession, type SimJob } from './sim.js';
import { runSplitGrowth, type SplitJob } from './splits.js';
import { benchExplore, type ExploreJob } from './explore.js';

const job = JSON.parse(process.argv[2] ?? '{}') as SimJob | SplitJob | ExploreJob;
const progress = (phase: string, done: number, total: number) => {
  process.stderr.write(`@@progress ${JSON.stringify({ phase, done, total })}\n`);
};
const res =
  'kind' in job && job.kind === 'splits'
    ? await runSplitGrowth(job, progress)
    : 'kind' in job && job.kind === 'explore'
      ? benchExplore(job.reps)
      : await runSimSession(job as SimJob, progress);
process.stdout.write(JSON.stringify(res) + '\n');
