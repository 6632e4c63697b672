/**
 * Loading a `--plugin` file from anywhere: a plugin author's folder need not be an npm
 * project, nor a `"type": "module"` one, nor have `@mmsim/*` installed.
 *
 * Two module hooks (node:module register(), once, on the first --plugin path):
 *  - resolve: an `@mmsim/*` import that does not resolve from the importing file is
 *    resolved from the CLI's own installation (the plugin then shares the CLI's core);
 *  - load: a `.ts`/`.mts`/`.tsx` file outside node_modules whose folder is not a
 *    `"type": "module"` package is compiled as an ES module with esbuild (tsx's own
 *    compiler), instead of tsx turning it into CommonJS, whose `require()` of the ESM
 *    @mmsim packages fails ("Cannot require() ES Module ... in a cycle").
 *    Files of "type": "module" packages are left to tsx (bin/mmsim.mjs registers it).
 * A transform error is reported whole: file, line, column, the line and a caret.
 */
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

/** The hooks, as a data: module (it runs on Node's loader thread, so it is plain JS). */
const HOOKS = String.raw`
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
let fallbackParent = '';
let esbuildUrl = '';
let esbuild = null;
export function initialize(data) {
  fallbackParent = data.fallbackParent;
  esbuildUrl = data.esbuildUrl;
}
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (!fallbackParent || !specifier.startsWith('@mmsim/') || context.parentURL === fallbackParent) throw e;
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' && e?.code !== 'MODULE_NOT_FOUND') throw e;
    return next(specifier, { ...context, parentURL: fallbackParent });
  }
}
const typeCache = new Map();
function isModulePackage(dir) {
  if (typeCache.has(dir)) return typeCache.get(dir);
  let r = false;
  const pj = join(dir, 'package.json');
  if (existsSync(pj)) {
    try { r = JSON.parse(readFileSync(pj, 'utf8')).type === 'module'; } catch { r = false; }
  } else {
    const up = dirname(dir);
    r = up !== dir && isModulePackage(up);
  }
  typeCache.set(dir, r);
  return r;
}
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !/\.(m?ts|tsx)$/.test(new URL(url).pathname) || url.includes('/node_modules/')) return next(url, context);
  const file = fileURLToPath(url);
  if (!file.endsWith('.mts') && isModulePackage(dirname(file))) return next(url, context);
  if (!esbuildUrl) return next(url, context);
  esbuild ??= await import(esbuildUrl);
  const source = readFileSync(file, 'utf8');
  try {
    const out = await esbuild.transform(source, {
      loader: file.endsWith('x') ? 'tsx' : 'ts',
      format: 'esm',
      sourcefile: file,
      sourcemap: 'inline',
      target: 'node20',
    });
    return { format: 'module', source: out.code, shortCircuit: true };
  } catch (e) {
    const msgs = (e?.errors ?? []).map((m) => {
      const l = m.location;
      return l ? l.file + ':' + l.line + ':' + (l.column + 1) + ': ' + m.text + '\n    ' + l.lineText + '\n    ' + ' '.repeat(l.column) + '^' : m.text;
    });
    const err = new SyntaxError(msgs.length ? 'cannot compile ' + file + ':\n' + msgs.join('\n') : String(e?.message ?? e));
    err.code = 'ERR_MMSIM_PLUGIN_TRANSFORM';
    throw err;
  }
}
`;

let registered = false;

/** Where esbuild is: a dependency of tsx, which is a dependency of the CLI. */
function esbuildUrl(): string {
  const req = createRequire(import.meta.url);
  for (const from of [import.meta.url, req.resolve('tsx')]) {
    try {
      return pathToFileURL(createRequire(from).resolve('esbuild')).href;
    } catch {
      /* next */
    }
  }
  return '';
}

/** Install the hooks (idempotent). */
export function registerPluginHooks(): void {
  if (registered) return;
  registered = true;
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, {
    parentURL: import.meta.url,
    data: { fallbackParent: import.meta.url, esbuildUrl: esbuildUrl() },
  });
}
