/**
 * What the CLI loads at run time rather than by a static import: the private tools of the
 * monorepo (`@mmsim/bench`, `@mmsim/fuzz`: an installed CLI has neither) and the user's
 * `--plugin MODULE`s. The packages the CLI depends on (the runner, the invariants, the
 * default profile's plugins) are imported statically where they are used.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { definePlugin, type Plugin } from '@mmsim/core';
import type { PluginSpec } from '@mmsim/runner';
import { CliError, EXIT } from './context.js';
import { registerPluginHooks } from './plugin-loader.js';

export type { PluginSpec };

/* ---------------------------------------------------------------- loading */

const NOT_FOUND = /ERR_MODULE_NOT_FOUND|Cannot find (module|package)|Failed to (load|resolve)|Does the file exist|not exported/i;

function isNotFound(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown };
  return err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND' || NOT_FOUND.test(String(err?.message ?? ''));
}

/** Hooks for tests: substitute a module for an optional package's name. */
const overrides = new Map<string, Record<string, unknown> | null>();

/** @internal for tests: make the optional package `spec` resolve to `mod` (null: pretend it is not installed). */
export function overrideModule(spec: string, mod: Record<string, unknown> | null | undefined): void {
  if (mod === undefined) overrides.delete(spec);
  else overrides.set(spec, mod);
}

/** Import an optional package; `missing` when it is not installed (other errors propagate). */
export async function importOptional(spec: string): Promise<{ mod: Record<string, unknown> } | { missing: string }> {
  if (overrides.has(spec)) {
    const m = overrides.get(spec);
    return m ? { mod: m } : { missing: `${spec} is not installed` };
  }
  try {
    return { mod: (await import(/* @vite-ignore */ spec)) as Record<string, unknown> };
  } catch (e) {
    if (isNotFound(e)) return { missing: (e as Error).message.split('\n')[0] };
    throw e;
  }
}

function pluginFrom(mod: Record<string, unknown>, what: string): Plugin {
  const cand = (mod.default ?? mod.plugin) as unknown;
  if (cand === undefined) throw new CliError(`${what}: the module has neither a default export nor an export named "plugin"`, EXIT.BAD_INPUT);
  if (typeof cand === 'function') {
    const which = mod.default !== undefined ? 'default export' : 'export "plugin"';
    throw new CliError(
      `${what}: the ${which} is a function${cand.name ? ` (${cand.name})` : ''}, not an mmsim plugin; is it a factory? call it: \`export default ${cand.name || 'factory'}()\`, or export the plugin as "plugin"`,
      EXIT.BAD_INPUT,
    );
  }
  try {
    return definePlugin(cand as Plugin);
  } catch (e) {
    throw new CliError(`${what}: the exported value is not an mmsim plugin: ${(e as Error).message}`, EXIT.BAD_INPUT);
  }
}

/**
 * Is a package (or a module file) there to be loaded, without loading it? Resolved from
 * `cwd`, then from mmsim's own install.
 */
export function moduleInstalled(spec: string, cwd: string): boolean {
  if (looksLikePath(spec)) return existsSync(resolve(cwd, spec));
  for (const from of [join(cwd, 'noop.js'), import.meta.url]) {
    try {
      createRequire(from).resolve(spec);
      return true;
    } catch (e) {
      // an ESM-only package without a "require" condition still resolves its package.json
      try {
        createRequire(from).resolve(`${spec}/package.json`);
        return true;
      } catch {
        void e;
      }
    }
  }
  return false;
}

const looksLikePath = (m: string) => m.startsWith('.') || isAbsolute(m) || /\.(m?[jt]s|cjs|cts|mts)$/.test(m);

/**
 * `--plugin MODULE`: a path (relative to cwd) or a package name (resolved from cwd
 * first, then from mmsim's own install). Its default export, or export `plugin`.
 */
export async function loadPluginModule(spec: string, cwd: string): Promise<Plugin> {
  const what = `--plugin ${spec}`;
  let target: string;
  if (looksLikePath(spec)) {
    target = pathToFileURL(resolve(cwd, spec)).href;
    registerPluginHooks();
  } else {
    try {
      target = pathToFileURL(createRequire(join(cwd, 'noop.js')).resolve(spec)).href;
    } catch {
      target = spec;
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(/* @vite-ignore */ target)) as Record<string, unknown>;
  } catch (e) {
    // the whole message: a compile error spans lines (file:line:column, the line, a caret)
    const msg = (e as Error)?.message ?? String(e);
    throw new CliError(`${what}: cannot load the module: ${msg.replace(/\s+$/, '')}`, EXIT.BAD_INPUT);
  }
  return pluginFrom(mod, what);
}
