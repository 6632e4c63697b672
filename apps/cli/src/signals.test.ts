/**
 * Ctrl-C and SIGTERM inside one long step (mmap and touch of 262,144 pages, then a
 * relocation): the real CLI, spawned, stops soon after the signal (the engine looks at
 * the flag every few thousand events), exits 128 + the signal number, keeps the partial
 * log (readable with --salvage, the count it printed is the count salvage reads) and
 * leaves the old log at the path byte for byte. `explore` prints and writes what it
 * found so far. The bound asserted on kill-to-exit is generous (the machine is shared);
 * the figure measured is printed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSyntheticTrace } from '@mmsim/record';
import { partialOf, tmp } from './testing/harness.js';

const BIN = fileURLToPath(new URL('../bin/mmsim.mjs', import.meta.url));
const RACE = fileURLToPath(new URL('../../../scenarios/races/relocate-vs-rmap-walk.json', import.meta.url));
const dir = tmp('mmsim-signals-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** kill-to-exit bound: the behaviour is "within 0.5 s"; CI machines are slow and shared */
const BOUND_MS = 2000;
/** explore: what writing one violation log (a run of a small race scenario) may take on a busy machine */
const LOG_MS = 100;

writeFileSync(
  join(dir, 'long.json'),
  JSON.stringify({
    format: 'mmsim-scenario/1',
    name: 'long-step',
    arena: { pages: 262144 },
    steps: [
      { op: 'mmap', page: 0, pages: 262144, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 262144, access: 'write' },
      { op: 'mremap', page: 0, pages: 131072, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 131072 },
    ],
  }),
);
// the "old log" at the path: any valid log will do; a small one is quick to make
writeFileSync(
  join(dir, 'small.json'),
  JSON.stringify({ format: 'mmsim-scenario/1', name: 'small', arena: { pages: 16 }, steps: [{ op: 'mmap', page: 0, pages: 4, prot: 'rw-' }] }),
);
const made = spawnSync(process.execPath, [BIN, 'run', 'small.json', '--log', 'old.mmlog', '-q'], { cwd: dir, encoding: 'utf8' });
if (made.status !== 0) throw new Error(`cannot make the old log: ${made.stderr}`);
const OLD = readFileSync(join(dir, 'old.mmlog'));

interface Exit {
  code: number | null;
  err: string;
  out: string;
  /** ms from the (first) kill to the exit */
  afterKill: number;
}

/** Start mmsim, wait until `ready(stderr so far, ms since the start)` says so (polled), send `signals`, and time the exit. */
async function interrupt(args: string[], ready: (err: string, ms: number) => boolean, signals: NodeJS.Signals[]): Promise<Exit> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir });
  let err = '';
  let out = '';
  child.stderr.on('data', (b) => (err += b));
  child.stdout.on('data', (b) => (out += b));
  let exited = false;
  const closed = new Promise<number | null>((res) =>
    child.on('close', (c) => {
      exited = true;
      res(c);
    }),
  );
  const t0 = Date.now();
  while (!ready(err, Date.now() - t0)) {
    if (exited) throw new Error(`mmsim ${args.join(' ')} ended before the signal; stderr: ${err}`);
    if (Date.now() - t0 > 60_000) throw new Error(`mmsim ${args.join(' ')} not ready after 60 s; stderr: ${err}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const k = Date.now();
  for (const s of signals) child.kill(s);
  const code = await closed;
  return { code, err, out, afterKill: Date.now() - k };
}

/** Ready when the log's partial file holds more than `bytes`: the run is inside the long touch step. */
const streaming = (target: string, bytes: number) => (): boolean => {
  const p = partialOf(dir, target);
  return !!p && statSync(join(dir, p)).size > bytes;
};

function salvaged(partial: string): number {
  const r = spawnSync(process.execPath, [BIN, 'events', partial, '--json', '--salvage'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/salvaged \d+ events/);
  return r.stdout.trim() ? r.stdout.trim().split('\n').length : 0;
}

/** The run named its partial log with the count of events --salvage reads back from it. */
function expectKept(r: Exit, target: string): { partial: string; n: number } {
  const partial = partialOf(dir, target)!;
  const m = new RegExp(`partial log kept: ${partial.replace(/\./g, '\\.')} \\((\\d+) events`).exec(r.err);
  expect(m, r.err).not.toBeNull();
  const n = salvaged(partial);
  expect(n).toBe(Number(m![1]));
  return { partial, n };
}

describe('a signal inside a long step', () => {
  for (const [signal, exit] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} during the touch of 262,144 pages: exit ${exit} within ${BOUND_MS} ms, the partial log kept and salvageable, the old log byte-identical`, async () => {
      const target = `${signal}.mmlog`;
      writeFileSync(join(dir, target), OLD);
      // 1 MB streamed out: well into the touch step (the mmap step writes a few hundred bytes)
      const r = await interrupt(['run', 'long.json', '--log', target, '-q'], streaming(target, 1 << 20), [signal]);
      console.log(`${signal}: kill to exit ${r.afterKill} ms`);
      expect(r.code, r.err).toBe(exit);
      expect(r.afterKill).toBeLessThan(BOUND_MS);
      expect(r.err).toContain(`interrupted by ${signal}`);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(readFileSync(join(dir, target)).equals(OLD)).toBe(true);
      // the interrupted step was rolled back: the mmap step and the error event that says why remain
      const { partial, n } = expectKept(r, target);
      const last = JSON.parse(
        spawnSync(process.execPath, [BIN, 'events', partial, '--json', '--salvage', '--from', String(n - 1)], { cwd: dir, encoding: 'utf8' }).stdout.trim(),
      );
      expect(last.type).toBe('error');
      expect(JSON.stringify(last)).toContain(`step:touch: interrupted by ${signal}`);
    }, 120_000);
  }

  it('--check without a log: SIGINT ends the run at once (exit 130)', async () => {
    // "kernel config" is printed before the first step: 3 s later the run is in the long steps (it takes 10 s or more)
    let at = 0;
    const r = await interrupt(['run', 'long.json', '--check', '--kernel-config', 'stock'], (err) => err.includes('kernel config:') && Date.now() - (at ||= Date.now()) > 3000, ['SIGINT']);
    console.log(`--check: kill to exit ${r.afterKill} ms`);
    expect(r.code, r.err).toBe(130);
    expect(r.afterKill).toBeLessThan(BOUND_MS);
    expect(r.err).toContain('interrupted by SIGINT');
  }, 120_000);

  it('a second signal ends the process at once (exit 128 + its number, no orderly stop); the partial log stays, the old log intact', async () => {
    const target = 'twice.mmlog';
    writeFileSync(join(dir, target), OLD);
    // sent back to back: the kernel may deliver them in either order (pending signals go lowest number first)
    const r = await interrupt(['run', 'long.json', '--log', target, '-q'], streaming(target, 1 << 20), ['SIGTERM', 'SIGINT']);
    expect([130, 143], r.err).toContain(r.code);
    expect(r.afterKill).toBeLessThan(BOUND_MS);
    // the orderly stop of the first signal would have said so
    expect(r.err).not.toContain('partial log kept');
    expect(readFileSync(join(dir, target)).equals(OLD)).toBe(true);
    expect(partialOf(dir, target)).toBeDefined();
  }, 120_000);
});

describe('explore on SIGINT', () => {
  it('prints the partial result (complete: false), writes the violations found so far to --out in place of an earlier output, exit 130', async () => {
    const out = join(dir, 'race');
    // an earlier explore output, with more violation logs than this run will write
    mkdirSync(out);
    writeFileSync(join(out, 'explore.json'), JSON.stringify({ format: 'mmsim-explore/1', violations: [] }));
    writeFileSync(join(out, 'violation-999.mmlog'), 'stale');
    // an exploration of minutes (no reduction, bound 6); the signal comes 5 s after the start
    const r = await interrupt(
      ['explore', RACE, '--relocate-variant', 'bug-unlocked-new-anon-vma', '--bound', '6', '--no-por', '--json', '--out', 'race'],
      (_, ms) => ms > 5000,
      ['SIGINT'],
    );
    console.log(`explore: kill to exit ${r.afterKill} ms (violation logs written included)`);
    expect(r.code, r.err).toBe(130);
    // the exploration stops before its next schedule; each violation's log is one more run of the scenario
    expect(r.afterKill).toBeLessThan(BOUND_MS + 40 * LOG_MS);
    expect(r.err).toMatch(/stopped after \d+ schedules?: the result is not complete; \d+ violation logs? written to race/);
    const res = JSON.parse(r.out);
    expect(res.complete).toBe(false);
    expect(res.schedules).toBeGreaterThan(0);
    expect(res.violations.length).toBeGreaterThan(0);
    const written = JSON.parse(readFileSync(join(out, 'explore.json'), 'utf8'));
    expect(written).toEqual(res);
    const names = readdirSync(out).sort();
    expect(names).toEqual(['explore.json', ...res.violations.map((_: unknown, i: number) => `violation-${i + 1}.mmlog`)].sort());
    expect(existsSync(join(out, 'violation-999.mmlog'))).toBe(false);
    // nothing temporary left beside it
    expect(readdirSync(dir).filter((n) => n.startsWith('race.'))).toEqual([]);
  }, 120_000);
});

describe('trace --log on SIGTERM', () => {
  it('stops within the replay: exit 143, the partial log kept and salvageable, the old log byte-identical', async () => {
    // a synthetic recording of 300,000 faults: seconds of replay
    writeSyntheticTrace(join(dir, 'syn.trace'), { faults: 300_000 });
    writeFileSync(join(dir, 'syn.mmlog'), OLD);
    const r = await interrupt(['trace', 'syn.trace', '--log', 'syn.mmlog'], streaming('syn.mmlog', 1 << 20), ['SIGTERM']);
    console.log(`trace: kill to exit ${r.afterKill} ms`);
    expect(r.code, r.err).toBe(143);
    expect(r.afterKill).toBeLessThan(BOUND_MS);
    expect(r.err).toContain('interrupted by SIGTERM');
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(dir, 'syn.mmlog')).equals(OLD)).toBe(true);
    expectKept(r, 'syn.mmlog');
  }, 120_000);
});

describe('record on SIGINT (sent to mmsim only)', () => {
  it('ends the recorded command, writes the trace of what ran, exit 130', async () => {
    // perf and the tracer run here as root (as trace.test.ts records)
    expect(process.getuid?.()).toBe(0);
    const r = await interrupt(['record', '-o', 'sl.trace', '--quiet', '--', 'sh', '-c', 'sleep 60; echo never'], (_, ms) => ms > 4000, ['SIGINT']);
    console.log(`record: kill to exit ${r.afterKill} ms (perf's wrap-up and the conversion included)`);
    expect(r.code, r.err).toBe(130);
    expect(r.afterKill).toBeLessThan(3 * BOUND_MS);
    expect(r.err).toMatch(/sl\.trace: \d+ records .*; the command exited 130/);
    expect(r.err).toContain('recording stopped by SIGINT');
    const replay = spawnSync(process.execPath, [BIN, 'trace', 'sl.trace', '--json'], { cwd: dir, encoding: 'utf8' });
    expect(replay.status, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout).records).toBeGreaterThan(0);
  }, 120_000);
});

describe('fuzz on SIGINT', () => {
  it('stops at the next scenario: exit 130, said once', async () => {
    // the kernel oracle runs here as root (as `npm test` does); 2000 scenarios take minutes
    expect(process.getuid?.()).toBe(0);
    const r = await interrupt(['fuzz', '--count', '2000', '--no-shrink'], (err, ms) => err.includes('kernel: Linux') && ms > 3000, ['SIGINT']);
    console.log(`fuzz: kill to exit ${r.afterKill} ms`);
    expect(r.code, r.err).toBe(130);
    expect(r.afterKill).toBeLessThan(BOUND_MS);
    expect(r.err.match(/mmsim fuzz: stopped by SIGINT/g)).toHaveLength(1);
    expect(r.err).not.toMatch(/\n\s+at /);
  }, 120_000);
});
