/**
 * `mmsim serve LOG`: a tiny HTTP server, bound to loopback only, that serves the built
 * debugger app and the log's bytes at /log.mmlog. The page decodes the log itself (in a
 * Web Worker); the server never interprets it.
 */
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, resolve, sep } from 'node:path';
import { ensureAppBuilt, prebuiltApp, type BuildOptions } from './build.js';
import type { LiveStatus, ViolationSource } from './shared/protocol.js';
import { LiveLog, type LiveSource } from './live.js';

export interface ServeOptions {
  /** the log file to debug (ignored with `live`) */
  logPath: string;
  /**
   * A log a run is writing now (`mmsim serve --live`): the page follows it, told of every
   * chunk that arrives by the server-sent events of /api/live; /log.mmlog is what arrived.
   */
  live?: LiveSource;
  /** ms between two looks at a live log's file (default 150) */
  livePollMs?: number;
  /** 0 (default): any free port */
  port?: number;
  /** only loopback is allowed; default and recommended: '127.0.0.1' */
  host?: string;
  /** a built app to serve instead of building one (default: $MMSIM_DEBUGGER_DIST, else the installed package's app/, else build on demand) */
  distDir?: string;
  build?: BuildOptions;
  /**
   * Checker violations the timeline marks beside the log's error events: served at
   * /api/violations (a function is asked on every page load).
   */
  violations?: ViolationSource | (() => ViolationSource | Promise<ViolationSource>);
  /** the page loads the log keeping its valid prefix when the tail is damaged (`mmsim serve --salvage`) */
  salvage?: boolean;
  /** a second log shown side by side at matching syscalls (`mmsim serve A --compare B`) */
  comparePath?: string;
}

export interface DebuggerServer {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** Content-Security-Policy: no inline script, no eval, no outside origin. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

function isLoopback(host: string): boolean {
  return host === '127.0.0.1';
}

export async function serveDebugger(opts: ServeOptions): Promise<DebuggerServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`mmsim serve binds only to 127.0.0.1 (asked for ${String(host)})`);
  const logPath = resolve(opts.logPath);
  const live = opts.live ? new LiveLog(opts.live) : null;
  if (!live && (!existsSync(logPath) || !statSync(logPath).isFile())) throw new Error(`no such log file: ${opts.logPath}`);
  const comparePath = opts.comparePath ? resolve(opts.comparePath) : null;
  if (comparePath && (!existsSync(comparePath) || !statSync(comparePath).isFile())) throw new Error(`no such log file to compare with: ${opts.comparePath}`);
  const distArg = resolve(opts.distDir ?? process.env.MMSIM_DEBUGGER_DIST ?? prebuiltApp() ?? (await ensureAppBuilt(opts.build)));
  if (!existsSync(join(distArg, 'index.html'))) throw new Error(`no built debugger app in ${distArg} (index.html missing)`);
  // files are checked by their real path: a symlink inside the app pointing out of it is not served
  const dist = realpathSync(distArg);

  let port = 0;
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(e as Error).message}`);
    }
  });

  function allowedHost(h: string | undefined): boolean {
    // DNS rebinding: a page of another site resolving its name to 127.0.0.1 sends its own Host
    return h === `127.0.0.1:${port}` || h === `localhost:${port}`;
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    if (!allowedHost(req.headers.host)) return send(res, 403, 'text/plain; charset=utf-8', 'forbidden host');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'text/plain; charset=utf-8', 'bad request: malformed %-escape in the path', req.method === 'HEAD');
    }
    if (path.includes('\0')) return send(res, 400, 'text/plain; charset=utf-8', 'bad request: NUL in the path', req.method === 'HEAD');
    if (live && path === '/log.mmlog') {
      live.poll();
      const img = live.image();
      if (!img) return send(res, 503, 'text/plain; charset=utf-8', 'the run has not written its log header yet', req.method === 'HEAD');
      res.writeHead(200, { ...common(), 'content-type': 'application/octet-stream', 'content-length': img.length, 'cache-control': 'no-store' });
      return void res.end(req.method === 'HEAD' ? undefined : img);
    }
    if (live && path === '/api/live') return liveStream(req, res);
    if (path === '/log.mmlog' || (path === '/compare.mmlog' && comparePath)) {
      const file = path === '/log.mmlog' ? logPath : comparePath!;
      const st = statSync(file);
      // the log may have been replaced since the server started: a folder or a FIFO is
      // answered with an error, the server keeps running (a read stream of it would throw)
      if (!st.isFile()) return send(res, 409, 'text/plain; charset=utf-8', `${basename(file)} is no longer a regular file (it was replaced)`, req.method === 'HEAD');
      res.writeHead(200, {
        ...common(),
        'content-type': 'application/octet-stream',
        'content-length': st.size,
        'cache-control': 'no-store',
      });
      if (req.method === 'HEAD') return void res.end();
      // 1 MiB reads: a 60 MB log in 64 KiB pieces took 1.6 s to reach the page
      // a read error after the headers went out (the file removed, EIO) ends the response
      createReadStream(file, { highWaterMark: 1 << 20 })
        .on('error', () => res.destroy())
        .pipe(res);
      return;
    }
    if (path === '/api/violations') {
      const v = opts.violations;
      // no outside source: an empty list (the page runs the checkers itself, in its worker)
      if (!v) return send(res, 200, TYPES['.json'], JSON.stringify({ violations: [], reasons: {} }), req.method === 'HEAD');
      void Promise.resolve(typeof v === 'function' ? v() : v).then(
        (src) => send(res, 200, TYPES['.json'], JSON.stringify({ violations: src.violations, reasons: src.reasons ?? {} }), req.method === 'HEAD'),
        (e: unknown) => send(res, 500, 'text/plain; charset=utf-8', `violations source failed: ${(e as Error).message}`),
      );
      return;
    }
    if (path === '/api/meta') {
      if (live) {
        const st = live.poll();
        return send(res, 200, TYPES['.json'], JSON.stringify({ name: basename(logPath), size: st.bytes, live: true, salvage: false, compare: comparePath ? basename(comparePath) : null }), req.method === 'HEAD');
      }
      const st = statSync(logPath);
      return send(res, 200, TYPES['.json'], JSON.stringify({ name: basename(logPath), size: st.size, mtime: st.mtimeMs, salvage: !!opts.salvage, compare: comparePath ? basename(comparePath) : null }), req.method === 'HEAD');
    }
    const rel = path === '/' ? 'index.html' : path.replace(/^\/+/, '');
    const file = realFileIn(dist, rel);
    if (!file) return send(res, 404, 'text/plain; charset=utf-8', 'not found', req.method === 'HEAD');
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    res.writeHead(200, {
      ...common(),
      'content-type': type,
      'content-length': statSync(file).size,
      'cache-control': rel === 'index.html' ? 'no-store' : 'max-age=3600',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  }

  /** the pages following the live log: each is sent the status whenever it changes */
  const watchers = new Set<ServerResponse>();
  const sendStatus = (res: ServerResponse, st: LiveStatus) => res.write(`data: ${JSON.stringify(st)}\n\n`);
  function liveStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...common(), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
    if (req.method === 'HEAD') return void res.end();
    watchers.add(res);
    res.on('close', () => watchers.delete(res));
    sendStatus(res, live!.poll());
  }
  let timer: ReturnType<typeof setInterval> | null = null;
  if (live) {
    let last = '';
    timer = setInterval(() => {
      const st = live.poll();
      const key = JSON.stringify(st);
      if (key === last) return;
      last = key;
      for (const w of watchers) sendStatus(w, st);
    }, opts.livePollMs ?? 150);
    timer.unref();
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        if (timer) clearInterval(timer);
        for (const w of watchers) w.end();
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** The real path of dist/rel when it is a regular file inside dist (symlinks resolved), else null. */
function realFileIn(dist: string, rel: string): string | null {
  let real: string;
  try {
    real = realpathSync(join(dist, rel));
  } catch {
    return null;
  }
  if (!real.startsWith(dist + sep)) return null;
  return statSync(real).isFile() ? real : null;
}

function common(): Record<string, string> {
  return {
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}

function send(res: ServerResponse, status: number, type: string, body: string, head = false): void {
  res.writeHead(status, { ...common(), 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}
