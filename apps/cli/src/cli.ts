/**
 * The program: a commander root with one subcommand per module in ./commands, run
 * in-process with injectable writers so tests need not spawn processes.
 */
import { Command, CommanderError } from 'commander';
import { LogFileError, MMSIM_VERSION, PluginError, PluginConflictError, ReplayError } from '@mmsim/core';
import { ScenarioError } from '@mmsim/scenario';
import { COMMANDS } from './commands/index.js';
import { CliError, EXIT, makeContext, type CliContext, type CliIo } from './context.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('mmsim');
  program
    .description('mmsim: Linux 6.18 anonymous memory (VMAs, anon_vmas, folios, page tables) as an event-sourced simulator')
    .version(MMSIM_VERSION, '-V, --version')
    .configureOutput({
      writeOut: (s) => ctx.out(s),
      writeErr: (s) => ctx.err(s),
      outputError: (s, write) => write(s),
    })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes:
  0  ok
  1  mismatch: an expectation failed, the simulator and the kernel disagree
  2  bad input: scenario (file, step, field), log file (offset), trace (file:line), option (its range),
     a file that is not a regular file (a folder, /dev/zero, a FIFO), a port in use, missing package
  3  invariant violations (run --check)
  4  a plugin failed (the plugin and the extension point are named)
  70 internal error (a bug in the simulator or in mmsim)
  74 I/O error: a log or the output could not be written (ENOSPC, EIO), a recording perf lost events of
  130, 143  interrupted by SIGINT (Ctrl-C) or SIGTERM; the partial log is kept

In the mmsim repository or a project that installed @mmsim/cli, run it as \`npx mmsim\`
(\`npm ci\` puts it in node_modules/.bin, not on PATH); the examples write \`mmsim\`.

Examples:
  $ mmsim demo
  $ mmsim run scenarios/golden/merge/*.json
  $ mmsim run my.json --log my.mmlog && mmsim events my.mmlog --type vma_insert,vma_merge
  $ mmsim inspect my.mmlog --at 120
`,
    );
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/** Turn anything thrown into a message on stderr and an exit code. */
export function reportError(ctx: CliContext, e: unknown): number {
  if (e instanceof CommanderError) {
    // help and version are exits with code 0; usage errors are bad input
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
    if (e.code === 'commander.executeSubCommandAsync') return e.exitCode;
    return EXIT.BAD_INPUT;
  }
  if (e instanceof CliError) {
    ctx.warn(`mmsim: ${e.message}`);
    return e.exitCode;
  }
  if (e instanceof ScenarioError) {
    ctx.warn(`mmsim: invalid scenario: ${e.message}`);
    return EXIT.BAD_INPUT;
  }
  if (e instanceof LogFileError) {
    // not a log, or a damaged header: there is no prefix to keep
    const hint = /--salvage|not an mmsim log|nothing can be salvaged|log format version|header/.test(e.message) ? '' : ' (try --salvage to keep the valid prefix)';
    ctx.warn(`mmsim: bad log file: ${e.message}${hint}`);
    return EXIT.BAD_INPUT;
  }
  if (e instanceof ReplayError) {
    ctx.warn(`mmsim: the log does not replay: ${e.message}`);
    return EXIT.BAD_INPUT;
  }
  if (e instanceof PluginError || e instanceof PluginConflictError) {
    ctx.warn(`mmsim: ${e.message}`);
    return e instanceof PluginError ? EXIT.PLUGIN : EXIT.BAD_INPUT;
  }
  const err = e as Error;
  ctx.warn(`mmsim: internal error: ${err?.stack ?? String(e)}`);
  return EXIT.INTERNAL;
}

/**
 * Run the CLI with `argv` (without node and script: `['run', 'x.json', '--json']`).
 * Resolves to the exit code; never calls process.exit.
 */
export async function main(argv: readonly string[], io?: Partial<CliIo>): Promise<number> {
  // process stdout is written in 64 KiB blocks (tables of millions of events)
  let pending: string[] = [];
  let size = 0;
  const flush = () => {
    if (!size) return;
    process.stdout.write(pending.join(''));
    pending = [];
    size = 0;
  };
  const bufferedStdout = (s: string) => {
    pending.push(s);
    size += s.length;
    if (size >= 1 << 16) flush();
  };
  try {
    return await runMain(argv, { ...io, stdout: io?.stdout ?? bufferedStdout, flush: io?.stdout ? io.flush : flush });
  } finally {
    flush();
  }
}

async function runMain(argv: readonly string[], io: Partial<CliIo>): Promise<number> {
  const ctx = makeContext({
    stdout: io.stdout!,
    stderr: io.stderr ?? ((s) => void process.stderr.write(s)),
    cwd: io.cwd,
    progress: io.progress ?? (io.stderr ? false : !!process.stderr.isTTY),
    columns: io.columns ?? (process.stdout.isTTY ? process.stdout.columns : undefined),
    flush: io.flush,
  });
  const program = buildProgram(ctx);
  if (!argv.length) {
    program.outputHelp();
    return EXIT.OK;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    return Math.max(ctx.exitCode, reportError(ctx, e));
  }
  return ctx.exitCode;
}
