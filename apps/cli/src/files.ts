/**
 * Reading scenarios and logs, writing logs. Errors carry the file name: a bad
 * scenario throws ScenarioError (file, step, field), a damaged log LogFileError (offset).
 */
import { mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { decodeLogFile, encodeLogFile, type EventLog, type LogHeader, type ReadLogResult } from '@mmsim/core';
import { parseScenario, type Scenario } from '@mmsim/scenario';
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
  return parseScenario(readBytes(ctx, file, 'scenario').toString('utf8'), file);
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
  const r = decodeLogFile(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), { file, salvage: opts.salvage });
  checkLogPlugins(ctx, file, r.header);
  if (r.damage && !opts.quiet) {
    ctx.warn(
      `${file}: salvaged ${r.damage.eventsKept} events; dropped the damaged tail at byte offset ${r.damage.offset} (${r.damage.message})`,
    );
  } else if (opts.salvage && !r.damage && !opts.quiet) {
    ctx.warn(`${file}: the log is intact (${r.log.length} events); --salvage had nothing to do`);
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

/** Write a whole log file (deterministic bytes: the header carries no timestamps). */
export function writeLog(ctx: CliContext, file: string, log: EventLog, header: LogHeader): string {
  const path = resolve(ctx.cwd, file);
  try {
    mkdirSync(dirname(path), { recursive: true });
    log.flush();
    writeFileSync(path, encodeLogFile(log, header));
  } catch (e) {
    throw new CliError(`${file}: cannot write the log: ${(e as Error).message}`, EXIT.BAD_INPUT);
  }
  return path;
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

export function writeText(ctx: CliContext, file: string, text: string): string {
  const path = resolve(ctx.cwd, file);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  } catch (e) {
    throw new CliError(`${file}: cannot write: ${(e as Error).message}`, EXIT.BAD_INPUT);
  }
  return path;
}
