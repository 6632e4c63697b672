/**
 * The debugger's benchmark (a measurement, not a test): a large engine-made log, served
 * with the production bundle, opened in headless chromium. Measures how long until the
 * page is usable (the final state drawn) and how long a seek takes to repaint (p50/p95/max
 * over random positions), and writes the figures as JSON.
 *
 *   npx tsx apps/debugger/src/bench/bench-cli.ts [--log X.mmlog] [--pages 120000 --moves 14] [--seeks 100] [--out F.json]
 *     [--profile F.cpuprofile]   (the page's main thread during the seeks, for chrome devtools or tools/bench's aggregator;
 *                                 MMSIM_DEBUGGER_NOMINIFY=1 builds an unminified bundle, cached apart, so it names functions)
 *
 * Without --log it builds a relocation log with @mmsim/linux (120000 pages moved 14 times with
 * MREMAP_RELOCATE_ANON: about 10.6M events, a minute to generate) and caches it in $TMPDIR.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { decodeLogFile } from '@mmsim/core';
import { ensureAppBuilt } from '../build.js';
import { serveDebugger } from '../server.js';
import { relocationLog } from '../testing/engine-logs.js';

const { values: o } = parseArgs({
  options: {
    log: { type: 'string' },
    pages: { type: 'string', default: '120000' },
    moves: { type: 'string', default: '14' },
    seeks: { type: 'string', default: '100' },
    out: { type: 'string' },
    profile: { type: 'string' },
    chromium: { type: 'string', default: process.env.MMSIM_CHROMIUM ?? '/usr/bin/chromium' },
  },
});

/** In the page: n seeks to random positions, each timed until its view is in the DOM and painted. */
const SEEK_SCRIPT = `async (N, n) => {
  const el = document.querySelector('[data-testid=scrubber]');
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  const views = document.querySelector('[data-testid=views]');
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out = [];
  for (let i = 0; i < n; i++) {
    const p = Math.floor(rnd() * N);
    const t0 = performance.now();
    setValue.call(el, String(p));
    el.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise((resolve) => {
      const check = () => (views.getAttribute('data-view-pos') === String(p) ? resolve() : requestAnimationFrame(check));
      check();
    });
    await new Promise((r) => requestAnimationFrame(() => r()));
    out.push(performance.now() - t0);
    // a user looks before the next seek
    await new Promise((r) => setTimeout(r, 50));
  }
  return out;
}`;

/**
 * In the page from its first script on: the wall-clock times (Date.now(), the bench's
 * clock) when the summary is in the DOM, and when the final state's view is and the
 * frame after it has painted (usable). A MutationObserver sees each as it happens.
 */
const DRAWN_SCRIPT = `(events) => {
  const d = (window.__mmsimDrawn = { summary: 0, usable: 0 });
  const look = () => {
    if (!d.summary && document.querySelector('[data-testid=event-count]')) d.summary = Date.now();
    if (document.querySelector('[data-testid=views][data-view-pos="' + events + '"]')) {
      obs.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => (d.usable = Date.now())));
    }
  };
  const obs = new MutationObserver(look);
  obs.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-view-pos', 'data-testid'] });
}`;

function pct(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function main(): Promise<void> {
  let logPath = o.log;
  if (!logPath) {
    logPath = join(tmpdir(), `mmsim-debugger-bench-${o.pages}x${o.moves}.mmlog`);
    if (!existsSync(logPath)) {
      process.stderr.write(`generating ${logPath} (relocation of ${o.pages} pages, ${o.moves} moves)...\n`);
      writeFileSync(logPath, relocationLog(Number(o.pages), Number(o.moves)).bytes);
    }
  }
  const bytes = readFileSync(logPath);
  const events = decodeLogFile(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).log.length;
  process.stderr.write(`${logPath}: ${events.toLocaleString('en-US')} events, ${bytes.length.toLocaleString('en-US')} bytes\n`);
  const tb = Date.now();
  await ensureAppBuilt();
  const buildMs = Date.now() - tb;
  const srv = await serveDebugger({ logPath, port: 0 });
  const browser = await chromium.launch({ executablePath: o.chromium, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1200 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    // the page notes when the summary and the final state are drawn (Playwright's
    // waitForSelector polls, at last every 500 ms: its wake-up is not the page's time)
    await page.addInitScript({ content: `(${DRAWN_SCRIPT})(${events})` });
    const t0 = Date.now();
    await page.goto(srv.url);
    await page.waitForSelector(`[data-testid=views][data-view-pos="${events}"]`, { timeout: 300_000 });
    await page.waitForFunction(() => ((window as unknown as { __mmsimDrawn?: { usable: number } }).__mmsimDrawn?.usable ?? 0) > 0, undefined, { timeout: 10_000 });
    const drawn = (await page.evaluate('window.__mmsimDrawn')) as { summary: number; usable: number };
    const summaryMs = drawn.summary - t0;
    const usableMs = drawn.usable - t0;
    const workerTiming = await page.textContent('.stats .muted');
    // seeks: a position set, then the time until the view of it is in the DOM and painted
    const n = Number(o.seeks);
    // (a string: tsx's transform would wrap a function's inner closures in a __name helper the page lacks)
    const cdp = o.profile ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    const seeks = (await page.evaluate(`(${SEEK_SCRIPT})(${events}, ${n})`)) as number[];
    if (cdp && o.profile) writeFileSync(o.profile, JSON.stringify((await cdp.send('Profiler.stop')).profile));
    const t1 = Date.now();
    await page.waitForSelector('[data-testid=checks-status][data-finished="1"]', { timeout: 900_000 });
    const checkersDoneMs = Date.now() - t0;
    const checkers = await page.textContent('[data-testid=checks-status]');
    const res = {
      log: logPath,
      events,
      bytes: bytes.length,
      buildMs,
      summaryMs,
      usableMs,
      workerTiming,
      seeks: { n: seeks.length, p50: +pct(seeks, 50).toFixed(1), p95: +pct(seeks, 95).toFixed(1), max: +Math.max(...seeks).toFixed(1) },
      /** each seek's time in ms, in order (the slow ones: cold code, the checkers still running, another process) */
      seekTimes: seeks.map((x) => Math.round(x)),
      checkersDoneMs,
      checkersAfterSeeksMs: Date.now() - t1,
      checkers,
      errors,
    };
    const json = JSON.stringify(res, null, 2);
    process.stdout.write(`${json}\n`);
    if (o.out) writeFileSync(o.out, `${json}\n`);
  } finally {
    await browser.close();
    await srv.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
