/**
 * Files mmsim writes (`--log`, `demo --log`, `export --perfetto`): the temporary file is
 * created exclusively under a name of its own, so a symlink planted at a guessable name
 * is not followed and an earlier run's partial file is not overwritten; a second writer
 * of the same path is refused while the first runs; a missing folder is refused, not
 * created. The real model and the real CLI (a concurrent writer needs a second process).
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, files, tmp } from './testing/harness.js';

const BIN = fileURLToPath(new URL('../bin/mmsim.mjs', import.meta.url));
const dir = tmp('mmsim-written-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const small = JSON.stringify({
  format: 'mmsim-scenario/1',
  name: 'small',
  arena: { pages: 64 },
  steps: [
    { op: 'mmap', page: 0, pages: 8, prot: 'rw-' },
    { op: 'touch', page: 0, pages: 8 },
  ],
});
// runs for seconds: a second writer has time to meet the first
const steps: object[] = [];
for (let i = 0; i < 1000; i++) steps.push({ op: 'mmap', page: 0, pages: 64, prot: 'rw-' }, { op: 'touch', page: 0, pages: 64 }, { op: 'munmap', page: 0, pages: 64 });
const long = JSON.stringify({ format: 'mmsim-scenario/1', name: 'long', arena: { pages: 128 }, steps });
files(dir, { 'small.json': small, 'long.json': long });

const VICTIM = 'precious data\n';

/** A file some other user cares about, and a symlink to it at the name mmsim used to write `<target>.partial`. */
function plant(target: string): string {
  const victim = join(dir, `${target}.victim`);
  writeFileSync(victim, VICTIM);
  symlinkSync(victim, join(dir, `${target}.partial`));
  return victim;
}

describe('temporary files are created exclusively', () => {
  it('run --log: a symlink planted at <log>.partial is not followed, its target unchanged, the log written', async () => {
    const victim = plant('s.mmlog');
    const r = await cli(['run', 'small.json', '--log', 's.mmlog', '-q'], dir);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM);
    expect(lstatSync(join(dir, 's.mmlog.partial')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 's.mmlog')).subarray(0, 5).toString('latin1')).toBe('MMSIM');
    // no temporary file is left behind a run that finished
    expect(readdirSync(dir).filter((n) => /^s\.mmlog\.\d+\./.test(n))).toEqual([]);
  });

  it('demo --log: the same', async () => {
    const victim = plant('d.mmlog');
    const r = await cli(['demo', '--log', 'd.mmlog'], dir);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM);
    expect(readFileSync(join(dir, 'd.mmlog')).subarray(0, 5).toString('latin1')).toBe('MMSIM');
  });

  it("earlier runs' partial logs (their writers gone) are kept byte for byte", async () => {
    // the name older mmsim versions used, and one of today's (pid 2^22 + 1 is above Linux's pid_max: no process has it)
    const earlier = [join(dir, 'e.mmlog.partial'), join(dir, 'e.mmlog.4194305.0badf00d.partial')];
    for (const f of earlier) writeFileSync(f, 'MMSIM half a log');
    const r = await cli(['run', 'small.json', '--log', 'e.mmlog', '-q'], dir);
    expect(r.code, r.err).toBe(0);
    for (const f of earlier) expect(readFileSync(f, 'utf8')).toBe('MMSIM half a log');
    expect(readFileSync(join(dir, 'e.mmlog')).subarray(0, 5).toString('latin1')).toBe('MMSIM');
  });

  it('a second run writing the same --log while the first runs is refused (exit 2, the pid named); the first finishes its log', async () => {
    const first = spawn(process.execPath, [BIN, 'run', 'long.json', '--log', 'same.mmlog', '-q'], { cwd: dir });
    let err = '';
    first.stderr.on('data', (b) => (err += b));
    const closed = new Promise<number | null>((res) => first.on('close', (c) => res(c)));
    const t0 = Date.now();
    while (!readdirSync(dir).some((n) => n.startsWith(`same.mmlog.${first.pid}.`))) {
      if (Date.now() - t0 > 60_000) throw new Error(`the first run wrote no partial log in 60 s; stderr: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const second = await cli(['run', 'small.json', '--log', 'same.mmlog', '-q'], dir);
    expect(second.code).toBe(2);
    expect(second.err).toContain(`--log same.mmlog: another process (pid ${first.pid}) is writing the log there now`);
    // the refused run left nothing of its own
    expect(readdirSync(dir).filter((n) => n.startsWith(`same.mmlog.${process.pid}.`))).toEqual([]);
    expect(await closed, err).toBe(0);
    const ev = await cli(['events', 'same.mmlog', '--json'], dir);
    expect(ev.code, ev.err).toBe(0);
  }, 120_000);
});

describe('a missing folder is refused, not created', () => {
  for (const [what, args] of [
    ['run --log', ['run', 'small.json', '--log', 'nodir/x.mmlog']],
    ['demo --log', ['demo', '--log', 'nodir/x.mmlog']],
    ['export --perfetto', ['export', 's.mmlog', '--perfetto', 'nodir/x.json']],
  ] as const) {
    it(what, async () => {
      const r = await cli([...args], dir);
      expect(r.code).toBe(2);
      expect(r.err).toContain('x.');
      expect(r.err).toContain('the folder nodir does not exist');
      expect(existsSync(join(dir, 'nodir'))).toBe(false);
    });
  }
});

describe('explore --out DIR is written whole, in place of an earlier output', () => {
  const ROOT = new URL('../../../', import.meta.url).pathname;
  const GUP = 'scenarios/races/relocate-vs-gup-fast.json';
  const explore = (out: string) => cli(['explore', GUP, '--relocate-variant', 'fixed', '--json', '--out', out], ROOT);

  it('an earlier output is replaced: no stale violation log is left beside the new ones, nothing temporary beside the folder', async () => {
    const out = join(dir, 'ex');
    const first = await explore(out);
    expect(first.code, first.err).toBe(3);
    // as if an earlier run had found more
    writeFileSync(join(out, 'violation-7.mmlog'), 'stale');
    const again = await explore(out);
    expect(again.code, again.err).toBe(3);
    const n = JSON.parse(again.out).violations.length;
    expect(readdirSync(out).sort()).toEqual(['explore.json', ...Array.from({ length: n }, (_, i) => `violation-${i + 1}.mmlog`)].sort());
    expect(readdirSync(dir).filter((x) => x.startsWith('ex.'))).toEqual([]);
  });

  it('a folder holding other files is refused before exploring (exit 2), its files untouched', async () => {
    const out = join(dir, 'mine');
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const r = await explore(out);
    expect(r.code).toBe(2);
    expect(r.err).toContain('the folder holds files that are not an earlier output of this command (notes.txt)');
    expect(r.out).toBe('');
    expect(readdirSync(out)).toEqual(['notes.txt']);
  });

  it('a folder whose parent is missing is refused (exit 2), not created', async () => {
    const r = await explore(join(dir, 'nodir', 'out'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('does not exist');
    expect(existsSync(join(dir, 'nodir'))).toBe(false);
  });
});
