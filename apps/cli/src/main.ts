/** Entry point of the `mmsim` binary (bin/mmsim.mjs imports it through tsx). */
import { main } from './cli.js';
import { EXIT } from './context.js';

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

process.exitCode = await main(process.argv.slice(2));
