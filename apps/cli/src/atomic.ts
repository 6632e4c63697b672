/**
 * Files written so that a reader never sees half of one and nobody's file is clobbered:
 * the bytes go to a temporary file beside the target, created exclusively under a name
 * of its own (`<target>.<pid>.<random>.partial`: O_CREAT | O_EXCL | O_NOFOLLOW, so a
 * symlink or file planted at that name is never followed nor truncated), and the
 * temporary file is renamed onto the target once complete. A partial left by an earlier
 * failure keeps its own name and is never overwritten. While a process is writing a
 * target, another one asked to write the same target is refused (its partial file, named
 * with its pid, says it is there).
 */
import { closeSync, constants, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, relative, resolve } from 'node:path';
import { CliError, EXIT, type CliContext } from './context.js';

/** A failed write (ENOSPC, EIO...): exit EXIT.IO (74, EX_IOERR). */
export class WriteError extends CliError {
  override name = 'WriteError';
  constructor(
    readonly file: string,
    what: string,
    override readonly cause: NodeJS.ErrnoException,
  ) {
    super(`${file}: cannot write ${what}: ${whyNotWritten(cause)}`, EXIT.IO);
  }
}

/** A write error's cause as messages say it. */
export function whyNotWritten(cause: NodeJS.ErrnoException): string {
  return cause.code === 'ENOSPC' ? 'no space left on the device (ENOSPC)' : cause.message;
}

/** `p` relative to cwd when it lies below it, else absolute (how messages name files). */
export function shownPath(ctx: CliContext, p: string): string {
  const r = relative(ctx.cwd, p);
  return r && !r.startsWith('..') ? r : p;
}

/** Refuse a target whose folder does not exist (exit 2) rather than creating folders nobody asked for. */
export function requireFolder(ctx: CliContext, option: string, file: string): string {
  const target = resolve(ctx.cwd, file);
  const dir = dirname(target);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // named below
  }
  if (!isDir) throw new CliError(`${option} ${file}: the folder ${shownPath(ctx, dir)} does not exist (create it first)`, EXIT.BAD_INPUT);
  return target;
}

const PARTIAL = /^(.*)\.(\d+)\.[0-9a-f]+\.partial$/;

/** Targets this process writes now (several writers in one process: the in-process tests, `run` of several files). */
const writing = new Set<string>();

/** Is process `pid` alive (EPERM: alive, not ours)? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Another process's partial file of `target` whose writer still runs, if any. */
function otherWriter(target: string, own: string): { name: string; pid: number } | null {
  const base = basename(target);
  let names: string[] = [];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return null;
  }
  for (const name of names) {
    const m = PARTIAL.exec(name);
    if (!m || m[1] !== base || name === own) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && alive(pid)) return { name, pid };
  }
  return null;
}

/** The partial file process `pid` writes for `target` now (what `mmsim serve --live` follows), or null. */
export function partialOf(target: string, pid = process.pid): string | null {
  let names: string[] = [];
  try {
    names = readdirSync(dirname(target));
  } catch {
    return null;
  }
  const base = basename(target);
  for (const name of names) {
    const m = PARTIAL.exec(name);
    if (m && m[1] === base && Number(m[2]) === pid) return resolve(dirname(target), name);
  }
  return null;
}

/** An exclusively created temporary file beside its target, renamed onto it by commit(). */
export class PartialFile {
  readonly fd: number;
  readonly path: string;
  private closed = false;

  /**
   * @param what what the file is, for messages ("the log")
   * @param option the option that named it, for messages ("--log")
   */
  constructor(
    private readonly ctx: CliContext,
    readonly file: string,
    readonly what: string,
    option: string,
  ) {
    const target = requireFolder(ctx, option, file);
    if (writing.has(target)) throw new CliError(`${option} ${file}: this run already writes ${what} there`, EXIT.BAD_INPUT);
    const name = `${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
    this.path = resolve(dirname(target), name);
    try {
      this.fd = openSync(this.path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
    } catch (e) {
      throw new WriteError(shownPath(ctx, this.path), what, e as NodeJS.ErrnoException);
    }
    // created first, looked for others second: of two writers starting at once, at least one sees the other
    const other = otherWriter(target, name);
    if (other) {
      this.discard();
      throw new CliError(
        `${option} ${file}: another process (pid ${other.pid}) is writing ${what} there now (${shownPath(ctx, resolve(dirname(target), other.name))}); ` +
          `wait for it or choose another path (if no mmsim runs as pid ${other.pid}, remove that file)`,
        EXIT.BAD_INPUT,
      );
    }
    this.target = target;
    writing.add(target);
  }

  readonly target: string;

  /** The temporary file's name as messages give it. */
  get shown(): string {
    return shownPath(this.ctx, this.path);
  }

  /** Write all of `b` at `pos` (throws the errno error). */
  writeAt(b: Uint8Array, pos: number): void {
    let o = 0;
    while (o < b.length) o += writeSync(this.fd, b, o, b.length - o, pos + o);
  }

  /** Sync, close and rename onto the target; returns the target. Throws WriteError. */
  commit(): string {
    try {
      fsyncSync(this.fd);
      this.close();
      renameSync(this.path, this.target);
    } catch (e) {
      throw new WriteError(shownPath(this.ctx, this.target), this.what, e as NodeJS.ErrnoException);
    } finally {
      writing.delete(this.target);
    }
    return this.target;
  }

  /** Close and keep the temporary file (a failed run's partial log). */
  keep(): void {
    try {
      this.close();
    } catch {
      /* already failing */
    }
    writing.delete(this.target);
  }

  /** Close and remove the temporary file (nothing in it is worth keeping). */
  discard(): void {
    try {
      this.close();
    } catch {
      /* already failing */
    }
    try {
      unlinkSync(this.path);
    } catch {
      /* gone already */
    }
    if (this.target) writing.delete(this.target);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/**
 * Write a whole file atomically: complete at the target or not there at all (an old file
 * survives), the temporary file removed on failure. Throws WriteError (exit 74) or the
 * PartialFile refusals (exit 2).
 */
export function writeFileAtomic(ctx: CliContext, file: string, data: Uint8Array | string, what: string, option: string): string {
  const f = new PartialFile(ctx, file, what, option);
  try {
    f.writeAt(typeof data === 'string' ? Buffer.from(data) : data, 0);
    return f.commit();
  } catch (e) {
    f.discard();
    throw e instanceof CliError ? e : new WriteError(shownPath(ctx, f.path), what, e as NodeJS.ErrnoException);
  }
}
