/**
 * Reading scenarios and logs, writing logs. Errors carry the file name: a bad
 * scenario throws ScenarioError (file, step, field), a damaged log LogFileError (offset).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { LOG_MAGIC, decodeLogFile, encodeLogFile, type EventLog, type LogHeader, type ReadLogResult } from '@mmsim/core';
import { MAX_SCENARIO_BYTES, ScenarioError, parseScenario, type Scenario } from '@mmsim/scenario';
import { CliError, EXIT, type CliContext } from './context.js';
import { moduleInstalled } from './integrations.js';

function readBytes(ctx: CliContext, file: string, what: string): Buffer {
  try {
    return readFileSync(resolve(ctx.cwd, file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new CliError(`${file}: cannot read the ${what}: ${why}`, EXIT.BAD_INPUT);
  }
}

/** Read and validate a scenario file (throws ScenarioError naming file, step and field). */
export function readScenario(ctx: CliContext, file: string): Scenario {
  // refuse a huge file before reading it into memory
  let size = 0;
  try {
    size = statSync(resolve(ctx.cwd, file)).size;
  } catch {
    // readBytes names the problem
  }
  if (size > MAX_SCENARIO_BYTES) {
    throw new ScenarioError(`the file is ${(size / 2 ** 20).toFixed(1)} MiB, more than the limit of ${MAX_SCENARIO_BYTES / 2 ** 20} MiB for a scenario`, { file });
  }
  const bytes = readBytes(ctx, file, 'scenario');
  if (bytes.subarray(0, LOG_MAGIC.length).toString('latin1') === LOG_MAGIC) {
    throw new CliError(`${file} is an mmsim event log, not a scenario: use \`npx mmsim replay ${file}\` (or events, inspect, check)`, EXIT.BAD_INPUT);
  }
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
  const buf = readBytes(ctx, file, 'log');
  if (/^\s*\{/.test(buf.subarray(0, 64).toString('latin1'))) {
    throw new CliError(`${file} is JSON (a scenario?), not an mmsim event log: run it with \`npx mmsim run ${file} --log out.mmlog\``, EXIT.BAD_INPUT);
  }
  const r = decodeLogFile(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), { file, salvage: opts.salvage });
  if (!opts.quiet) for (const w of r.warnings) ctx.warn(`${file}: warning: ${w}`);
  checkLogPlugins(ctx, file, r.header);
  if (r.damage && !opts.quiet) {
    const d = r.damage;
    const lost = d.eventsLost !== undefined ? `${d.eventsLost} events` : 'an unknown number of events (no trailer says how many there were)';
    ctx.warn(
      `${file}: salvaged ${d.eventsKept} events; lost ${lost} and ${d.bytesLost} bytes from byte offset ${d.offset} on (${d.message})`,
    );
  } else if (opts.salvage && !r.damage && !opts.quiet) {
    ctx.warn(`${file}: the log is intact (${r.log.length} events${r.version === 1 ? ', format 1: unverified' : ''}); --salvage had nothing to do`);
  }
  return { ...r, file };
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
export function checkLogPlugins(ctx: CliContext, file: string, header: LogHeader): void {
  const plugins = (header.config as { plugins?: unknown }).plugins;
  if (!Array.isArray(plugins)) return;
  const missing: string[] = [];
  for (const raw of plugins as unknown[]) {
    // older logs list bare names
    const p = (typeof raw === 'string' ? { name: raw } : raw) as { name?: unknown; version?: unknown; module?: unknown } | null;
    if (typeof p?.name !== 'string') continue;
    const spec = typeof p.module === 'string' ? p.module : packageOf(p.name);
    if (spec && !moduleInstalled(spec, ctx.cwd)) missing.push(`${spec}${typeof p.version === 'string' ? ` (plugin ${p.name} ${p.version})` : ` (plugin ${p.name})`}`);
  }
  if (missing.length)
    throw new CliError(
      `${file}: the log was written with plugins that are not installed here: ${missing.join(', ')}; install ${missing.length > 1 ? 'them' : 'it'} (npm install ${missing.map((m) => m.split(' ')[0]).join(' ')}) to read this log`,
      EXIT.BAD_INPUT,
    );
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
