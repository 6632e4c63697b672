/**
 * `mmsim serve --port 0` as a script starts it: stdout is a pipe, the URL with the real
 * port must arrive while the server runs (not at exit), and answer there. The debugger
 * app itself is tested in apps/debugger; here its built files are a stand-in folder
 * (MMSIM_DEBUGGER_DIST), so no vite build runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { scenarioJson } from './testing/fixtures.js';
import { files, tmp } from './testing/harness.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/mmsim.mjs');
const dir = tmp('mmsim-serve-');
const dist = join(dir, 'app');
mkdirSync(dist);
files(dir, { 's.json': scenarioJson([{ op: 'mmap', page: 0, pages: 4, prot: 'rw-' }, { op: 'touch', page: 0, pages: 2 }], { name: 's' }) });
files(dist, { 'index.html': '<!doctype html><title>stand-in debugger</title>\n' });
const children: ReturnType<typeof spawn>[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});

/** Spawn `mmsim serve ...args` and wait for the URL it prints. */
async function startServe(args: string[]): Promise<{ child: ReturnType<typeof spawn>; url: string; err: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    cwd: dir,
    env: { ...process.env, MMSIM_DEBUGGER_DIST: dist },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => void (err += d));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`no URL within 60 s; stdout: ${out}; stderr: ${err}`)), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /mmsim debugger on (http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on('exit', (code) => fail(new Error(`serve exited (${code}) before printing a URL; stderr: ${err}`)));
  });
  return { child, url, err: () => err };
}

const exited = (child: ReturnType<typeof spawn>) => new Promise<number | null>((ok) => (child.exitCode !== null ? ok(child.exitCode) : child.on('exit', (c) => ok(c))));

describe('mmsim serve --port 0', () => {
  for (const [signal, exit] of [['SIGTERM', 143], ['SIGINT', 130]] as const)
  it(`prints the URL with the real port at once on a pipe, and serves the log there; ${signal} closes the server, exit ${exit}`, async () => {
    expect(spawnSync(process.execPath, [BIN, 'run', 's.json', '--log', 's.mmlog'], { cwd: dir, encoding: 'utf8' }).status).toBe(0);
    const { child, url, err } = await startServe(['s.mmlog', '--port', '0']);
    // still running: the URL came through the pipe before exit
    expect(child.exitCode).toBe(null);
    const port = Number(new URL(url).port);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(7411);
    expect(await (await fetch(url)).text()).toContain('stand-in debugger');
    const meta = (await (await fetch(`${url}api/meta`)).json()) as { name: string };
    expect(meta.name).toBe('s.mmlog');
    child.kill(signal);
    expect(await exited(child)).toBe(exit);
    expect(err()).toContain(`interrupted by ${signal}`);
    await expect(fetch(url)).rejects.toThrow();
  }, 90_000);

  it('a port in use: a clear message naming it, exit 2, no stack (was exit 70 with a stack)', async () => {
    expect(spawnSync(process.execPath, [BIN, 'run', 's.json', '--log', 'busy.mmlog'], { cwd: dir, encoding: 'utf8' }).status).toBe(0);
    const taken = createServer();
    await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', ok));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = spawnSync(process.execPath, [BIN, 'serve', 'busy.mmlog', '--port', String(port)], { cwd: dir, encoding: 'utf8', env: { ...process.env, MMSIM_DEBUGGER_DIST: dist }, timeout: 60_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`mmsim: --port ${port}: the port is in use on 127.0.0.1`);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    } finally {
      taken.close();
    }
  }, 90_000);

  it('survives its log being replaced by a folder: answers an error and keeps serving', async () => {
    expect(spawnSync(process.execPath, [BIN, 'run', 's.json', '--log', 'swap.mmlog'], { cwd: dir, encoding: 'utf8' }).status).toBe(0);
    const { child, url } = await startServe(['swap.mmlog', '--port', '0']);
    rmSync(join(dir, 'swap.mmlog'));
    mkdirSync(join(dir, 'swap.mmlog'));
    const log = await fetch(`${url}log.mmlog`);
    expect(log.status).toBe(409);
    expect(await log.text()).toContain('swap.mmlog is no longer a regular file');
    // still up: the page and its meta answer
    expect(await (await fetch(url)).text()).toContain('stand-in debugger');
    expect(child.exitCode).toBe(null);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(143);
  }, 90_000);
});

/** The statuses of /api/live until the one that says the run is done. */
async function liveUntilDone(url: string): Promise<{ events: number; done: boolean; complete: boolean; exitCode?: number; label?: string }[]> {
  const res = await fetch(`${url}api/live`);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const seen: { events: number; done: boolean; complete: boolean; exitCode?: number; label?: string }[] = [];
  const reader = res.body!.getReader();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += Buffer.from(value).toString('utf8');
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      seen.push(JSON.parse(buf.slice(0, i).replace(/^data: /, '')) as (typeof seen)[number]);
      buf = buf.slice(i + 2);
    }
    if (seen.length && seen[seen.length - 1].done) break;
  }
  await reader.cancel();
  return seen;
}

describe('mmsim serve --live SCENARIO', () => {
  const long = scenarioJson(
    Array.from({ length: 40 }, (_, i) => [
      { op: 'mmap', page: 0, pages: 256, prot: 'rw-' },
      { op: 'touch', page: 0, pages: 256 },
      { op: 'mprotect', page: 10 + i, pages: 2, prot: 'r--' },
      { op: 'munmap', page: 0, pages: 256 },
    ]).flat(),
    { name: 'long', arena: { pages: 1024 } },
  );
  files(dir, { 'long.json': long });

  it('runs the scenario in a worker thread and serves its log as it grows; at the end the log `mmsim run --log` writes, byte for byte', async () => {
    const { child, url, err } = await startServe(['--live', 'long.json', '--log', 'live.mmlog', '--port', '0', '--', '--quiet']);
    const meta = (await (await fetch(`${url}api/meta`)).json()) as { name: string; live: boolean };
    expect(meta).toMatchObject({ name: 'live.mmlog', live: true });
    const seen = await liveUntilDone(url);
    const last = seen[seen.length - 1];
    expect(last).toMatchObject({ done: true, complete: true, exitCode: 0, label: 'mmsim run long.json --log ' + join(dir, 'live.mmlog') + ' --quiet' });
    // every status on the way had as many whole chunks or more (how many statuses came is
    // the machine's speed; the debugger's live tests grow a log chunk by chunk themselves)
    const counts = seen.map((s) => s.events);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    const served = Buffer.from(await (await fetch(`${url}log.mmlog`)).arrayBuffer());
    expect(spawnSync(process.execPath, [BIN, 'run', 'long.json', '--log', 'plain.mmlog', '--quiet'], { cwd: dir, encoding: 'utf8' }).status).toBe(0);
    expect(served.equals(readFileSync(join(dir, 'plain.mmlog')))).toBe(true);
    expect(served.equals(readFileSync(join(dir, 'live.mmlog')))).toBe(true);
    expect(err()).toContain('the run ended (exit 0)');
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(143);
  }, 120_000);

  it('--log and run options without --live are refused', () => {
    const env = { ...process.env, MMSIM_DEBUGGER_DIST: dist };
    const a = spawnSync(process.execPath, [BIN, 'serve', 's.mmlog', '--log', 'x.mmlog'], { cwd: dir, encoding: 'utf8', env });
    expect(a.status).toBe(2);
    expect(a.stderr).toContain('--log names where a --live run writes its log');
    const b = spawnSync(process.execPath, [BIN, 'serve', '--live', 'nope.json'], { cwd: dir, encoding: 'utf8', env });
    expect(b.status).toBe(2);
    expect(b.stderr).toContain('nope.json: no such scenario or trace');
  }, 60_000);
});
