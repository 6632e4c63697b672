import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../cli.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Run the CLI in-process, capturing stdout and stderr. */
export async function cli(args: string[], cwd?: string, opts: { progress?: boolean } = {}): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s), cwd, progress: opts.progress ?? false, columns: 100 });
  return { code, out, err };
}

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/mmsim.mjs');

/**
 * Run bin/mmsim.mjs in a child process: a --plugin file that imports @mmsim/* gets the
 * CLI's own packages there, as a plugin author's does (in-process, from a temp folder, it
 * cannot resolve them).
 */
export function spawnCli(args: string[], cwd: string): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export function tmp(prefix = 'mmsim-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write files into dir: name -> text. */
export function files(dir: string, entries: Record<string, string | Uint8Array>): void {
  for (const [name, body] of Object.entries(entries)) writeFileSync(join(dir, name), body);
}

/** The partial file a run writes beside `target` in `folder` (`<target>.<pid>.<random>.partial`), if any. */
export function partialOf(folder: string, target: string): string | undefined {
  return readdirSync(folder).find((n) => n.startsWith(`${target}.`) && /\.\d+\.[0-9a-f]+\.partial$/.test(n.slice(target.length)));
}
