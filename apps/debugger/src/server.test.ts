import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSP, serveDebugger, type DebuggerServer } from './server.js';
import { relocateGoldenLog } from './testing/engine-logs.js';
import { BUILD_MODE, defaultCacheDir, installedVersions, sourceHash } from './build.js';

let dir: string;
let srv: DebuggerServer;
const demo = relocateGoldenLog();

/** raw GET with a chosen Host header (fetch would not let us lie about it) */
function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', fail);
    req.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mmsim-dbg-srv-'));
  // a stand-in app: the server test is about serving, not about building
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app', 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(dir, 'demo.mmlog'), demo.bytes);
  writeFileSync(join(dir, 'secret.txt'), 'outside the app');
  // a symlink inside the app that points out of it: must not be followed
  symlinkSync(join(dir, 'secret.txt'), join(dir, 'app', 'leak.js'));
  writeFileSync(join(dir, 'app', 'ok.js'), 'export {};');
  srv = await serveDebugger({ logPath: join(dir, 'demo.mmlog'), port: 0, distDir: join(dir, 'app') });
});

afterAll(async () => {
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('serveDebugger', () => {
  it('listens on 127.0.0.1 only and serves the app and the log bytes', async () => {
    expect(srv.url).toBe(`http://127.0.0.1:${srv.port}/`);
    const idx = await get(srv.port, '/');
    expect(idx.status).toBe(200);
    expect(idx.headers['content-security-policy']).toBe(CSP);
    expect(String(idx.headers['content-security-policy'])).not.toContain('unsafe-eval');
    const log = await get(srv.port, '/log.mmlog');
    expect(log.status).toBe(200);
    expect(log.headers['content-type']).toBe('application/octet-stream');
    expect(Buffer.compare(log.body, Buffer.from(demo.bytes))).toBe(0);
    const meta = JSON.parse((await get(srv.port, '/api/meta')).body.toString()) as { name: string; size: number };
    expect(meta).toMatchObject({ name: 'demo.mmlog', size: demo.bytes.length });
  });

  it('refuses foreign Host headers (DNS rebinding), unknown paths and path traversal', async () => {
    expect((await get(srv.port, '/log.mmlog', 'evil.example:80')).status).toBe(403);
    expect((await get(srv.port, '/log.mmlog', `localhost:${srv.port}`)).status).toBe(200);
    expect((await get(srv.port, '/nope.js')).status).toBe(404);
    expect((await get(srv.port, '/../secret.txt')).status).toBe(404);
    expect((await get(srv.port, '/%2e%2e/secret.txt')).status).toBe(404);
    expect((await get(srv.port, '/..%2fsecret.txt')).status).toBe(404);
    expect((await get(srv.port, '/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404);
    // the real path is checked: a symlink out of the app is not served
    const leak = await get(srv.port, '/leak.js');
    expect(leak.status).toBe(404);
    expect(leak.body.toString()).not.toContain('outside the app');
    expect((await get(srv.port, '/ok.js')).status).toBe(200);
    // a malformed %-escape is the client's error
    expect((await get(srv.port, '/%E0%A4%A')).status).toBe(400);
    expect((await get(srv.port, '/%zz')).status).toBe(400);
  });

  it('says in /api/meta whether the page should salvage', async () => {
    const meta = JSON.parse((await get(srv.port, '/api/meta')).body.toString()) as { salvage: boolean };
    expect(meta.salvage).toBe(false);
    const s2 = await serveDebugger({ logPath: join(dir, 'demo.mmlog'), distDir: join(dir, 'app'), salvage: true });
    try {
      expect(JSON.parse((await get(s2.port, '/api/meta')).body.toString())).toMatchObject({ salvage: true });
    } finally {
      await s2.close();
    }
  });

  it('keys the build cache by sources, lock file, installed versions and mode, in a per-user directory', () => {
    const vs = installedVersions();
    expect(vs.find((v) => v.startsWith('react@'))).toMatch(/^react@\d+\.\d+/);
    expect(vs.find((v) => v.startsWith('vite@'))).toMatch(/^vite@\d+/);
    expect(BUILD_MODE).toBe('production');
    expect(sourceHash()).toMatch(/^[0-9a-f]{16}$/);
    expect(sourceHash()).toBe(sourceHash());
    const old = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = join(dir, 'xdg');
    try {
      expect(defaultCacheDir()).toBe(join(dir, 'xdg', 'mmsim-debugger'));
    } finally {
      if (old === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = old;
    }
  });

  it('serves checker violations when given, an empty list otherwise (never a 404 on load)', async () => {
    const none = await get(srv.port, '/api/violations');
    expect(none.status).toBe(200);
    expect(JSON.parse(none.body.toString())).toEqual({ violations: [], reasons: {} });
    const s2 = await serveDebugger({
      logPath: join(dir, 'demo.mmlog'),
      distDir: join(dir, 'app'),
      violations: async () => ({ violations: [3, 7], reasons: { 7: 'rmap: stale folio' } }),
    });
    try {
      const r = await get(s2.port, '/api/violations');
      expect(JSON.parse(r.body.toString())).toEqual({ violations: [3, 7], reasons: { 7: 'rmap: stale folio' } });
    } finally {
      await s2.close();
    }
  });

  it('refuses to bind anything but loopback, and a missing log', async () => {
    await expect(serveDebugger({ logPath: join(dir, 'demo.mmlog'), host: '0.0.0.0', distDir: join(dir, 'app') })).rejects.toThrow(/only to 127\.0\.0\.1/);
    await expect(serveDebugger({ logPath: join(dir, 'missing.mmlog'), distDir: join(dir, 'app') })).rejects.toThrow(/no such log file/);
  });
});
