/** A few real spawns of bin/mmsim.mjs: tsx registration, exit codes, stdout/stderr. */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scenarioJson } from './testing/fixtures.js';
import { files, tmp } from './testing/harness.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/mmsim.mjs');
const dir = tmp();
files(dir, {
  'ok.json': scenarioJson([{ op: 'mmap', page: 0, pages: 4, prot: 'rw-' }, { op: 'touch', page: 0, pages: 2 }], { name: 'ok' }),
  'bad.json': scenarioJson([{ op: 'mmap', page: 0, pages: 4, prot: 'rw-' }, { op: 'madvise', page: 0, pages: 4, advice: 'SOMETIMES' }]),
});
const mmsim = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });

describe('bin/mmsim.mjs', () => {
  it('runs --help through tsx', () => {
    const r = mmsim('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: mmsim');
    expect(r.stdout).toContain('Examples:');
  });

  it('exits 2 on a bad scenario, naming the step and field on stderr', () => {
    const r = mmsim('run', 'bad.json');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bad\.json: step 1 \(madvise\): field "advice"/);
  });

  it('runs a scenario and writes a log that the other commands read', () => {
    const r = mmsim('run', 'ok.json', '--json', '--log', join(dir, 'ok.mmlog'));
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).scenario).toBe('ok');
    expect(r.stderr).toBe('');
    const s = mmsim('stats', 'ok.mmlog', '--json');
    expect(s.status).toBe(0);
    expect(JSON.parse(s.stdout).counts.folios.end).toBe(2);
  });
});
