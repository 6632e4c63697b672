/**
 * Runs lose nothing: the real CLI (spawned, with the real model) interrupted by SIGINT,
 * failed by a throwing plugin, and out of disk space (a 64 KiB tmpfs) keeps a partial
 * log without trailer that --salvage reads, and leaves the old log at the target intact.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { partialOf, tmp } from './testing/harness.js';

const BIN = fileURLToPath(new URL('../bin/mmsim.mjs', import.meta.url));
const OLD_LOG = fileURLToPath(new URL('../../../packages/core/src/fixtures/fork-cow.v1.mmlog', import.meta.url));
const dir = tmp('mmsim-lost-');

/** a scenario that runs for many seconds and writes megabytes of log */
function longScenario(rounds: number): string {
  const steps: object[] = [];
  for (let i = 0; i < rounds; i++) {
    steps.push({ op: 'mmap', page: 0, pages: 64, prot: 'rw-' }, { op: 'touch', page: 0, pages: 64 }, { op: 'munmap', page: 0, pages: 64 });
  }
  return JSON.stringify({ format: 'mmsim-scenario/1', name: 'long', arena: { pages: 128 }, steps });
}

writeFileSync(join(dir, 'long.json'), longScenario(4000));
writeFileSync(join(dir, 'medium.json'), longScenario(300));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

function mmsim(args: string[], cwd = dir): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 30 });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** The partial log reads with --salvage only: strict read refuses it (no trailer). */
function expectSalvageable(cwd: string, partial: string, minEvents: number): number {
  const strict = mmsim(['events', partial, '--json'], cwd);
  expect(strict.code).toBe(2);
  expect(strict.err).toMatch(/no trailer|cut short|stray bytes/);
  const salv = mmsim(['events', partial, '--json', '--salvage'], cwd);
  expect(salv.code).toBe(0);
  expect(salv.err).toMatch(/salvaged \d+ events/);
  const n = salv.out.trim() ? salv.out.trim().split('\n').length : 0;
  expect(n).toBeGreaterThanOrEqual(minEvents);
  expect(salv.err).not.toMatch(/\n\s+at /); // no stack
  return n;
}

function expectOldLogIntact(path: string): void {
  expect(readFileSync(path).equals(readFileSync(OLD_LOG))).toBe(true);
}

describe('runs lose nothing', () => {
  it('SIGINT mid-run: exit 130, the partial log kept and named, the old log intact', async () => {
    copyFileSync(OLD_LOG, join(dir, 'int.mmlog'));
    const child = spawn(process.execPath, [BIN, 'run', 'long.json', '--log', 'int.mmlog', '-q'], { cwd: dir });
    let err = '';
    child.stderr.on('data', (b) => (err += b));
    // wait until chunks have been streamed out (the header, which holds the scenario, is ~0.7 MB), then Ctrl-C
    const t0 = Date.now();
    let partial: string | undefined;
    while (!((partial = partialOf(dir, 'int.mmlog')) && statSync(join(dir, partial)).size > 2_000_000)) {
      if (Date.now() - t0 > 60_000) throw new Error(`no partial log after 60 s; stderr: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(err).toContain('interrupted by SIGINT');
    expect(code).toBe(130);
    expect(err).toContain(`partial log kept: ${partial} (`);
    expect(err).not.toMatch(/\n\s+at /);
    expectOldLogIntact(join(dir, 'int.mmlog'));
    const n = expectSalvageable(dir, partial, 4096);
    // the count the CLI printed is what salvage reads back
    expect(err).toContain(`(${n} events`);
  });

  it('a throwing plugin (with --check): exit 4, named once with its point, partial log salvageable', () => {
    copyFileSync(OLD_LOG, join(dir, 'plug.mmlog'));
    // a subscriber (the core's engine-attach point, by id) whose event callback throws at event 20000
    writeFileSync(
      join(dir, 'thrower.mjs'),
      `const point = { id: 'engine-attach', kind: 'multi', description: 'subscribers' };
export default {
  name: 'thrower',
  setup(host) {
    host.provide(point, (engine) => {
      let n = 0;
      return engine.onRaw(() => {
        if (++n === 20000) throw new Error('event 20000 is one too many');
      });
    });
  },
};
`,
    );
    const r = mmsim(['run', 'medium.json', '--log', 'plug.mmlog', '--plugin', './thrower.mjs', '--check']);
    expect(r.code).toBe(4);
    const named = r.err.match(/plugin thrower failed in event callback \(engine\.onRaw\): event 20000 is one too many/g) ?? [];
    expect(named).toHaveLength(1);
    expect(r.err).not.toContain('engine-attach');
    const partial = partialOf(dir, 'plug.mmlog')!;
    expect(r.err).toContain(`partial log kept: ${partial} (`);
    expect(r.err).not.toMatch(/\n\s+at /);
    expectOldLogIntact(join(dir, 'plug.mmlog'));
    const n = expectSalvageable(dir, partial, 16384);
    // the step was rolled back and its error event recorded last
    const last = JSON.parse(mmsim(['events', partial, '--json', '--salvage', '--from', String(n - 1)]).out.trim());
    expect(last.type).toBe('error');
    expect(last.text ?? last.message ?? JSON.stringify(last)).toContain('event 20000 is one too many');
  });

  const root = process.getuid?.() === 0;
  const mnt = join(dir, 'small');
  afterAll(() => {
    if (root) spawnSync('umount', [mnt]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('ENOSPC on a 256 KiB tmpfs (the header, which holds the scenario, fits; the log does not): exit 74 with a message, no stack; the old log intact, the partial one salvageable', () => {
    // mounting needs root (the test machine runs as root); this test is the reason it must
    expect(root).toBe(true);
    mkdirSync(mnt, { recursive: true });
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
    copyFileSync(OLD_LOG, join(mnt, 'full.mmlog'));
    const r = mmsim(['run', join(dir, 'medium.json'), '--log', 'full.mmlog', '-q'], mnt);
    expect(r.code).toBe(74);
    expect(r.err).toMatch(/cannot write the log: no space left on the device \(ENOSPC\)/);
    const partial = partialOf(mnt, 'full.mmlog')!;
    expect(r.err).toContain(`partial log kept: ${partial} (`);
    expect(r.err).not.toMatch(/\n\s+at /);
    expectOldLogIntact(join(mnt, 'full.mmlog'));
    const n = expectSalvageable(mnt, partial, 0);
    // the count the CLI printed is what salvage reads back, not what the run emitted
    expect(r.err).toContain(`(${n} events`);
    // stdout on a full device: a message and EXIT.IO, no stack
    const out = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" events full.mmlog > /dev/full`], { cwd: mnt, encoding: 'utf8' });
    expect(out.status).toBe(74);
    expect(out.stderr).toContain('cannot write the output: no space left on the device (ENOSPC)');
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });

  /** A fresh 64 KiB tmpfs of its own (unmounted with the rest). */
  function smallDisk(name: string): string {
    expect(root).toBe(true);
    const at = join(dir, name);
    mkdirSync(at, { recursive: true });
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', at], { encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
    mounts.push(at);
    return at;
  }
  const mounts: string[] = [];
  afterAll(() => {
    for (const at of mounts) spawnSync('umount', [at]);
  });

  it('export --perfetto on a full disk: exit 74 with a message, the old OUT intact, nothing half written left', () => {
    // a log of ~100,000 events: its trace is megabytes
    expect(mmsim(['run', 'medium.json', '--log', 'medium.mmlog', '-q']).code).toBe(0);
    const disk = smallDisk('full-export');
    writeFileSync(join(disk, 'out.json'), '{"old": true}\n');
    const r = mmsim(['export', join(dir, 'medium.mmlog'), '--perfetto', 'out.json'], disk);
    expect(r.code).toBe(74);
    expect(r.err).toMatch(/out\.json\.\d+\.[0-9a-f]+\.partial: cannot write the file: no space left on the device \(ENOSPC\)/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(disk, 'out.json'), 'utf8')).toBe('{"old": true}\n');
    expect(readdirSync(disk).sort()).toEqual(['out.json']);
  });

  it('explore --out on a full disk: exit 74 with a message, the earlier output intact, no temporary folder left', () => {
    const disk = smallDisk('full-explore');
    const race = fileURLToPath(new URL('../../../scenarios/races/relocate-vs-rmap-walk.json', import.meta.url));
    const args = ['explore', race, '--relocate-variant', 'bug-unlocked-new-anon-vma', '--budget', '3', '--out', 'race'];
    // an earlier output that fits
    mkdirSync(join(disk, 'race'));
    writeFileSync(join(disk, 'race', 'explore.json'), JSON.stringify({ format: 'mmsim-explore/1', violations: [] }));
    const r = mmsim(args, disk);
    expect(r.code).toBe(74);
    expect(r.err).toMatch(/--out race: cannot write the \d+ violation logs and explore\.json: no space left on the device \(ENOSPC\); race is unchanged/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(readdirSync(join(disk, 'race'))).toEqual(['explore.json']);
    expect(readdirSync(disk)).toEqual(['race']);
  });
});
