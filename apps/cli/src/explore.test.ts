/**
 * `mmsim explore`, `mmsim merge` and `mmsim run --schedule` on the real model and the
 * race scenarios of scenarios/races.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeLogFile } from '@mmsim/core';
import { cli, files, tmp } from './testing/harness.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const GUP = 'scenarios/races/relocate-vs-gup-fast.json';

describe('mmsim explore', () => {
  it('--json: the mmsim-explore/1 shape, exit 3, and the schedule reproduces with run --check (exit 3)', async () => {
    const out = tmp();
    const r = await cli(['explore', GUP, '--relocate-variant', 'fixed', '--json', '--out', out], ROOT);
    expect(r.code).toBe(3);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['format', 'strategy', 'bound', 'schedules', 'complete', 'distinctFinalStates', 'violations', 'firstViolationAfter', 'schedulesPerSec', 'elapsedMs']));
    expect(j).toMatchObject({ format: 'mmsim-explore/1', strategy: 'dfs', bound: 2, complete: true });
    expect(j.violations.map((v: { checker: string }) => v.checker)).toEqual(['rmap']);
    const { schedule } = j.violations[0];
    // the log of the violation: the concurrent step's tasks are engine tasks 100 and 101
    const log = decodeLogFile(readFileSync(join(out, 'violation-1.mmlog')));
    const tasks = new Set<number>();
    for (const ev of log.log.events(0, log.log.length)) if (ev.type === 'task_switch') tasks.add((ev as { task: number }).task);
    expect([...tasks].filter((t) => t >= 100).sort()).toEqual([100, 101]);
    expect(existsSync(join(out, 'explore.json'))).toBe(true);
    const again = await cli(['run', GUP, '--relocate-variant', 'fixed', '--schedule', schedule, '--check', '--quiet'], ROOT);
    expect(again.code).toBe(3);
    expect(again.err).toContain(j.violations[0].message);
    // --checkers keeps only the named ones: the rmap finding is not reported under locking
    const other = await cli(['run', GUP, '--relocate-variant', 'fixed', '--schedule', schedule, '--check', '--checkers', 'locking', '--quiet'], ROOT);
    expect(other.code).toBe(0);
    // the default schedule does not show it
    const calm = await cli(['run', GUP, '--relocate-variant', 'fixed', '--schedule', '', '--check', '--quiet'], ROOT);
    expect(calm.code).toBe(0);
  });

  it('three --shard results merge into the unsharded one', async () => {
    // --no-cache: the shards then partition the schedules exactly
    const whole = JSON.parse((await cli(['explore', GUP, '--relocate-variant', 'fixed', '--no-cache', '--json', '--shard', '0/1'], ROOT)).out);
    const dir = tmp();
    for (const i of [0, 1, 2]) {
      const r = await cli(['explore', GUP, '--relocate-variant', 'fixed', '--no-cache', '--json', '--shard', `${i}/3`], ROOT);
      files(dir, { [`s${i}.json`]: r.out });
    }
    const m = await cli(['merge', join(dir, 's0.json'), join(dir, 's1.json'), join(dir, 's2.json'), '--json'], ROOT);
    expect(m.code).toBe(3);
    const merged = JSON.parse(m.out);
    expect(merged.schedules).toBe(whole.schedules);
    expect(merged.complete).toBe(true);
    expect(merged.finalStates).toEqual(whole.finalStates);
    expect(merged.violations.map((v: { message: string }) => v.message)).toEqual(whole.violations.map((v: { message: string }) => v.message));
    const partial = await cli(['merge', join(dir, 's0.json'), join(dir, 's1.json'), '--json'], ROOT);
    expect(JSON.parse(partial.out).complete).toBe(false);
  });

  it('merge: the reproduction has the real path and every option of the run; firstViolationAfter counts every shard', async () => {
    const dir = tmp();
    const opts = ['--relocate-variant', 'fixed', '--thp', 'never', '--kernel-config', 'stock', '--bound', '1'];
    const parts: { firstViolationAfter: number | null; schedules: number }[] = [];
    for (const i of [0, 1]) {
      const r = await cli(['explore', GUP, ...opts, '--json', '--shard', `${i}/2`], ROOT);
      files(dir, { [`s${i}.json`]: r.out });
      parts.push(JSON.parse(r.out));
    }
    const m = await cli(['merge', join(dir, 's0.json'), join(dir, 's1.json')], dir);
    expect(m.code).toBe(3);
    const abs = join(ROOT, GUP);
    expect(m.out).toMatch(/schedule "[\d:,]*" \(1 preemption\): mmsim run (\S+) --relocate-variant fixed --thp never --kernel-config stock --schedule '[\d:,]*' --check/);
    expect(m.out).toContain(`mmsim run ${abs} `);
    // the shards ran side by side: when the first to find it found it, each had run up to as many
    const firsts = parts.filter((p) => p.firstViolationAfter !== null).map((p) => p.firstViolationAfter as number);
    const expected = Math.min(...firsts.map((f) => parts.reduce((n, p) => n + Math.min(p.schedules, f), 0)));
    const j = JSON.parse((await cli(['merge', join(dir, 's0.json'), join(dir, 's1.json'), '--json'], dir)).out);
    expect(j.firstViolationAfter).toBe(expected);
    expect(j.firstViolationAfter).toBeGreaterThanOrEqual(Math.min(...firsts));
    // a shard run with other options is another exploration
    const other = await cli(['explore', GUP, '--relocate-variant', 'fixed', '--thp', 'always', '--kernel-config', 'stock', '--bound', '1', '--json', '--shard', '1/2'], ROOT);
    files(dir, { 'x1.json': other.out });
    const bad = await cli(['merge', join(dir, 's0.json'), join(dir, 'x1.json')], dir);
    expect(bad.code).toBe(2);
    // refused by the shards' check of each other (merge's validation), before the reproductions are compared
    expect(bad.err).toMatch(/field "options" is .*thp.*always.*shards of different explorations do not merge/);
  });

  it('--check-por: the reduced exploration reaches what the full one does', async () => {
    const r = await cli(['explore', 'scenarios/races/dontneed-vs-touch.json', '--check-por', '--bound', '2'], ROOT);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/reduced \d+ schedule\(s\).*; full \d+ schedule\(s\)/);
    expect(r.out).toContain('the same 2 final state(s) and 0 violation(s)');
  });

  it('bad input is exit 2, naming the option', async () => {
    const dir = tmp();
    files(dir, { 'seq.json': JSON.stringify({ format: 'mmsim-scenario/1', name: 'seq', arena: { pages: 8 }, steps: [{ op: 'mmap', page: 0, pages: 1, prot: 'rw-' }] }) });
    const cases: [string[], RegExp][] = [
      [['explore', GUP, '--shard', '3/3'], /--shard: expected I\/N/],
      [['explore', GUP, '--strategy', 'bfs'], /--strategy must be one of dfs, pct, random/],
      [['explore', GUP, '--bound', '-1'], /--bound/],
      [['explore', join(dir, 'seq.json')], /no concurrent step/],
      // a typo would report only that checker, i.e. nothing: "no violations"
      [['explore', GUP, '--checkers', 'rmap,rmap-wlak'], /--checkers: unknown checker "rmap-wlak" \(known: rmap, rmap-race, locking, structure, lifetime, rmap-walk, deadlock, error\)/],
      [['explore', GUP, '--checkers', ','], /--checkers: no checker named/],
      [['run', GUP, '--check', '--checkers', 'rmap-wlak'], /--checkers: unknown checker "rmap-wlak" \(known: rmap, rmap-race, locking, structure, lifetime, rmap-walk, deadlock, error\)/],
      [['run', GUP, '--checkers', 'rmap'], /add --check/],
      [['check', 'nosuch.mmlog', '--checkers', 'rmap-wlak'], /--checkers: unknown checker "rmap-wlak"/],
      [['run', GUP, '--relocate-variant', 'fixed', '--schedule', 'nope'], /decision:task/],
      [['run', GUP, '--relocate-variant', 'fixed', '--schedule', '0:7'], /task 7 cannot run/],
      [['merge', join(dir, 'seq.json')], /seq\.json: field "format": expected "mmsim-explore\/1", got "mmsim-scenario\/1"/],
    ];
    for (const [args, msg] of cases) {
      const r = await cli(args, ROOT);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
    }
  });
});
