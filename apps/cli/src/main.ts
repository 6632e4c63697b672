/** Entry point of the `mmsim` binary (bin/mmsim.mjs imports it through tsx). */
import { main } from './cli.js';

// `mmsim events big.mmlog | head`: a closed pipe ends the output quietly
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
