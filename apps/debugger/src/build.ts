/**
 * Build the debugger app with Vite on demand, into a cache directory keyed by a hash
 * of its sources (and core's, which it bundles). A second `mmsim serve` with the same
 * sources starts at once; concurrent builds each write a private directory and the
 * first rename wins.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/debugger */
export const APP_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function listSources(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) listSources(p, out);
    else if (/\.(ts|tsx|css|html|json)$/.test(name) && !/\.test\.tsx?$/.test(name)) out.push(p);
  }
}

/** Hash of everything that goes into the bundle. */
export function sourceHash(appRoot = APP_ROOT): string {
  const files: string[] = [];
  listSources(join(appRoot, 'src'), files);
  const coreDir = resolve(appRoot, '../../packages/core/src');
  listSources(coreDir, files);
  for (const f of ['index.html', 'vite.config.ts', 'package.json']) files.push(join(appRoot, f));
  const h = createHash('sha256');
  for (const f of files) {
    if (!existsSync(f)) continue;
    h.update(f.slice(appRoot.length));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

const inProcess = new Map<string, Promise<string>>();

export interface BuildOptions {
  /** where built apps are cached (default: $TMPDIR/mmsim-debugger) */
  cacheDir?: string;
  /** log Vite's output */
  verbose?: boolean;
}

/** The directory of a built app for the current sources: reused, or built now. */
export function ensureAppBuilt(opts: BuildOptions = {}): Promise<string> {
  const cacheDir = opts.cacheDir ?? join(tmpdir(), 'mmsim-debugger');
  const hash = sourceHash();
  const out = join(cacheDir, hash);
  if (existsSync(join(out, 'index.html'))) return Promise.resolve(out);
  let p = inProcess.get(out);
  if (!p) {
    p = build(out, opts).finally(() => inProcess.delete(out));
    inProcess.set(out, p);
  }
  return p;
}

async function build(out: string, opts: BuildOptions): Promise<string> {
  const tmp = `${out}.tmp-${process.pid}-${Date.now()}`;
  const vite = await import('vite');
  await vite.build({
    configFile: join(APP_ROOT, 'vite.config.ts'),
    root: APP_ROOT,
    logLevel: opts.verbose ? 'info' : 'error',
    build: { outDir: tmp, emptyOutDir: true },
  });
  try {
    renameSync(tmp, out);
  } catch (e) {
    // another process finished first: keep its build
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(out, 'index.html'))) throw e;
  }
  return out;
}
