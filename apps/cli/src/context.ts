/**
 * What a command needs from the outside world, injectable so tests run the CLI
 * in-process: output writers, the working directory, whether stderr is a terminal.
 */
import type { Command } from 'commander';

export type Writer = (text: string) => void;

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  /** directory relative paths are resolved against (default process.cwd()) */
  cwd?: string;
  /** show progress bars on stderr (default: stderr is a TTY) */
  progress?: boolean;
  /** terminal width for tables and bars (default 100) */
  columns?: number;
  /** push what stdout buffered to the stream now (a server's URL must not wait for exit) */
  flush?: () => void;
}

export interface CliContext {
  readonly out: Writer;
  readonly err: Writer;
  readonly cwd: string;
  readonly progress: boolean;
  readonly columns: number;
  /** write one line to stdout */
  print(line?: string): void;
  /** write one line to stderr */
  warn(line?: string): void;
  /** write out what stdout buffered (before waiting: `serve` prints its URL then runs until killed) */
  flush(): void;
  /** exit code of the command (actions set it; the largest one wins) */
  exitCode: number;
  fail(code: number): void;
}

export function makeContext(io: CliIo): CliContext {
  const ctx: CliContext = {
    out: io.stdout,
    err: io.stderr,
    cwd: io.cwd ?? process.cwd(),
    progress: io.progress ?? false,
    columns: io.columns ?? 100,
    print: (line = '') => io.stdout(line + '\n'),
    warn: (line = '') => io.stderr(line + '\n'),
    flush: () => io.flush?.(),
    exitCode: 0,
    fail(code: number) {
      if (code > ctx.exitCode) ctx.exitCode = code;
    },
  };
  return ctx;
}

/** Exit codes (documented in `mmsim --help`). */
export const EXIT = {
  OK: 0,
  /** an observation differs, an expectation fails */
  MISMATCH: 1,
  /** bad input: scenario, log file, option; a missing optional package */
  BAD_INPUT: 2,
  /** invariant violations (--check) */
  VIOLATIONS: 3,
  /** a plugin threw (PluginError: the plugin and the extension point are named) */
  PLUGIN: 4,
  /** an I/O error writing a log or the output: ENOSPC, EIO (EX_IOERR) */
  IO: 74,
  /** interrupted by SIGINT (Ctrl-C): 128 + 2 */
  SIGINT: 130,
  /** terminated by SIGTERM: 128 + 15 */
  SIGTERM: 143,
  /** a bug: the simulator or the CLI threw (EX_SOFTWARE) */
  INTERNAL: 70,
} as const;

/** A failure that ends the command with a message and an exit code. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.BAD_INPUT,
  ) {
    super(message);
  }
}

/** A command module: `src/commands/<name>.ts` exports `register`. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/**
 * Add the "Examples:" block every command's --help carries.
 */
export function examples(cmd: Command, lines: readonly string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}
