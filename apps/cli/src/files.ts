/**
 * Reading scenarios and logs, writing logs. Errors carry the file name: a bad
 * scenario throws ScenarioError (file, step, field), a damaged log LogFileError (offset).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { LOG_MAGIC, decodeLogFile, encodeLogFile, type EventLog, type LogHeader, type ReadLogResult } from '@mmsim/core';
import { MAX_SCENARIO_BYTES, ScenarioError, parseScenario, type Scenario } from '@mmsim/scenario';
import { CliError, EXIT, type CliContext } from './context.js';
import { moduleInstalled } from './integrations.js';

/**
 * Open `file` for reading if it is a regular file, else refuse naming it: /dev/zero,
 * /dev/urandom and a FIFO never end (a read of them hung, or grew to 4 GB), a folder
 * is EISDIR. O_NONBLOCK: opening a FIFO without a writer returns at once instead of
 * waiting for one; it changes nothing for a regular file. Every reader of a log, a
 * scenario, a trace or a result opens its file through this. The caller closes the fd.
 */
export function openRegularFile(ctx: CliContext, file: string, what: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(resolve(ctx.cwd, file), constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw cannotRead(file, what, e);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isSocket() ? 'a socket' : st.isBlockDevice() ? 'a block device' : 'a special file';
    throw new CliError(`${file}: cannot read the ${what}: it is ${kind}, not a regular file`, EXIT.BAD_INPUT);
  }
  return { fd, size: st.size };
}

/** The error for a file that cannot be read (exit 2, the reason in words). */
export function cannotRead(file: string, what: string, e: unknown): CliError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
  return new CliError(`${file}: cannot read the ${what}: ${why}`, EXIT.BAD_INPUT);
}

/** A JSON file given as a log (a scenario?): refused with what to run instead. */
export function refuseJsonLog(file: string, start: Uint8Array): void {
  if (/^\s*\{/.test(Buffer.from(start.subarray(0, 64)).toString('latin1'))) {
    throw new CliError(`${file} is JSON (a scenario?), not an mmsim event log: run it with \`npx mmsim run ${file} --log out.mmlog\``, EXIT.BAD_INPUT);
  }
}

/** The bytes of a regular file (openRegularFile's refusals), at most `limit` of them. */
export function readRegularFile(ctx: CliContext, file: string, what: string, limit?: { bytes: number; error: (size: number) => Error }): Buffer {
  const { fd, size } = openRegularFile(ctx, file, what);
  try {
    if (limit && size > limit.bytes) throw limit.error(size);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A trace's first line is its header, `{"format":"mmsim-trace/1",...}` (the rest is one
 * record a line, so JSON.parse of the whole file fails at the second line): when `buf`
 * starts so, the message that sends the user to `mmsim trace`.
 */
export function traceRefusal(file: string, buf: Buffer, command: string): CliError | null {
  const head = buf.subarray(0, 4096).toString('utf8');
  if (!/^\s*\{\s*"format"\s*:\s*"mmsim-trace\//.test(head)) return null;
  return new CliError(`${file}: this is a trace (mmsim-trace/1, from \`mmsim record\`), not ${command}: replay it with \`npx mmsim trace ${file}\``, EXIT.BAD_INPUT);
}

/** Read and validate a scenario file (throws ScenarioError naming file, step and field). */
export function readScenario(ctx: CliContext, file: string): Scenario {
  // a huge file is refused before it is read into memory
  const bytes = readRegularFile(ctx, file, 'scenario', {
    bytes: MAX_SCENARIO_BYTES,
    error: (size) => new ScenarioError(`the file is ${(size / 2 ** 20).toFixed(1)} MiB, more than the limit of ${MAX_SCENARIO_BYTES / 2 ** 20} MiB for a scenario`, { file }),
  });
  if (bytes.subarray(0, LOG_MAGIC.length).toString('latin1') === LOG_MAGIC) {
    throw new CliError(`${file} is an mmsim event log, not a scenario: use \`npx mmsim replay ${file}\` (or events, inspect, check)`, EXIT.BAD_INPUT);
  }
  const trace = traceRefusal(file, bytes, 'a scenario');
  if (trace) throw trace;
  return parseScenario(bytes.toString('utf8'), file);
}

export interface LoadedLog extends ReadLogResult {
  file: string;
}

/**
 * Read a log file. Without `salvage` a damaged file throws LogFileError (offset named);
 * with it the valid prefix is kept and a note says how many events survived.
 */
export function readLog(ctx: CliContext, file: string, opts: { salvage?: boolean; quiet?: boolean } = {}): LoadedLog {
  const buf = readRegularFile(ctx, file, 'log');
  const trace = traceRefusal(file, buf, 'an mmsim event log');
  if (trace) throw trace;
  refuseJsonLog(file, buf);
  const r = decodeLogFile(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), { file, salvage: opts.salvage });
  checkLogPlugins(ctx, file, r.header, r.version);
  reportRead(ctx, file, r, opts);
  return { ...r, file };
}

/** What reading a log has to say: its warnings, and what salvage kept and lost. */
export function reportRead(ctx: CliContext, file: string, r: ReadLogResult, opts: { salvage?: boolean; quiet?: boolean }): void {
  if (!opts.quiet) for (const w of r.warnings) ctx.warn(`${file}: warning: ${w}`);
  if (r.damage && !opts.quiet) {
    const d = r.damage;
    const lost = d.eventsLost !== undefined ? `${d.eventsLost} events` : 'an unknown number of events (no trailer says how many there were)';
    ctx.warn(
      `${file}: salvaged ${d.eventsKept} events; lost ${lost} and ${d.bytesLost} bytes from byte offset ${d.offset} on (${d.message})`,
    );
  } else if (opts.salvage && !r.damage && !opts.quiet) {
    ctx.warn(`${file}: the log is intact (${r.log.length} events${r.version === 1 ? ', format 1: unverified' : ''}); --salvage had nothing to do`);
  }
}

/**
 * What to add to a refusal that a log's header caused: a format 1 header has no
 * checksum, so what it says may be damage (named with the offset of its JSON).
 */
export function unverifiedHeader(version: number): string {
  return version === 1 ? ' (a format 1 log has no header checksum: its header JSON, at byte offset 14, may be damaged)' : '';
}

/** The npm package a plugin name belongs to: "@mmsim/linux/merge-policy" -> "@mmsim/linux". */
function packageOf(name: string): string | null {
  const m = /^(@[^/\s]+\/[^/\s]+)/.exec(name);
  return m ? m[1] : null;
}

/**
 * A log names the plugins it ran with (and the module each came from); one whose
 * plugins are not installed here is refused, the missing package named, since its
 * events mean what those plugins made them mean.
 */
export function checkLogPlugins(ctx: CliContext, file: string, header: LogHeader, version = 0): void {
  const plugins = (header.config as { plugins?: unknown }).plugins;
  if (!Array.isArray(plugins)) return;
  const missing: string[] = [];
  const files: string[] = [];
  for (const raw of plugins as unknown[]) {
    // older logs list bare names
    const p = (typeof raw === 'string' ? { name: raw } : raw) as { name?: unknown; version?: unknown; module?: unknown } | null;
    if (typeof p?.name !== 'string') continue;
    const spec = typeof p.module === 'string' ? p.module : packageOf(p.name);
    if (!spec || moduleInstalled(spec, ctx.cwd)) continue;
    const what = `${spec}${typeof p.version === 'string' ? ` (plugin ${p.name} ${p.version})` : ` (plugin ${p.name})`}`;
    // a --plugin file is recorded by its absolute path: there is nothing to npm install
    (isAbsolute(spec) ? files : missing).push(what);
  }
  const say: string[] = [];
  if (missing.length) say.push(`plugins that are not installed here: ${missing.join(', ')}; install ${missing.length > 1 ? 'them' : 'it'} (npm install ${missing.map((m) => m.split(' ')[0]).join(' ')})`);
  if (files.length) say.push(`plugin files that are not there: ${files.join(', ')}; put ${files.length > 1 ? 'them' : 'it'} back at ${files.length > 1 ? 'those paths' : 'that path'}`);
  if (say.length) throw new CliError(`${file}: the log was written with ${say.join('; and with ')} to read this log${unverifiedHeader(version)}`, EXIT.BAD_INPUT);
}

/**
 * Write a whole log file (deterministic bytes: the header carries no timestamps)
 * atomically (atomic.ts), so an old log survives a failed write.
 */
export function writeLog(ctx: CliContext, file: string, log: EventLog, header: LogHeader, option = '--log'): string {
  log.flush();
  return writeFileAtomic(ctx, file, encodeLogFile(log, header), 'the log', option);
}

/** Is `p` an existing directory? */
export function isDir(ctx: CliContext, p: string): boolean {
  try {
    return statSync(resolve(ctx.cwd, p)).isDirectory();
  } catch {
    return false;
  }
}

/** `<dir>/<scenario file name without extension>.mmlog` */
export function logPathIn(dir: string, scenarioFile: string): string {
  const b = basename(scenarioFile);
  return join(dir, `${extname(b) ? b.slice(0, -extname(b).length) : b}.mmlog`);
}

/** Write a text file atomically (atomic.ts): `option` names what asked for it in messages. */
export function writeText(ctx: CliContext, file: string, text: string, option: string): string {
  return writeFileAtomic(ctx, file, text, 'the file', option);
}
