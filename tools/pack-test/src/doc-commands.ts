/**
 * The shell blocks of docs/writing-a-strategy-plugin.md that the pack test runs as
 * written: each ```sh block right after a `<!-- pack-test: run in WHERE -->` comment,
 * WHERE being "the monorepo" (a copy of it: packs.ts), "an empty folder" (outside any
 * project) or "the project" (the one the empty folder's block made, with the guide's
 * files in it). The one change: `/tmp/mmsim-tgz` is the test's own folder, so that two
 * runs (or a plugin author's tarballs) do not share it.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './packs.js';

export const GUIDE = 'docs/writing-a-strategy-plugin.md';
export const TGZ = '/tmp/mmsim-tgz';

export type Where = 'the monorepo' | 'an empty folder' | 'the project';

export interface DocBlock {
  where: Where;
  /** 1-based line of the block's first command in the guide */
  line: number;
  script: string;
}

const MARKED = /<!-- pack-test: run in (the monorepo|an empty folder|the project) -->\n```sh\n([\s\S]*?)\n```/g;

/** The marked blocks, in the guide's order. */
export function docBlocks(text = readFileSync(join(ROOT, GUIDE), 'utf8')): DocBlock[] {
  return [...text.matchAll(MARKED)].map((m) => ({
    where: m[1] as Where,
    line: text.slice(0, m.index).split('\n').length + 2,
    script: m[2],
  }));
}

/** Run one block with bash (-e: the first failing command fails it) in `cwd`, /tmp/mmsim-tgz being `tgz`. */
export function runDocBlock(b: DocBlock, cwd: string, tgz: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('bash', ['-e', '-o', 'pipefail', '-c', b.script.replaceAll(TGZ, tgz)], {
    cwd,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false', ...env },
  });
}

/** What a block's failure says: where in the guide, the script, the output's tail. */
export function blockFailure(b: DocBlock, r: SpawnSyncReturns<string>): string {
  return `${GUIDE}:${b.line} (run in ${b.where}) failed with exit ${r.status}${r.error ? ` (${r.error.message})` : ''}:\n${b.script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`.slice(-6000);
}

export interface Tarball {
  name: string;
  tarball: string;
  /** paths inside the tarball, without the leading package/ */
  files: string[];
}

/** The .tgz files in `dir`: the package each holds and its files. */
export function tarballsIn(dir: string): Tarball[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.tgz'))
    .sort()
    .map((f) => {
      const tarball = join(dir, f);
      const list = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
      const manifest = spawnSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' });
      if (list.status !== 0 || manifest.status !== 0) throw new Error(`${tarball}: cannot read the tarball: ${list.stderr}${manifest.stderr}`);
      const files = list.stdout.split('\n').filter(Boolean).map((p) => p.replace(/^package\//, ''));
      return { name: (JSON.parse(manifest.stdout) as { name: string }).name, tarball, files };
    });
}
