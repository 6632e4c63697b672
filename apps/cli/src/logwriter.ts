/**
 * Writing a run's log so that nothing is lost: the log streams to a partial file beside
 * the target (atomic.ts: created exclusively under a name of its own, so a planted
 * symlink is never followed and another run's partial never overwritten) as chunks
 * seal, and is renamed into place only when the run finished (so an old log at the
 * target survives any failure). A failed, interrupted or out-of-space run keeps the
 * partial file: it has no trailer, and `--salvage` reads its valid prefix.
 *
 * A write error never throws into the engine (it would look like a failing syscall):
 * it is recorded, later writes are dropped, and the run stops at the next step
 * (`failure()` is the run's interrupt check).
 */
import { ftruncateSync } from 'node:fs';
import { streamLog, type EventLog, type LogHeader, type LogStreamWriter } from '@mmsim/core';
import { PartialFile, WriteError } from './atomic.js';
import type { CliContext } from './context.js';

/** Tell where the failed run's partial log is and how to read it. */
export function warnPartial(ctx: CliContext, source: string, partial: PartialLog, target: string): void {
  ctx.warn(
    `${source}: partial log kept: ${partial.path} (${partial.events} events, ${partial.bytes} bytes, no trailer; ` +
      `read it with --salvage, e.g. mmsim events ${partial.path} --salvage); ${target} was not replaced`,
  );
}

/** A failed write of the log (ENOSPC, EIO...): exit EXIT.IO. */
export class LogWriteError extends WriteError {
  override name = 'LogWriteError';
  constructor(file: string, cause: NodeJS.ErrnoException) {
    super(file, 'the log', cause);
  }
}

export interface PartialLog {
  /** path of the kept partial file, as given (relative to cwd when it was) */
  path: string;
  /** events in the chunks that reached the file whole: what --salvage reads back */
  events: number;
  bytes: number;
}

export class LogFileWriter {
  private readonly out: PartialFile;
  private stream: LogStreamWriter | null = null;
  private error: NodeJS.ErrnoException | null = null;
  private done = false;
  /** bytes on disk */
  private size = 0;
  /** events in the chunks written whole before any write failed */
  private whole = 0;

  private constructor(
    /** the target as the user named it */
    readonly file: string,
    out: PartialFile,
  ) {
    this.out = out;
  }

  /** Create the partial file (refused: exit 2 when the folder is missing or another run writes `file`). */
  static open(ctx: CliContext, file: string, option = '--log'): LogFileWriter {
    return new LogFileWriter(file, new PartialFile(ctx, file, 'the log', option));
  }

  /** the partial file's name as messages give it */
  get partialPath(): string {
    return this.out.shown;
  }

  /** Start streaming `log` (the header now, each chunk as it seals). */
  attach(log: EventLog, header: LogHeader): void {
    this.stream = streamLog(log, header, {
      write: (b) => this.write(b),
      truncate: (n) => this.truncate(n),
    });
  }

  /** While nothing failed, every chunk the stream counts reached the file whole. */
  private settle(): void {
    if (!this.error && this.stream) this.whole = this.stream.events;
  }

  private write(b: Uint8Array): void {
    this.settle();
    if (this.error) return;
    try {
      this.out.writeAt(b, this.size);
      this.size += b.length;
    } catch (e) {
      this.error = e as NodeJS.ErrnoException;
    }
  }

  private truncate(n: number): void {
    if (this.error) return;
    try {
      ftruncateSync(this.out.fd, n);
      this.size = n;
    } catch (e) {
      this.error = e as NodeJS.ErrnoException;
    }
  }

  /** The write error so far, as the error that stops the run (undefined: none). */
  failure(): LogWriteError | undefined {
    return this.error ? new LogWriteError(this.partialPath, this.error) : undefined;
  }

  /** The run finished: write the trailer, sync, and rename into place. Returns the target path. */
  commit(): string {
    this.stream!.finish();
    const fail = this.failure();
    if (fail) throw fail;
    this.done = true;
    return this.out.commit();
  }

  /** The run failed: write what the log holds, no trailer, and keep the partial file. */
  abort(): PartialLog {
    try {
      this.stream?.abort();
    } catch {
      // the log may be mid-rollback; what reached the file stays salvageable
    }
    this.settle();
    if (!this.done) this.out.keep();
    this.done = true;
    return { path: this.partialPath, events: this.whole, bytes: this.size };
  }
}
