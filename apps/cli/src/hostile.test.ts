/**
 * Hostile input (issue 34): what used to crash (exit 70) or hang is refused with exit 2
 * and a message naming the file, the option or the field.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, files, tmp } from './testing/harness.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const GUP = 'scenarios/races/relocate-vs-gup-fast.json';

describe('integer options: decimal digits within a range', () => {
  it('explore --bound 99999999999999999999 is refused naming the option and its range (was a RangeError, exit 70)', async () => {
    const r = await cli(['explore', GUP, '--bound', '99999999999999999999'], ROOT);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--bound: expected an integer from 0 to 1000');
    expect(r.err).not.toContain('internal error');
  });

  it.each(['1e3', '0x1F90', '', ' 80', '-1', '65536', '7411.0'])('serve --port %j is refused with exit 2', async (port) => {
    const r = await cli(['serve', 'nosuch.mmlog', '--port', port], tmp());
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--port: expected an integer from 0 to 65535, got ${JSON.stringify(port)}`);
  });

  it('explore --seed and --budget take only decimal integers', async () => {
    expect((await cli(['explore', GUP, '--seed', '1e2'], ROOT)).err).toContain('--seed: expected a non-negative integer');
    expect((await cli(['explore', GUP, '--budget', '0x10'], ROOT)).err).toContain('--budget: expected a non-negative integer');
  });
});

describe('reading what is not a regular file: refused at once, the file named', () => {
  const dir = tmp();
  const fifo = join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  mkdirSync(join(dir, 'folder'));
  const cases: [string, string[]][] = [
    ['run', ['run']],
    ['replay', ['replay']],
    ['events', ['events']],
    ['check', ['check']],
    ['stats', ['stats']],
    ['inspect', ['inspect']],
    ['serve', ['serve']],
    ['trace', ['trace']],
    ['merge', ['merge']],
  ];
  for (const [name, args] of cases) {
    it.each(['/dev/zero', '/dev/urandom', fifo, join(dir, 'folder')])(`${name} %s`, async (file) => {
      const r = await cli([...args, file], dir);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`^mmsim: ${file.replace(/[/.]/g, '\\$&')}: cannot read the [a-z ]+: (it is a (character device|FIFO|directory), not a regular file|is a directory)\\n$`));
    });
  }
});

describe('a file given to the wrong command', () => {
  const dir = tmp();
  files(dir, {
    'x.trace': '{"format":"mmsim-trace/1","command":["ls"],"kernel":"6.18.2","thp":"never"}\n["mmap",1,0,4096,3,34,-1,0,140000000000000,0]\n["exit",1]\n',
  });

  it.each([
    ['run', 'a scenario'],
    ['replay', 'an mmsim event log'],
    ['events', 'an mmsim event log'],
  ])('%s x.trace says it is a trace for `mmsim trace` (was "invalid JSON at position ..." / "run it with mmsim run")', async (cmd, what) => {
    const r = await cli([cmd, 'x.trace'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`mmsim: x.trace: this is a trace (mmsim-trace/1, from \`mmsim record\`), not ${what}: replay it with \`npx mmsim trace x.trace\`\n`);
  });

  it('merge nosuch.json names the file, no raw ENOENT', async () => {
    const r = await cli(['merge', 'nosuch.json'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toBe('mmsim: nosuch.json: cannot read the explore result: no such file\n');
  });
});

describe('--schedule', () => {
  it('on a scenario without a concurrent step is an error naming the option (was ignored)', async () => {
    const file = 'scenarios/golden/merge/mremap_unfaulted_to_faulted.json';
    const r = await cli(['run', file, '--schedule', '3:1'], ROOT);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`mmsim: ${file}: --schedule "3:1": the scenario has no concurrent step, so there is nothing to schedule\n`);
    expect(r.out).toBe('');
  });

  it('a task that cannot run, and a schedule that does not parse, name the option', async () => {
    const bad = await cli(['run', GUP, '--schedule', '0:7', '--quiet'], ROOT);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('mmsim: scenario relocate-vs-gup-fast: --schedule "0:7": at decision 0 task 7 cannot run (runnable: 0, 1)');
    const garbled = await cli(['run', GUP, '--schedule', '0-7', '--quiet'], ROOT);
    expect(garbled.code).toBe(2);
    expect(garbled.err).toContain('--schedule "0-7": "0-7" is not decision:task');
  });
});
