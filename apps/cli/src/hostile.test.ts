/**
 * Hostile input (issue 34): what used to crash (exit 70) or hang is refused with exit 2
 * and a message naming the file, the option or the field.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, files, tmp } from './testing/harness.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = new URL('../bin/mmsim.mjs', import.meta.url).pathname;
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

describe('mmsim trace of a hostile trace: exit 2 naming file:line, no crash, no hang', () => {
  const dir = tmp();
  const HEADER = '{"format":"mmsim-trace/1","command":["x"],"kernel":"6.18.2","thp":"never"}';
  const snap = (maps: unknown[], present: unknown[]) => ({ pid: 1, startBrk: 0, maps, present });
  const MAPS = [[4096, 4100, 'rw-p', 0, '', '']];
  // a complete trace: its records, then the end record that counts them
  const trace = (name: string, records: unknown[]) => {
    files(dir, { [name]: [HEADER, ...records.map((r) => JSON.stringify(r)), JSON.stringify(['end', records.length])].join('\n') + '\n' });
    return name;
  };
  const exec = ['exec', 1, snap(MAPS, [[4096, 2]])];

  it('a sound trace agrees (the cases below differ from it in one record)', async () => {
    const r = await cli(['trace', trace('ok.trace', [exec, ['snap', 1, snap(MAPS, [[4096, 2]])], ['exit', 1]])], dir);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('agree: every process');
  });

  it.each(['__proto__', 'toString', 'constructor', 'hasOwnProperty'])('a record of kind %s is an unknown kind (was "fields.join is not a function" or ignored)', async (kind) => {
    const r = await cli(['trace', trace(`${kind}.trace`, [exec, [kind, 1], ['exit', 1]])], dir);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`mmsim: invalid trace: ${join(dir, `${kind}.trace`)}:3: unknown record kind "${kind}" (the kinds are f, mmap, munmap, mremap, mprotect, madvise, brk, memfd, shmget, shmat, shmdt, mlock, munlock, mlockall, munlockall, mseal, anon_name, mbind, fork, exec, snap, exit, end, gup, sig)\n`);
  });

  it('an exit snapshot with a present run of 2^34 pages is refused (was a Set maximum size crash)', async () => {
    const r = await cli(['trace', trace('p34.trace', [exec, ['snap', 1, snap(MAPS, [[4096, 2 ** 34]])], ['exit', 1]])], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`p34.trace:3 (snapshot.present): ${2 ** 34} present pages, more than the replay's limit of 2^24 (16777216) per snapshot`);
  });

  it('an exec snapshot with a present run of 2^40 pages is refused (was a hang)', async () => {
    const r = await cli(['trace', trace('p40.trace', [['exec', 1, snap(MAPS, [[4096, 2 ** 40]])], ['exit', 1]])], dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`p40.trace:2 (snapshot.present[0]): pages [4096, ${4096 + 2 ** 40}) are not all below 2^35, the user address space`);
  });

  it('MAP_POPULATE of 2^46 bytes and MADV_POPULATE_WRITE over it are refused (were hangs)', async () => {
    const addr = 2 ** 40;
    const mmap = ['mmap', 1, 0, 2 ** 46, 3, 0x8022 /* MAP_POPULATE|MAP_ANONYMOUS|MAP_PRIVATE */, -1, 0, addr, 0];
    const pop = await cli(['trace', trace('pop.trace', [exec, mmap, ['exit', 1]])], dir);
    expect(pop.code).toBe(2);
    expect(pop.err).toContain(`pop.trace:3 (mmap.len): populates ${2 ** 34} pages, more than the replay's limit of 2^24 (16777216) per record`);
    const plain = ['mmap', 1, 0, 2 ** 46, 3, 0x22, -1, 0, addr, 0];
    const madv = await cli(['trace', trace('madv.trace', [exec, plain, ['madvise', 1, addr, 2 ** 46, 23, 0], ['exit', 1]])], dir);
    expect(madv.code).toBe(2);
    expect(madv.err).toContain(`madv.trace:4 (madvise.len): populates ${2 ** 34} pages, more than the replay's limit`);
  });

  it('an anonymous VMA of 2^34 pages at exit is compared without a loop over its pages', async () => {
    const maps = [[2 ** 20, 2 ** 34, '---p', 0, '', ''], [2 ** 34, 2 ** 34 + 4, 'rw-p', 0, '', '']];
    const r = await cli(['trace', trace('wide.trace', [['exec', 1, snap(maps, [[2 ** 34, 1]])], ['snap', 1, snap(maps, [[2 ** 34, 2]])], ['exit', 1]])], dir);
    expect(r.code).toBe(1);
    expect(r.out).toContain('DISAGREE: line 3: process 1 at exit: page 0x400000001000 in 0x400000000000-0x400000004000: recorded present, simulated not present');
  });

  it('trace of a folder or /dev/zero is refused (were EISDIR and a 4 GB RangeError)', async () => {
    for (const f of [dir, '/dev/zero']) {
      const r = await cli(['trace', f], dir);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/cannot read the trace: it is a (directory|character device), not a regular file/);
    }
  });
});

describe('explore --out', () => {
  it('/proc/x is refused at once, before exploring (Node\'s recursive mkdir spun there forever)', async () => {
    const r = await cli(['explore', GUP, '--relocate-variant', 'fixed', '--out', '/proc/x'], ROOT);
    expect(r.code).toBe(2);
    expect(r.err).toBe('mmsim: --out /proc/x: cannot create the folder there (/proc does not exist or does not take folders)\n');
    expect(r.out).toBe('');
  });

  it('a file where the folder should be is refused', async () => {
    const dir = tmp();
    files(dir, { taken: 'x' });
    const r = await cli(['explore', join(ROOT, GUP), '--out', 'taken'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toBe('mmsim: --out taken: it exists and is not a folder\n');
  });
});

describe('run -q', () => {
  it('the summary agrees with the exit code: a scenario with a violation has not passed (was "1 passed" with exit 3)', async () => {
    const r = await cli(['run', GUP, '--relocate-variant', 'fixed', '--schedule', '20:1', '--check', '-q'], ROOT);
    expect(r.code).toBe(3);
    expect(r.out).toBe('1 scenario: 0 passed, 0 with failed expectations, 1 invariant violation\n');
    const calm = await cli(['run', GUP, '--relocate-variant', 'fixed', '--schedule', '', '--check', '-q'], ROOT);
    expect(calm.code).toBe(0);
    expect(calm.out).toBe('1 scenario: 1 passed, 0 with failed expectations, 0 invariant violations\n');
  });
});

describe('inspect --help', () => {
  it('the jq example\'s path finds the VMAs in real inspect --json output (it printed null)', async () => {
    const help = await cli(['inspect', '--help']);
    const m = /mmsim inspect my\.mmlog --json \| jq "([^"]+)"/.exec(help.out);
    expect(m, help.out).not.toBeNull();
    const dir = tmp();
    expect((await cli(['run', join(ROOT, 'scenarios/golden/merge/mremap_unfaulted_to_faulted.json'), '--log', 'my.mmlog', '-q'], dir)).code).toBe(0);
    const out = JSON.parse((await cli(['inspect', 'my.mmlog', '--json'], dir)).out);
    // the jq path (.key and [index] steps), applied as jq would
    let v: unknown = out;
    for (const [, key, index] of m![1].matchAll(/\.(\w+)|\[(\d+)\]/g)) v = (v as Record<string, unknown> | null)?.[key ?? Number(index)] ?? null;
    expect(Array.isArray(v), `${m![1]} gives ${JSON.stringify(v)}`).toBe(true);
    expect((v as { start: number }[]).length).toBeGreaterThan(0);
    expect(v).toEqual(out.state.mms[0].vmas);
  });
});

describe('mmsim merge validates each result and the shards against each other', () => {
  const dir = tmp();
  const shards: Record<string, unknown>[] = [];
  const shard = (i: number, edit: (j: Record<string, unknown>) => void = () => {}) => {
    const j = structuredClone(shards[i]);
    edit(j);
    return JSON.stringify(j);
  };
  const merge = async (...texts: string[]) => {
    const names = texts.map((_, i) => `m${i}.json`);
    files(dir, Object.fromEntries(names.map((n, i) => [n, texts[i]])));
    return cli(['merge', ...names], dir);
  };

  it('builds two shards (and they merge, carrying the scenario hash and options)', async () => {
    for (const i of [0, 1]) {
      const r = await cli(['explore', join(ROOT, GUP), '--relocate-variant', 'fixed', '--json', '--shard', `${i}/2`], dir);
      shards.push(JSON.parse(r.out));
    }
    expect(shards[0].scenarioHash).toMatch(/^[0-9a-f]{16}$/);
    expect(shards[0].options).toMatchObject({ por: true, budget: null });
    const ok = await merge(shard(0), shard(1));
    expect(ok.err).toBe('');
    expect(ok.code).toBe(3);
    const j = await cli(['merge', 'm0.json', 'm1.json', '--json'], dir);
    expect(JSON.parse(j.out)).toMatchObject({ complete: true, scenarioHash: shards[0].scenarioHash, options: shards[0].options });
  });

  it.each<[string, (j: Record<string, unknown>) => void, string]>([
    ['a shard index outside its count', (j) => void ((j.shard as { index: number }).index = 5), 'm1.json: field "shard.index": must be an integer from 0 to 1 (the shard count), got 5'],
    ['a zero count', (j) => void ((j.shard as { count: number }).count = 0), 'm1.json: field "shard.count": must be a positive integer, got 0'],
    ['a negative count', (j) => void ((j.shard as { count: number }).count = -2), 'm1.json: field "shard.count": must be a positive integer, got -2'],
    ['a string where a number belongs', (j) => void (j.bound = '2'), 'm1.json: field "bound": must be a non-negative integer, got "2"'],
    ['negative schedules', (j) => void (j.schedules = -4), 'm1.json: field "schedules": must be a non-negative integer, got -4'],
    ['schedules of 1e308', (j) => void (j.schedules = 1e308), 'm1.json: field "schedules": must be a non-negative integer, got 1e+308'],
    ['complete: "no"', (j) => void (j.complete = 'no'), 'm1.json: field "complete": must be true or false, got "no"'],
    ['violations not an array', (j) => void (j.violations = 3), 'm1.json: field "violations": must be an array'],
    ['a violation without fields', (j) => void (j.violations = [{}]), 'm1.json: field "violations[0].schedule": must be a string'],
    ['another seed', (j) => void (j.seed = 9), 'm1.json: field "seed" is 9, in m0.json 0: shards of different explorations do not merge'],
    ['another count', (j) => void (j.shard = { index: 1, count: 3 }), 'm1.json: field "shard.count" is 3, in m0.json 2: shards of different explorations do not merge'],
    ['another variant', (j) => void ((j.options as { kernel: unknown }).kernel = { relocateAnon: { variant: 'none' } }), 'm1.json: field "options" is'],
    ['another scenario content', (j) => void (j.scenarioHash = '0123456789abcdef'), 'm1.json: field "scenarioHash" is "0123456789abcdef", in m0.json'],
    ['the same index twice', (j) => void (j.shard = { index: 0, count: 2 }), 'm1.json: field "shard.index": shard 0 again (also m0.json)'],
  ])('refuses %s, naming the file and the field', async (_, edit, msg) => {
    const r = await merge(shard(0), shard(1, edit));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`mmsim: ${msg}`);
  });

  it('refuses a merged result merged again with its shards', async () => {
    await merge(shard(0), shard(1));
    const merged = (await cli(['merge', 'm0.json', 'm1.json', '--json'], dir)).out;
    files(dir, { 'merged.json': merged });
    const r = await cli(['merge', 'merged.json', 'm0.json', 'm1.json'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toBe('mmsim: merged.json: field "shard.index": -1, a result of mmsim merge: merge the shards themselves, not a merged result with them\n');
  });

  it('schedules summing past 2^53 are refused', async () => {
    const r = await merge(shard(0, (j) => void (j.schedules = Number.MAX_SAFE_INTEGER)), shard(1));
    expect(r.code).toBe(2);
    expect(r.err).toContain('the shards\' "schedules" sum to');
  });
});

describe('violations and bisect print hex addresses with the arena page', () => {
  const dir = tmp();
  // a checker that words its finding as the built-in ones do (rmap.ts: "vpn N in vma V [START, END)")
  files(dir, {
    'vpn-checker.ts': `import { E, definePlugin } from '@mmsim/core';
import { CHECKER } from '@mmsim/invariants';
export default definePlugin({
  name: 'vpn-checker',
  setup(host) {
    host.provide(CHECKER, {
      name: 'vpn-checker',
      create: (ctx) => ({
        onEvent(r) {
          if (r.type === E.VmaInsert) ctx.report(\`vpn \${r.c + 2} in vma \${r.a} [\${r.c}, \${r.d}) (vma pgoff 0, start \${r.c})\`, { vma: [r.a] });
        },
      }),
    });
  },
});
`,
    's.json': JSON.stringify({ format: 'mmsim-scenario/1', name: 's', arena: { pages: 64 }, steps: [{ op: 'mmap', page: 4, pages: 4, prot: 'rw-' }, { op: 'touch', page: 4, pages: 1 }] }),
  });
  // spawned: a .ts --plugin is loaded through the bin's tsx registration
  const spawnCli = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const FINDING = 'at 0x10000006000 (page 6) in vma 1 [0x10000004000, 0x10000008000) pages [4, 8) (vma pgoff 0, start 0x10000004000 (page 4))';

  it('run --check: the message in hex with arena pages (was "vpn 268435462 in vma 1 [268435460, 268435464)")', async () => {
    const r = spawnCli(['run', 's.json', '--plugin', './vpn-checker.ts', '--check', '-q', '--log', 's.mmlog']);
    expect(r.code).toBe(3);
    expect(r.err).toContain(`[vpn-checker] seq`);
    expect(r.err.replace(/\bvpn-checker\b/g, '')).not.toMatch(/\bvpn \d+|\b2684354\d\d\b/);
    expect(r.err).toContain(FINDING.replace('at ', ''));
    const c = spawnCli(['check', 's.mmlog', '--plugin', './vpn-checker.ts']);
    expect(c.code).toBe(3);
    expect(c.err).toContain(FINDING.replace('at ', ''));
  });

  it('bisect LOG checks by default (no --check needed) and decodes the events it shows', async () => {
    const b = spawnCli(['bisect', 's.mmlog', '--plugin', './vpn-checker.ts', '--context', '2']);
    expect(b.err).toBe('');
    expect(b.code).toBe(3);
    expect(b.out).toContain(FINDING.replace('at ', ''));
    const shown = b.out.split('\n').filter((l) => /^ {2} +\d+ {2}t\d+ s\d+ {2}/.test(l));
    expect(shown).toHaveLength(3);
    // no raw JSON events, no decimal vpns: the vma_insert row reads like `mmsim events`
    for (const row of shown) expect(row).not.toContain('{"');
    expect(shown.at(-1)).toMatch(/vma_insert\s+.*0x10000004000/);
    expect((await cli(['bisect', 's.mmlog', '--context', 'x'], dir)).err).toContain('--context: expected an integer from 0 to 1000000');
  });
});
