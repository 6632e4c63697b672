/**
 * @mmsim/cli: the `mmsim` command-line app, also usable in-process:
 *
 *   const code = await main(['run', 'x.json', '--json'], { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
 */
export { main, buildProgram, reportError } from './cli.js';
export { CliError, EXIT, examples, makeContext } from './context.js';
export type { CliContext, CliIo, RegisterCommand, Writer } from './context.js';
export { COMMANDS } from './commands/index.js';
export { DEMO_MAINLINE, DEMO_RELOCATE } from './demo.js';
export { toPerfetto, perfettoJson } from './perfetto.js';
export { stateView } from './snapshot.js';
export type { StateView } from './snapshot.js';
export { formatObservation, vmaBar } from './render.js';
