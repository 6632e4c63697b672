/**
 * Build the debugger app with Vite on demand, in production mode, into a per-user cache
 * keyed by everything that shapes the bundle: the app's and the bundled workspace
 * packages' sources (every @mmsim package the sources import, transitively), the lock file, the installed versions of the bundled and building
 * packages, the Vite config and the mode. A second `mmsim serve` with the same inputs
 * starts at once; concurrent builds each write a private directory and the first
 * rename wins.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/debugger */
export const APP_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The build mode: always production (a development React bundle is slow and noisy). */
export const BUILD_MODE = 'production';

/** npm packages that are bundled or that build the bundle (their installed versions are part of the key). */
const BUNDLED_NPM = ['react', 'react-dom', 'scheduler', 'uplot', 'rxjs', 'immer', 'vite', '@vitejs/plugin-react', 'rolldown', 'esbuild'];

function listSources(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) listSources(p, out);
    else if (/\.(ts|tsx|css|html|json)$/.test(name) && !/\.test\.tsx?$/.test(name)) out.push(p);
  }
}

/** a workspace package named in an import or export statement (or a dynamic import) */
const WORKSPACE_IMPORT = /(?:\bfrom|\bimport\s*\(|^\s*import)\s*['"](@mmsim\/[a-z0-9-]+)/gm;

/**
 * The folders of the workspace packages the app's sources import, and those their
 * sources import, to the end (found by reading the import statements, not the
 * package.json fields, where a package may list what it imports only as a peer). A superset of what Vite bundles (the app's test helpers count too):
 * a changed model must never be served a build of the old one.
 */
export function bundledWorkspace(appRoot = APP_ROOT): string[] {
  const repo = resolve(appRoot, '../..');
  const self = (JSON.parse(readFileSync(join(appRoot, 'package.json'), 'utf8')) as { name?: string }).name;
  const seen = new Map<string, string>();
  const queue = [appRoot];
  while (queue.length) {
    const files: string[] = [];
    listSources(join(queue.shift()!, 'src'), files);
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(WORKSPACE_IMPORT)) {
        const name = m[1];
        if (name === self || seen.has(name)) continue;
        const link = join(repo, 'node_modules', name);
        if (!existsSync(link)) continue;
        const dir = realpathSync(link);
        seen.set(name, dir);
        queue.push(dir);
      }
    }
  }
  return [...seen.values()].sort();
}

/** name@version of each bundled or building npm package as installed (missing: name@-). */
export function installedVersions(appRoot = APP_ROOT): string[] {
  const req = createRequire(join(appRoot, 'package.json'));
  return BUNDLED_NPM.map((name) => {
    try {
      const pj = req.resolve(`${name}/package.json`);
      return `${name}@${(JSON.parse(readFileSync(pj, 'utf8')) as { version?: string }).version ?? '?'}`;
    } catch {
      return `${name}@-`;
    }
  });
}

/** Hash of everything that goes into the bundle. */
export function sourceHash(appRoot = APP_ROOT): string {
  const files: string[] = [];
  listSources(join(appRoot, 'src'), files);
  const repo = resolve(appRoot, '../..');
  for (const d of bundledWorkspace(appRoot)) {
    listSources(join(d, 'src'), files);
    // its exports say which of those files an import reaches
    files.push(join(d, 'package.json'));
  }
  for (const f of ['index.html', 'vite.config.ts', 'package.json']) files.push(join(appRoot, f));
  files.push(join(repo, 'package-lock.json'));
  const h = createHash('sha256');
  h.update(`mode=${BUILD_MODE}\0nominify=${process.env.MMSIM_DEBUGGER_NOMINIFY ?? ''}\0`);
  for (const v of installedVersions(appRoot)) h.update(`${v}\0`);
  for (const f of files) {
    if (!existsSync(f)) continue;
    h.update(f.startsWith(repo) ? f.slice(repo.length) : f);
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * The user's own cache directory: $XDG_CACHE_HOME/mmsim-debugger, else ~/.cache/mmsim-debugger,
 * else (no home) $TMPDIR/mmsim-debugger-<uid>. Never a shared, predictable directory of another
 * user: an existing one must be a real directory owned by us and not writable by others.
 */
export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : '');
  return base ? join(base, 'mmsim-debugger') : join(tmpdir(), `mmsim-debugger-${userInfo().uid}`);
}

function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw new Error(`debugger build cache ${dir} is not a directory`);
  if (uid !== undefined && st.uid !== uid) throw new Error(`debugger build cache ${dir} belongs to uid ${st.uid}, not to you (uid ${uid}): refusing to serve its files`);
  if (st.mode & 0o022) throw new Error(`debugger build cache ${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)}): refusing to serve its files`);
}

/**
 * The page built when the package was packed (`app/`, by its prepack:assets script):
 * what an installed @mmsim/debugger serves, with no Vite and no build. Only when this
 * module runs from the published dist/: in the workspace an app/ left by a pack may be
 * stale, and the sources decide (ensureAppBuilt).
 */
export function prebuiltApp(): string | null {
  if (!/[\\/]dist[\\/]build\.js$/.test(fileURLToPath(import.meta.url))) return null;
  const app = join(APP_ROOT, 'app');
  return existsSync(join(app, 'index.html')) ? app : null;
}

const inProcess = new Map<string, Promise<string>>();

export interface BuildOptions {
  /** where built apps are cached (default: defaultCacheDir()) */
  cacheDir?: string;
  /** log Vite's output */
  verbose?: boolean;
}

/** The directory of a built app for the current inputs: reused, or built now. */
export function ensureAppBuilt(opts: BuildOptions = {}): Promise<string> {
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  ensurePrivateDir(cacheDir);
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
  // the JSX transform follows NODE_ENV, not the mode: under NODE_ENV=test (vitest) it would emit
  // jsxDEV calls that the production React lacks. The build runs as production, whatever the caller's.
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = BUILD_MODE;
  try {
    await viteBuild(vite, tmp, opts);
  } finally {
    if (env === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = env;
  }
  try {
    renameSync(tmp, out);
  } catch (e) {
    // another process finished first: keep its build
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(out, 'index.html'))) throw e;
  }
  return out;
}

async function viteBuild(vite: typeof import('vite'), tmp: string, opts: BuildOptions): Promise<void> {
  await vite.build({
    configFile: join(APP_ROOT, 'vite.config.ts'),
    root: APP_ROOT,
    mode: BUILD_MODE,
    // whatever NODE_ENV the caller runs under (vitest sets "test"), React gets its production build
    define: { 'process.env.NODE_ENV': JSON.stringify(BUILD_MODE) },
    logLevel: opts.verbose ? 'info' : 'error',
    build: { outDir: tmp, emptyOutDir: true, minify: process.env.MMSIM_DEBUGGER_NOMINIFY ? false : true },
  });
}
