/**
 * An output folder written whole or not at all (`explore --out DIR`): the files go to a
 * fresh temporary folder beside DIR (`DIR.<pid>.<random>.partial`, created with mkdir,
 * which fails on anything already there), and commit() puts it in DIR's place, so DIR
 * never holds an earlier run's files beside the new ones. DIR may be missing, empty, or
 * an earlier output of the same command (recognised by its index file); anything else
 * is refused before any work is done.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { requireFolder, shownPath } from './atomic.js';
import { CliError, EXIT, type CliContext } from './context.js';

export interface OutDirKind {
  /** the option that names the folder, for messages ("--out") */
  option: string;
  /** the index file every output has (explore.json) and the format it declares */
  index: string;
  format: string;
  /** the other files an output may hold (violation-<n>.mmlog) */
  member: RegExp;
}

/** Is `dir` an earlier output of this kind: its index file of the format, and only member files beside it? */
function earlierOutput(dir: string, names: string[], kind: OutDirKind): boolean {
  if (!names.includes(kind.index) || !names.every((n) => n === kind.index || kind.member.test(n))) return false;
  try {
    return (JSON.parse(readFileSync(join(dir, kind.index), 'utf8')) as { format?: unknown }).format === kind.format;
  } catch {
    return false;
  }
}

export class OutDir {
  /** the folder being filled */
  readonly temp: string;
  private readonly target: string;

  /** Check `dir` can be replaced (exit 2 if not) and create the temporary folder. */
  constructor(
    private readonly ctx: CliContext,
    readonly dir: string,
    private readonly kind: OutDirKind,
  ) {
    this.target = requireFolder(ctx, kind.option, dir);
    let names: string[] | null = null;
    try {
      if (!statSync(this.target).isDirectory()) throw new CliError(`${kind.option} ${dir}: it exists and is not a folder`, EXIT.BAD_INPUT);
      names = readdirSync(this.target);
    } catch (e) {
      if (e instanceof CliError) throw e;
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`${kind.option} ${dir}: ${(e as Error).message}`, EXIT.BAD_INPUT);
    }
    if (names && names.length && !earlierOutput(this.target, names, kind)) {
      throw new CliError(
        `${kind.option} ${dir}: the folder holds files that are not an earlier output of this command (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}); name an empty or new folder`,
        EXIT.BAD_INPUT,
      );
    }
    this.temp = join(dirname(this.target), `${basename(this.target)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
    try {
      // not recursive: Node's recursive mkdir spins forever on /proc/x (procfs answers ENOENT)
      mkdirSync(this.temp, { mode: 0o755 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // a place that takes no folders is bad input (exit 2); a failing disk is not (exit 74)
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(`${kind.option} ${dir}: cannot create the folder there (${dirname(dir)} does not exist or does not take folders)`, EXIT.BAD_INPUT);
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new CliError(`${kind.option} ${dir}: cannot create the folder: permission denied`, EXIT.BAD_INPUT);
      throw new CliError(`${kind.option} ${dir}: cannot create the folder ${shownPath(ctx, this.temp)}: ${(e as Error).message}`, EXIT.IO);
    }
  }

  /** Path of a file of the output (in the temporary folder until commit). */
  file(name: string): string {
    return join(this.temp, name);
  }

  /** Put the output in DIR's place (an earlier one goes); returns DIR's path. */
  commit(): string {
    const old = `${this.temp.slice(0, -'.partial'.length)}.old`;
    try {
      let replaced = false;
      try {
        renameSync(this.target, old);
        replaced = true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      renameSync(this.temp, this.target);
      if (replaced) rmSync(old, { recursive: true, force: true });
    } catch (e) {
      throw new CliError(`${this.kind.option} ${this.dir}: cannot put the output in place: ${(e as Error).message} (it is in ${shownPath(this.ctx, this.temp)})`, EXIT.IO);
    }
    return this.target;
  }

  /** Remove the temporary folder and what it holds (a failed write). */
  discard(): void {
    rmSync(this.temp, { recursive: true, force: true });
  }
}

/** `explore --out DIR`'s folders. */
export const EXPLORE_OUT: OutDirKind = { option: '--out', index: 'explore.json', format: 'mmsim-explore/1', member: /^violation-\d+\.mmlog$/ };

