/**
 * End to end, in a real headless chromium, on logs the ENGINE produced (scenarios run on
 * the Linux model by runScenario, with and without MREMAP_RELOCATE_ANON): serve them with
 * serveDebugger (the production bundle), load the page, drive it and check every view
 * against the state that core's TimeTravel computes in node. Screenshots go to
 * apps/debugger/test-artifacts/ (git-ignored).
 *
 * Needs Debian's chromium at /usr/bin/chromium; without it the test fails, it does not skip.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { E, lookupPte, newRawEvent, ptePfn, type State, type Vma } from '@mmsim/core';
import { ensureAppBuilt } from './build.js';
import { serveDebugger, type DebuggerServer } from './server.js';
import { CheckJob } from './shared/checks.js';
import { DebugSession } from './shared/session.js';
import type { ViolationSource } from './shared/protocol.js';
import { corruptLog, forkCowLog, raceCounterexampleLog, relocateGoldenLog, relocatePatchV1Log, relocationLog, type EngineLog } from './testing/engine-logs.js';

const CHROMIUM = process.env.MMSIM_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, '../test-artifacts');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let dir: string;
let ctx: BrowserContext;
let page: Page;
const servers: DebuggerServer[] = [];
const golden = relocateGoldenLog();
const truth = DebugSession.fromBytes(golden.bytes);
const reloc = relocationLog(64, 1);
const relocTruth = DebugSession.fromBytes(reloc.bytes);
const pageErrors: string[] = [];
const consoleErrors: string[] = [];
const consoleAll: string[] = [];
const failedRequests: string[] = [];

async function serve(name: string, bytes: Uint8Array, opts: { salvage?: boolean; violations?: ViolationSource } = {}): Promise<DebuggerServer> {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  const s = await serveDebugger({ logPath: p, port: 0, host: '127.0.0.1', salvage: opts.salvage, violations: opts.violations });
  servers.push(s);
  return s;
}

async function open(log: EngineLog | { name: string; bytes: Uint8Array }): Promise<number> {
  const srv = await serve(`${log.name}.mmlog`, log.bytes);
  await page.goto(srv.url);
  await page.waitForSelector('[data-testid=event-count]', { timeout: 60_000 }).catch(async (e: unknown) => {
    // say what the page saw: its console, errors, failed requests and text
    const text = (await page.textContent('body').catch(() => '')) ?? '';
    throw new Error(`${(e as Error).message}\nconsole: ${JSON.stringify(consoleAll.slice(-20))}\nerrors: ${JSON.stringify(pageErrors)}\nfailed: ${JSON.stringify(failedRequests)}\npage: ${text.slice(0, 600)}`);
  });
  return Number((await page.textContent('[data-testid=event-count]'))!.replace(/,/g, ''));
}

/** wait until the views show position p */
async function viewAt(p: number): Promise<void> {
  await page.waitForSelector(`[data-testid=views][data-view-pos="${p}"]`, { timeout: 20_000 });
  await expect.poll(() => page.textContent('[data-testid=position]')).toBe(String(p));
}

async function jumpTo(p: number): Promise<void> {
  await page.fill('[data-testid=jump-seq]', String(p - 1));
  await page.click('[data-testid=jump-go]');
  await viewAt(p);
}

async function attrs(sel: string, name: string): Promise<string[]> {
  return page.locator(sel).evaluateAll((els, n) => els.map((e) => e.getAttribute(n) ?? ''), name);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** the VMA bars, lock chips, forest nodes and PTE rows the page must show for state s */
async function checkViews(s: State): Promise<void> {
  for (const id of Object.keys(s.mms)) {
    const mm = s.mms[+id];
    const bars = page.locator(`[data-testid=mm-track][data-mm="${id}"] [data-testid=vma-bar]`);
    expect(await attrs(`[data-testid=mm-track][data-mm="${id}"] [data-testid=vma-bar]`, 'data-vma')).toEqual(mm.vmas.ids().map(String));
    const labels = await bars.locator('.vlabel').allTextContents();
    expect(labels.map((l) => l.replace(/ · .*/, ''))).toEqual(mm.vmas.ids().map((v) => `#${v} pgoff ${s.vmas.get(v)!.pgoff}`));
  }
  expect(await page.locator('[data-testid=mm-track]').count()).toBe(Object.keys(s.mms).length);
  expect(await page.locator('[data-testid=av-node]').count()).toBe(s.anonVmas.size);
  const held = Object.entries(s.locks).flatMap(([name, l]) => l.holders.map((t) => `${t}:${name}`));
  const shown = await page.locator('[data-testid=held-lock]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-task')}:${e.getAttribute('data-lock')}`));
  expect(shown.sort()).toEqual(held.sort());
  const rows = await page.locator('[data-testid=pte-row]').evaluateAll((els) =>
    els.map((e) => ({ vma: +e.getAttribute('data-vma')!, vpn: +e.getAttribute('data-vpn')!, pfn: +e.getAttribute('data-pfn')! })),
  );
  for (const r of rows) expect(r.pfn).toBe(ptePfn(lookupPte(s.mms[s.vmas.get(r.vma)!.mm], r.vpn)));
}

/** the first position with a stale page (the relocation's intermediate state) */
function firstStale(s: DebugSession): number {
  for (let p = 0; p <= s.length; p++) if (s.view(p, null).pages.some((g) => g.stale)) return p;
  return -1;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: the debugger's browser test needs Debian's chromium (apt-get install -y chromium), or MMSIM_CHROMIUM=/path/to/chromium`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  // build (or reuse) the production bundle before any page is timed
  await ensureAppBuilt();
  dir = mkdtempSync(join(tmpdir(), 'mmsim-dbg-e2e-'));
  ctx = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1500, height: 1700 } });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('requestfailed', (r) => failedRequests.push(`${r.url()}: ${r.failure()?.errorText ?? ''}`));
  page.on('console', (m) => {
    consoleAll.push(m.text());
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
});

afterAll(async () => {
  await ctx?.close();
  for (const s of servers) await s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('debugger in headless chromium, on engine-made logs', () => {
  it('serves the production bundle and loads the relocate-anon golden log without a console error', async () => {
    const dist = await ensureAppBuilt();
    const js = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(dist, 'assets', f), 'utf8')).join('\n');
    expect(js).not.toContain('react-dom.development');
    expect(js).not.toContain('Download the React DevTools');
    expect(js).not.toContain('jsxDEV');
    const N = await open(golden);
    expect(N).toBe(truth.length);
    expect(await page.textContent('[data-testid=log-name]')).toBe(`${golden.name}.mmlog`);
    await viewAt(N);
    await checkViews(truth.stateAt(N));
    await page.waitForSelector('[data-testid=checks-status][data-finished="1"]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=checks-status]')).toBe('checkers: 0 violations');
    // the checkers' worker built the index while this one replayed the keyframes
    expect(await page.getAttribute('[data-testid=indexed]', 'data-indexed-by')).toBe('other worker');
    // the forest is the real one: two roots, each its own parent
    expect(await attrs('[data-testid=av-node]', 'data-av')).toEqual(['1', '2']);
    expect(await page.textContent('[data-testid=av-count]')).toContain('2 trees');
    expect(await page.locator('[data-testid=counts-series] canvas').count()).toBe(4);
    await shot('01-golden-final');
    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(consoleAll.some((t) => /React DevTools/.test(t))).toBe(false);
  });

  it('shows each syscall with its arguments and flags: MREMAP_MUST_RELOCATE_ANON', async () => {
    const ix = truth.tt.spanIndex();
    const last = ix.syscalls[ix.syscalls.length - 1];
    await jumpTo(last + 5);
    const t = await page.textContent('[data-testid=syscall-args]');
    expect(t).toBe('mremap(page 1007 → 6, 5 pages, new 5 pages, MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_MUST_RELOCATE_ANON = 0x13) in proc 0');
    expect(await page.locator('[data-testid=span-args]').first().textContent()).toContain('MREMAP_MUST_RELOCATE_ANON');
    // one track per task, spans nested
    expect(await attrs('[data-testid=task-track]', 'data-task')).toEqual(['0']);
    const depths = (await attrs('[data-testid=span-bar]', 'data-depth')).map(Number);
    expect(Math.max(...depths)).toBeGreaterThan(1);
    await shot('02-syscall-args-and-tracks');
  });

  it('explains why adjacent VMAs are (not) merged, and a clicked VMA shows its fields, pages and history', async () => {
    await page.click('[data-testid=to-end]');
    await viewAt(truth.length);
    const why = await page.locator('[data-testid=merge-why]').allTextContents();
    expect(why).toHaveLength(2);
    expect(why[0]).toMatch(/#2 \| #4 .*not merged — flags differ: VM_READ\|VM_WRITE\|VM_ACCOUNT/);
    expect(why[1]).toMatch(/#4 \| #13 .*not merged — anon_vma incompatible: 1 vs 2/);
    expect(await attrs('[data-testid=merge-mark]', 'data-merge')).toEqual(['0', '0']);
    await page.click('[data-testid=vma-bar][data-vma="13"]');
    await page.waitForSelector('[data-testid=vma-detail][data-vma="13"]');
    const d = await page.textContent('[data-testid=vma-detail]');
    expect(d).toContain('[0x10000006000 (page 6), 0x10000010000 (page 16))');
    expect(d).toContain('10 pages');
    expect(d).toContain('pages now: 2 present');
    expect(d).toContain('anon_vma incompatible');
    await page.click('[data-testid=vma-history]');
    await page.waitForSelector('[data-testid=history-label]:text("vma #13")');
    const types = await page.locator('[data-testid=history-row] td:nth-child(4)').allTextContents();
    expect(types).toContain('vma_insert');
    expect(types).toContain('vma_merge');
    await shot('03-merge-why-and-vma');
    await page.click('[data-testid=history-close]');
  });

  it('provenance: a folio index lists every writer with task and span, and jumps to the writer', async () => {
    const row = page.locator('[data-testid=pte-row][data-vpn="268435462"]');
    await row.locator('[data-testid=val-index]').click();
    await page.waitForSelector('[data-testid=history-row]');
    const rows = await page.locator('[data-testid=history-row]').evaluateAll((els) => els.map((e) => ({ seq: +e.getAttribute('data-seq')!, text: e.textContent ?? '' })));
    const pfn = Number(await row.getAttribute('data-pfn'));
    const want = truth.history({ kind: 'folio-index', pfn: truth.view(truth.length, null).pages.flatMap((p) => p.rows).find((r) => r.pfn === pfn)!.folio }, truth.length);
    expect(rows.map((r) => r.seq)).toEqual(want.rows.map((r) => r.seq));
    expect(rows[rows.length - 1].text).toContain('relocate_anon_folios');
    expect(await page.textContent('[data-testid=history-total]')).toContain(`${want.total} writers`);
    // jump to the first writer, then back to the last one before here
    await page.click(`[data-testid=history-row][data-seq="${want.rows[1].seq}"]`);
    await viewAt(want.rows[1].seq + 1);
    expect(await page.textContent('[data-testid=current-event]')).toContain('folio_index');
    await shot('04-provenance-folio-index');
    await page.click('[data-testid=to-end]');
    await viewAt(truth.length);
    await page.click('[data-testid=history-jump-last]');
    await viewAt(want.rows[want.rows.length - 1].seq + 1);
    // a lock's history
    await page.click('[data-testid=history-close]');
  });

  it('a relocation\'s intermediate state is a transient covered by its locks, not red', async () => {
    const N = await open(reloc);
    expect(N).toBe(relocTruth.length);
    await page.waitForSelector('[data-testid=checks-status][data-finished="1"]', { timeout: 60_000 });
    const P = firstStale(relocTruth);
    await jumpTo(P);
    await checkViews(relocTruth.stateAt(P));
    const stale = page.locator('[data-testid=pte-row][data-stale="1"]');
    expect(await stale.count()).toBe(1);
    expect(await stale.getAttribute('data-flagged')).toBe('0');
    const cover = await stale.locator('[data-testid=pte-covered]').textContent();
    expect(cover).toMatch(/transient, covered by anon_vma:\d+ \(write, task 0\)/);
    expect(cover).toContain('folio:');
    expect(await page.locator('[data-testid=pte-flagged]').count()).toBe(0);
    expect(await page.textContent('[data-testid=syscall-args]')).toContain('MREMAP_RELOCATE_ANON');
    // lock lanes grouped by class, the folio locks in one lane, classes by first use
    await page.click('[data-testid=lanes-zoom-out]');
    await page.waitForFunction(() => document.querySelector('[data-testid=lock-lane][data-lane="folio:*"]') !== null);
    const classes = await attrs('[data-testid=lock-class]', 'data-cls');
    expect(classes[0]).toBe('mmap_lock');
    expect(classes.filter((c) => c === 'folio')).toHaveLength(1);
    expect(await page.locator('[data-testid=lock-lane][data-lane="folio:*"] [data-testid=lane-count]').textContent()).toMatch(/×\d+/);
    await shot('05-transient-covered');
  });

  it('the diff counts every changed folio, not a sample', async () => {
    const ix = relocTruth.tt.spanIndex();
    const lastCall = ix.syscalls[ix.syscalls.length - 1];
    await jumpTo(lastCall);
    await page.click('[data-testid=pin]');
    await page.click('[data-testid=to-end]');
    await viewAt(relocTruth.length);
    const d = relocTruth.diff(lastCall, relocTruth.length);
    expect(d.folios.changed).toBe(64);
    await page.waitForSelector(`[data-testid=diff-summary][data-b="${relocTruth.length}"]`);
    expect(await page.getAttribute('[data-testid=diff-folios] [data-testid=ids-changed]', 'data-total')).toBe('64');
    expect(await page.textContent('[data-testid=diff-folios] [data-testid=ids-changed]')).toContain('… (+24)');
    await shot('06-diff');
    await page.click('[data-testid=pin]');
  });

  it('filters and searches the events list by type, address and task, fields decoded', async () => {
    await page.selectOption('[data-testid=filter-type]', 'folio_index');
    // at the end of the log: the matches are before here
    await page.click('[data-testid=filter-before]');
    await page.waitForSelector('[data-testid=filter-row]');
    await expect.poll(async () => (await page.textContent('[data-testid=filter-status]')) ?? '').toMatch(/matching before pos/);
    const types = await page.locator('[data-testid=filter-row] .c-type').allTextContents();
    expect(types.length).toBe(128);
    expect(new Set(types)).toEqual(new Set(['folio_index']));
    await page.selectOption('[data-testid=filter-type]', '');
    await page.fill('[data-testid=filter-text]', 'pte_move 0x10000240000');
    await expect.poll(() => page.locator('[data-testid=filter-row]').count()).toBe(1);
    const f = await page.textContent('[data-testid=filter-row] .c-fields');
    expect(f).toMatch(/from=0x10000000000 \(page 0\) to=0x10000240000 \(page 576\)/);
    const seq = Number(await page.getAttribute('[data-testid=filter-row]', 'data-seq'));
    await page.click('[data-testid=filter-row]');
    await viewAt(seq + 1);
    await shot('07-events-filter');
    await page.fill('[data-testid=filter-text]', '');
  });

  it('runs the checkers in the worker and marks their violations on the timeline, with prev/next', async () => {
    const bad = relocatePatchV1Log();
    const s = DebugSession.fromBytes(bad.bytes);
    const job = new CheckJob(s.tt.log);
    while (!job.step(10_000));
    const seqs = [...new Set(job.findings().map((f) => f.seq))].sort((a, b) => a - b);
    expect(seqs.length).toBeGreaterThan(0);
    await open(bad);
    await page.waitForSelector('[data-testid=checks-status][data-finished="1"]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid=checks-status]')).toBe(`checkers: ${job.count()} violations`);
    await expect.poll(() => page.locator('[data-testid=violation-tick]').count()).toBe(seqs.length);
    expect((await attrs('[data-testid=violation-tick]', 'title'))[0]).toMatch(/^\[(locking|rmap|rmap-race|structure)\] /);
    await page.click('[data-testid=to-start]');
    await viewAt(0);
    await page.click('[data-testid=next-violation]');
    await viewAt(seqs[0] + 1);
    const here = (await page.textContent('[data-testid=finding-here]')) ?? '';
    expect(job.findings().filter((f) => f.seq === seqs[0]).some((f) => here.includes(`[${f.checker}] ${f.message}`))).toBe(true);
    await shot('08-violations');
    if (seqs.length > 1) {
      await page.click('[data-testid=next-violation]');
      await viewAt(seqs[1] + 1);
      await page.click('[data-testid=prev-violation]');
      await viewAt(seqs[0] + 1);
    }
  });

  it('opens a race\'s counterexample at its first violation, each task\'s lane named by what it runs', async () => {
    const race = raceCounterexampleLog();
    const s = DebugSession.fromBytes(race.bytes);
    const job = new CheckJob(s.tt.log);
    while (!job.step(10_000));
    const first = Math.min(...job.findings().map((f) => f.seq));
    const n = await open(race);
    expect(n).toBe(s.length);
    await page.waitForSelector('[data-testid=checks-status][data-finished="1"]', { timeout: 60_000 });
    // no click: the page moved from the final state to the first violation by itself
    await viewAt(first + 1);
    expect(first + 1).toBeLessThan(n);
    expect(await page.textContent('[data-testid=first-violation]')).toBe(`first at seq ${first} ▶`);
    const here = (await page.textContent('[data-testid=finding-here]')) ?? '';
    expect(here).toMatch(/\[(locking|rmap|rmap-race|structure)\] /);
    // the lanes say which task runs what
    const lanes = await page.locator('[data-testid=task-track] .lanelabel').allTextContents();
    expect(lanes).toEqual(expect.arrayContaining(['task 100 mremap', 'task 101 rmap_walk']));
    const rows = await page.locator('[data-testid=task-row] td:first-child').allTextContents();
    expect(rows.some((t) => t.startsWith('100 mremap'))).toBe(true);
    await shot('09-race-first-violation');
    await page.locator('section:has([data-testid=task-tracks])').screenshot({ path: join(ARTIFACTS, '09-race-tasks.png') });
    // the user's own position is left alone: the end stays the end, and the button goes back
    await page.click('[data-testid=to-end]');
    await viewAt(n);
    await page.click('[data-testid=first-violation]');
    await viewAt(first + 1);
  });

  it('marks the violations the server was given (/api/violations) beside the checkers\' own', async () => {
    const srv = await serve('golden-outside.mmlog', golden.bytes, { violations: { violations: [5], reasons: { 5: 'an outside checker says so' } } });
    await page.goto(srv.url);
    await page.waitForSelector('[data-testid=event-count]', { timeout: 60_000 });
    await expect.poll(async () => (await attrs('[data-testid=violation-tick]', 'title')).some((t) => t.includes('an outside checker says so'))).toBe(true);
    await page.waitForSelector('[data-testid=checks-status][data-finished="1"]', { timeout: 60_000 });
    // the checkers' findings (none on the golden log) did not drop the server's mark
    expect((await attrs('[data-testid=violation-tick]', 'title')).filter((t) => t.includes('an outside checker says so'))).toHaveLength(1);
  });

  it('shows the fork-cow run: several mms and anon_vma trees with children', async () => {
    const fk = forkCowLog();
    const s = DebugSession.fromBytes(fk.bytes);
    const N = await open(fk);
    await viewAt(N);
    await checkViews(s.stateAt(N));
    const st = s.stateAt(N);
    let children = 0;
    st.anonVmas.forEach((a) => void (a.parent && a.parent !== a.id && children++));
    expect(children).toBeGreaterThan(0);
    expect(await page.locator('.forest ul [data-testid=av-node]').count()).toBe(children);
    expect(await page.locator('[data-testid=merge-why]').count()).toBeGreaterThan(0);
    await shot('09-fork-cow');
  });

  it('compares two logs side by side at matching syscalls: stock mremap vs MREMAP_RELOCATE_ANON', async () => {
    const stock = relocationLog(64, 1, false);
    const pa = join(dir, 'stock.mmlog');
    const pb = join(dir, 'reloc.mmlog');
    writeFileSync(pa, stock.bytes);
    writeFileSync(pb, reloc.bytes);
    const srv = await serveDebugger({ logPath: pa, port: 0, comparePath: pb });
    servers.push(srv);
    await page.goto(srv.url);
    await page.waitForSelector('[data-testid=panel-compare]', { timeout: 60_000 });
    const sa = DebugSession.fromBytes(stock.bytes);
    await viewAt(sa.length);
    await page.waitForSelector(`[data-testid=panel-compare][data-other-pos="${relocTruth.length}"]`, { timeout: 30_000 });
    const here = await page.locator('[data-testid=compare-here] [data-testid=vma-row]').allTextContents();
    const there = await page.locator('[data-testid=compare-other] [data-testid=vma-row]').allTextContents();
    const vmasOf = (st: ReturnType<typeof sa.stateAt>) => {
      const out: Vma[] = [];
      st.vmas.forEach((v) => out.push(v));
      return out;
    };
    const va = vmasOf(sa.stateAt(sa.length));
    const vb = vmasOf(relocTruth.stateAt(relocTruth.length));
    expect(va).toHaveLength(1);
    expect(vb).toHaveLength(1);
    // same place, but the stock move keeps the old pgoff and the relocation rewrites it
    expect(va[0].start).toBe(vb[0].start);
    expect(va[0].pgoff).toBe(268435456);
    expect(vb[0].pgoff).toBe(vb[0].start);
    expect(here[0]).toContain(String(va[0].pgoff));
    expect(there[0]).toContain(String(vb[0].pgoff));
    // the matching syscalls: the last mremap, without and with RELOCATE_ANON
    const calls = await page.textContent('[data-testid=compare-syscalls]');
    expect(calls).toMatch(/here step:mremap mremap\(page 0 → 576, 64 pages, new 64 pages, MREMAP_MAYMOVE\|MREMAP_FIXED = 0x3\)/);
    expect(calls).toMatch(/there step:mremap mremap\(.*MREMAP_RELOCATE_ANON = 0xb\)/);
    // back into the mremap: the other side follows to its own mremap
    const ix = sa.tt.spanIndex();
    const start = ix.syscalls[ix.syscalls.length - 1];
    await jumpTo(start + 3);
    const rb = relocTruth.tt.spanIndex();
    await page.waitForSelector(`[data-testid=panel-compare][data-other-pos="${rb.syscalls[rb.syscalls.length - 1] + 3}"]`);
    await shot('13-compare-stock-vs-relocate');
  });

  it('shows a corrupt log as a visible LogFileError; salvage keeps the prefix; serve --salvage reaches the page; 0 events is flagged', async () => {
    const bad = corruptLog(relocationLog(1024, 1).bytes);
    const srv = await serve('broken.mmlog', bad);
    await page.goto(srv.url);
    await page.waitForSelector('[data-testid=load-error]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=load-error-message]')).toMatch(/broken\.mmlog: .*byte offset \d+/);
    await page.click('[data-testid=load-error] button');
    await page.waitForSelector('[data-testid=event-count]', { timeout: 30_000 });
    const kept = DebugSession.fromBytes(bad, { salvage: true }).length;
    expect(Number((await page.textContent('[data-testid=event-count]'))!.replace(/,/g, ''))).toBe(kept);
    // the server says salvage: the page salvages at once
    const srv2 = await serve('broken2.mmlog', bad, { salvage: true });
    await page.goto(srv2.url);
    await page.waitForSelector('[data-testid=event-count]', { timeout: 30_000 });
    expect(await page.locator('[data-testid=load-error]').count()).toBe(0);
    expect(await page.textContent('[role=status]')).toMatch(/Damaged log: kept \d+ events/);
    await shot('10-salvaged');
    // a log that salvages to nothing is an alert, not an empty debugger
    const empty = corruptLog(golden.bytes);
    expect(DebugSession.fromBytes(empty, { salvage: true }).length).toBe(0);
    const srv3 = await serve('empty.mmlog', empty, { salvage: true });
    await page.goto(srv3.url);
    await page.waitForSelector('[data-testid=empty-log]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=empty-log]')).toMatch(/salvaged to 0 events/);
    await shot('11-salvaged-empty');
    // the file picker
    const p = join(dir, 'picked.mmlog');
    writeFileSync(p, golden.bytes);
    await page.setInputFiles('[data-testid=file-input]', p);
    await page.waitForFunction((n) => document.querySelector('[data-testid=event-count]')?.textContent === String(n), truth.length);
    expect(await page.textContent('[data-testid=log-name]')).toBe('picked.mmlog');
  });

  it('stays smooth on a 1M-event relocation: decode in the worker, scrub, scroll the events list', async () => {
    const big = relocationLog(40000, 2);
    const srv = await serve('large.mmlog', big.bytes);
    const t0 = Date.now();
    await page.goto(srv.url);
    await page.waitForSelector('[data-testid=event-count]', { timeout: 120_000 });
    const N = Number((await page.textContent('[data-testid=event-count]'))!.replace(/,/g, ''));
    expect(N).toBeGreaterThanOrEqual(1_000_000);
    await viewAt(N);
    const loadMs = Date.now() - t0;
    const scrub = await page.evaluate(async (n) => {
      const longs: number[] = [];
      const obs = new PerformanceObserver((l) => {
        for (const e of l.getEntries()) longs.push(Math.round(e.duration));
      });
      obs.observe({ type: 'longtask', buffered: false });
      const el = document.querySelector('[data-testid=scrubber]') as HTMLInputElement;
      const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      const t0 = performance.now();
      let last = 0;
      for (let i = 1; i <= 60; i++) {
        last = Math.floor((n * i) / 61);
        setValue.call(el, String(last));
        el.dispatchEvent(new Event('input', { bubbles: true }));
        await new Promise((r) => setTimeout(r, 16));
      }
      const t1 = performance.now();
      while (document.querySelector('[data-testid=views]')!.getAttribute('data-view-pos') !== String(last)) {
        await new Promise((r) => setTimeout(r, 10));
        if (performance.now() - t1 > 30_000) break;
      }
      obs.disconnect();
      return { last, dragMs: Math.round(t1 - t0), settleMs: Math.round(performance.now() - t1), longs };
    }, N);
    await viewAt(scrub.last);
    await page.locator('[data-testid=follow]').uncheck();
    // the rows on show before the scroll: the list has re-rendered once its first row is another
    const before = (await attrs('[data-testid=event-row]', 'data-seq'))[0];
    await page.locator('[data-testid=events-list]').evaluate((el) => {
      el.scrollTop = el.scrollHeight / 2;
      el.dispatchEvent(new Event('scroll'));
    });
    await page.waitForFunction((prev) => {
      const rows = [...document.querySelectorAll('[data-testid=event-row]')];
      return rows.length > 5 && rows[0].getAttribute('data-seq') !== prev && rows.every((r) => !r.querySelector('.muted'));
    }, before);
    const seqs = (await attrs('[data-testid=event-row]', 'data-seq')).map(Number);
    expect(seqs.length).toBeLessThan(60);
    expect(Math.abs(seqs[0] - N / 2)).toBeLessThan(N * 0.01);
    // mid-relocation the page tables show thousands of stale (transient) pages, bounded rows
    const cur = DebugSession.fromBytes(big.bytes);
    const log = cur.tt.log;
    const c = log.cursor(0);
    const r = newRawEvent();
    let mid = -1;
    let k = 0;
    while (c.next(r)) if (r.type === E.FolioIndex && r.span && ++k === 50_000) mid = r.seq + 1;
    await jumpTo(mid);
    expect(Number((await page.textContent('[data-testid=stale-total]'))!.split(' ')[0])).toBeGreaterThan(1000);
    writeFileSync(join(ARTIFACTS, 'large-log-timing.json'), JSON.stringify({ events: N, loadMs, ...scrub }, null, 2));
    await shot('12-large-mid-relocation');
    expect(scrub.settleMs).toBeLessThan(10_000);
    expect(pageErrors).toEqual([]);
  });
});
