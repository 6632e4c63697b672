/**
 * The live page (`mmsim serve --live`) in a real headless chromium: a log the ENGINE
 * produced is written to the followed file chunk by chunk, as a run's streaming writer
 * writes it (first the header and one chunk, then more, then the rest and the trailer),
 * and the page must follow it: its event count grows with the file while the cursor
 * stays at the end, a seek back time-travels over what has arrived and stays there when
 * more arrives, and the views there are those core's TimeTravel computes in node.
 *
 * Needs Debian's chromium at /usr/bin/chromium; without it the test fails, it does not skip.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { splitLogFile } from '@mmsim/core';
import { ensureAppBuilt } from './build.js';
import { serveDebugger, type DebuggerServer } from './server.js';
import { DebugSession } from './shared/session.js';
import { scenarioLog } from './testing/engine-logs.js';

const CHROMIUM = process.env.MMSIM_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '../test-artifacts');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A scenario of a few dozen thousand events: map, fault in, split, unmap, over and over. */
function churn(rounds: number): unknown {
  const steps: unknown[] = [];
  for (let i = 0; i < rounds; i++) {
    const base = (i % 8) * 256;
    steps.push({ op: 'mmap', page: base, pages: 128, prot: 'rw-' }, { op: 'touch', page: base, pages: 128 }, { op: 'mprotect', page: base + 10 + (i % 50), pages: 3, prot: 'r--' }, { op: 'munmap', page: base, pages: 128 });
  }
  return { format: 'mmsim-scenario/1', name: 'live-churn', arena: { pages: 4096 }, steps };
}

const log = scenarioLog(churn(30));
const truth = DebugSession.fromBytes(log.bytes);
const parts = splitLogFile(log.bytes);
/** the file's bytes up to the end of chunk k (k = 0: the header only) */
const upTo = (k: number): number => (k === 0 ? parts.head.length : k < parts.chunks.length ? parts.chunks[k].offset : log.bytes.length);
const eventsIn = (k: number): number => parts.chunks.slice(0, k).reduce((n, c) => n + c.count, 0);

let dir: string;
let browser: Browser;
let page: Page;
let srv: DebuggerServer;
let file: string;
let done = false;
let written = 0;
const pageErrors: string[] = [];

/** the followed file grows to the end of chunk k, as the writer appends it */
function growTo(k: number): void {
  const end = upTo(k);
  appendFileSync(file, log.bytes.subarray(written, end));
  written = end;
}

const count = async (): Promise<number> => Number(((await page.textContent('[data-testid=event-count]').catch(() => null)) ?? '-1').replace(/,/g, ''));
const position = async (): Promise<number> => Number(await page.textContent('[data-testid=position]'));

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: the debugger's browser test needs Debian's chromium (apt-get install -y chromium), or MMSIM_CHROMIUM=/path/to/chromium`);
  expect(parts.chunks.length).toBeGreaterThan(6);
  mkdirSync(ARTIFACTS, { recursive: true });
  await ensureAppBuilt();
  dir = mkdtempSync(join(tmpdir(), 'mmsim-live-e2e-'));
  file = join(dir, 'run.mmlog');
  writeFileSync(file, '');
  srv = await serveDebugger({ logPath: file, live: { current: () => ({ path: file, done, label: 'a churn of mmaps' }) }, livePollMs: 50, port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  await srv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the live debugger follows a log as the run writes it', () => {
  it('waits for the first chunk, then counts the events of every chunk that arrives, the cursor at the end', async () => {
    await page.goto(srv.url);
    await page.waitForSelector('[data-testid=live]:text("waiting for the run\'s first chunk")');
    growTo(0);
    growTo(1);
    await expect.poll(count, { timeout: 30_000 }).toBe(eventsIn(1));
    expect(await position()).toBe(eventsIn(1));
    // a chunk cut in the middle is not shown until it is whole
    appendFileSync(file, log.bytes.subarray(written, upTo(3) - 7));
    written = upTo(3) - 7;
    await expect.poll(count, { timeout: 30_000 }).toBe(eventsIn(2));
    growTo(4);
    await expect.poll(count, { timeout: 30_000 }).toBe(eventsIn(4));
    await expect.poll(position, { timeout: 10_000 }).toBe(eventsIn(4));
    expect(await page.getAttribute('[data-testid=live]', 'data-live-done')).toBe('false');
    await page.screenshot({ path: join(ARTIFACTS, 'live-01-following.png'), fullPage: false });
  });

  it('seeks back over what has arrived, stays there while more arrives, and ends with the finished log', async () => {
    const back = 1234;
    await page.fill('[data-testid=jump-seq]', String(back - 1));
    await page.click('[data-testid=jump-go]');
    await page.waitForSelector(`[data-testid=views][data-view-pos="${back}"]`, { timeout: 20_000 });
    // the view there is the state TimeTravel computes after `back` events of the whole log
    const s = truth.stateAt(back);
    const mms = Object.keys(s.mms);
    for (const id of mms) expect(await page.locator(`[data-testid=mm-track][data-mm="${id}"] [data-testid=vma-bar]`).evaluateAll((els) => els.map((e) => e.getAttribute('data-vma')))).toEqual(s.mms[+id].vmas.ids().map(String));
    growTo(6);
    await expect.poll(count, { timeout: 30_000 }).toBe(eventsIn(6));
    expect(await position()).toBe(back);
    await page.waitForSelector('[data-testid=live-follow]');
    growTo(parts.chunks.length + 1);
    done = true;
    await expect.poll(count, { timeout: 30_000 }).toBe(truth.length);
    await page.waitForSelector('[data-testid=live][data-live-done="true"]:text("finished")');
    expect(await position()).toBe(back);
    await page.screenshot({ path: join(ARTIFACTS, 'live-02-finished-seeked-back.png'), fullPage: false });
    // what the page loaded last is the finished file, byte for byte
    const served = new Uint8Array(await (await fetch(new URL('log.mmlog', srv.url))).arrayBuffer());
    expect(Buffer.from(served).equals(Buffer.from(log.bytes))).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
