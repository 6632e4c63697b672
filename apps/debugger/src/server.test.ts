import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from './cli-command.js';
import { CSP, serveDebugger, type DebuggerServer } from './server.js';
import { buildDemoLog } from './testing/gen.js';

let dir: string;
let srv: DebuggerServer;
const demo = buildDemoLog();

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
  });

  it('serves checker violations when given, 404 otherwise', async () => {
    expect((await get(srv.port, '/api/violations')).status).toBe(404);
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

  it('registers `serve LOG [--port N]` on a commander program', () => {
    const program = new Command('mmsim');
    register(program);
    const cmd = program.commands.find((c) => c.name() === 'serve')!;
    expect(cmd).toBeDefined();
    expect(cmd.options.map((o) => o.long)).toContain('--port');
    expect(cmd.registeredArguments.map((a) => a.name())).toEqual(['log']);
    expect(readFileSync(join(dir, 'secret.txt'), 'utf8')).toBe('outside the app');
  });
});
