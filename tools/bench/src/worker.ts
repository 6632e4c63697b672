/**
 * Child-process entry of a simulator session: `node --import tsx worker.ts '<SimJob JSON>'`.
 * Progress goes to stderr as `@@progress {...}` lines, the SimResult to stdout as JSON.
 */
import { runSimSession, type SimJob } from './sim.js';
import { runSplitGrowth, type SplitJob } from './splits.js';
import { benchExplore, type ExploreJob } from './explore.js';
import { runTraceReplay, type TraceJob } from './trace.js';

const job = JSON.parse(process.argv[2] ?? '{}') as SimJob | SplitJob | ExploreJob | TraceJob;
const progress = (phase: string, done: number, total: number) => {
  process.stderr.write(`@@progress ${JSON.stringify({ phase, done, total })}\n`);
};
const kind = 'kind' in job ? job.kind : 'sim';
const res =
  kind === 'splits' ? await runSplitGrowth(job as SplitJob, progress)
  : kind === 'explore' ? benchExplore((job as ExploreJob).reps)
  : kind === 'trace' ? await runTraceReplay(job as TraceJob, progress)
  : await runSimSession(job as SimJob, progress);
process.stdout.write(JSON.stringify(res) + '\n');
