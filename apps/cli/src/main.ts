/** Entry point of the `mmsim` binary (bin/mmsim.mjs imports it through tsx). */
import { EXIT } from './context.js';
import { reportExit, runInWorker, wantsWorker, workerInput } from './worker.js';

const job = workerInput();
if (job) {
  // mmsim's worker (worker.ts): the main thread owns stdout's errors and the signals
  const { main } = await import('./cli.js');
  reportExit(await main(job.argv, { progress: job.progress, columns: job.columns }));
} else {
  // `mmsim events big.mmlog | head`: a closed pipe ends the output quietly; any other
  // failure to write stdout (`> /full/disk/file`: ENOSPC) is a message and EXIT.IO, no stack
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    try {
      process.stderr.write(`mmsim: cannot write the output: ${e.code === 'ENOSPC' ? 'no space left on the device (ENOSPC)' : e.message}\n`);
    } catch {
      // stderr is gone too: the exit code says it
    }
    process.exit(EXIT.IO);
  });
  const argv = process.argv.slice(2);
  // the bin script, one folder up from src/ and dist/ alike, loads this code again in the
  // worker; the commands are loaded only where they run
  process.exitCode = wantsWorker(argv)
    ? await runInWorker(new URL('../bin/mmsim.mjs', import.meta.url), argv)
    : await (await import('./cli.js')).main(argv);
}
