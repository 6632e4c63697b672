/**
 * Writing a run's log so that nothing is lost: the log streams to `<target>.partial`
 * beside the target as chunks seal, and is renamed into place only when the run
 * finished (so an old log at the target survives any failure). A failed, interrupted
 * or out-of-space run keeps the partial file: it has no trailer, and `--salvage` reads
 * its valid prefix.
 *
 * A write error never throws into the engine (it would look like a failing syscall):
 * it is recorded, later writes are dropped, and the run stops at the next step
 * (`failure()` is the run's interrupt check).
 */
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { streamLog, type EventLog, type LogHeader, type LogStreamWriter } from '@mmsim/core';
import { CliError, EXIT, type CliContext } from './context.js';

/** A failed write of the log (ENOSPC, EIO...): exit EXIT.IO. */
export class LogWriteError extends CliError {
  override name = 'LogWriteError';
  constructor(
    readonly file: string,
    override readonly cause: NodeJS.ErrnoException,
  ) {
    super(`${file}: cannot write the log: ${cause.code === 'ENOSPC' ? 'no space left on the device (ENOSPC)' : cause.message}`, EXIT.IO);
  }
}

export interface PartialLog {
  /** path of the kept partial file, as given (relative to cwd when it was) */
  path: string;
  events: number;
  bytes: number;
}

export class LogFileWriter {
  private fd: number;
  private stream: LogStreamWriter | null = null;
  private error: NodeJS.ErrnoException | null = null;
  private closed = false;
  /** bytes on disk */
  private size = 0;
  readonly partialPath: string;

  private constructor(
    private readonly ctx: CliContext,
    /** the target as the user named it */
    readonly file: string,
    private readonly target: string,
  ) {
    this.partialPath = `${target}.partial`;
    try {
      mkdirSync(dirname(target), { recursive: true });
      this.fd = openSync(this.partialPath, 'w');
    } catch (e) {
      throw new LogWriteError(this.shown(this.partialPath), e as NodeJS.ErrnoException);
    }
  }

  static open(ctx: CliContext, file: string): LogFileWriter {
    return new LogFileWriter(ctx, file, resolve(ctx.cwd, file));
  }

  private shown(p: string): string {
    const r = relative(this.ctx.cwd, p);
    return r && !r.startsWith('..') ? r : p;
  }

  /** Start streaming `log` (the header now, each chunk as it seals). */
  attach(log: EventLog, header: LogHeader): void {
    this.stream = streamLog(log, header, {
      write: (b) => this.write(b),
      truncate: (n) => this.truncate(n),
    });
  }

  get attached(): boolean {
    return this.stream !== null;
  }

  private write(b: Uint8Array): void {
    if (this.error) return;
    try {
      let o = 0;
      while (o < b.length) o += writeSync(this.fd, b, o, b.length - o, this.size + o);
      this.size += b.length;
    } catch (e) {
      this.error = e as NodeJS.ErrnoException;
    }
  }

  private truncate(n: number): void {
    if (this.error) return;
    try {
      ftruncateSync(this.fd, n);
      this.size = n;
    } catch (e) {
      this.error = e as NodeJS.ErrnoException;
    }
  }

  /** The write error so far, as the error that stops the run (undefined: none). */
  failure(): LogWriteError | undefined {
    return this.error ? new LogWriteError(this.shown(this.partialPath), this.error) : undefined;
  }

  /** The run finished: write the trailer, sync, and rename into place. Returns the target path. */
  commit(): string {
    this.stream!.finish();
    const fail = this.failure();
    if (fail) throw fail;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.closed = true;
      renameSync(this.partialPath, this.target);
    } catch (e) {
      throw new LogWriteError(this.shown(this.target), e as NodeJS.ErrnoException);
    }
    return this.target;
  }

  /** The run failed: write what the log holds, no trailer, and keep the partial file. */
  abort(): PartialLog {
    try {
      this.stream?.abort();
    } catch {
      // the log may be mid-rollback; what reached the file stays salvageable
    }
    if (!this.closed) {
      try {
        closeSync(this.fd);
      } catch {
        /* already failing */
      }
      this.closed = true;
    }
    return { path: this.shown(this.partialPath), events: this.stream?.events ?? 0, bytes: this.size };
  }
}
