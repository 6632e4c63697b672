import { describe, expect, it } from 'vitest';
import { ScenarioError, isOracleSafe, parseScenario, simulatorOnlyStep } from './index.js';

const base = (steps: unknown[], extra: Record<string, unknown> = {}) => ({
  format: 'mmsim-scenario/1',
  name: 't',
  arena: { pages: 64 },
  steps,
  ...extra,
});

function err(input: unknown, file?: string): ScenarioError {
  try {
    parseScenario(input, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return e as ScenarioError;
  }
  throw new Error('expected a ScenarioError');
}

describe('parseScenario: the VMA-flag steps', () => {
  it('fills their defaults; mlockall keeps the kernel\'s EINVAL cases', () => {
    const s = parseScenario(
      base([
        { op: 'mlock', page: 0, pages: 2 },
        { op: 'mlock', page: 2, pages: 2, onfault: true },
        { op: 'munlock', page: 0, pages: 4 },
        { op: 'mlockall', flags: ['CURRENT', 'ONFAULT'] },
        { op: 'mlockall', flags: [] },
        { op: 'munlockall' },
        { op: 'mseal', page: 0, pages: 1 },
        { op: 'anon_name', page: 0, pages: 1, name: 'heap.1' },
        { op: 'madvise', page: 0, pages: 1, advice: 'KEEPONFORK' },
        { op: 'mbind', page: 0, pages: 1, mode: 'LOCAL' },
      ]),
    );
    expect(s.steps[9]).toEqual({ op: 'mbind', proc: 0, page: 0, pages: 1, mode: 'LOCAL', nodes: [] });
    expect(s.steps.slice(0, 8)).toEqual([
      { op: 'mlock', proc: 0, page: 0, pages: 2, onfault: false },
      { op: 'mlock', proc: 0, page: 2, pages: 2, onfault: true },
      { op: 'munlock', proc: 0, page: 0, pages: 4 },
      { op: 'mlockall', proc: 0, flags: ['CURRENT', 'ONFAULT'] },
      { op: 'mlockall', proc: 0, flags: [] },
      { op: 'munlockall', proc: 0 },
      { op: 'mseal', proc: 0, page: 0, pages: 1 },
      { op: 'anon_name', proc: 0, page: 0, pages: 1, name: 'heap.1' },
    ]);
    expect(isOracleSafe(s)).toBe(true);
  });
});

describe('parseScenario: defaults', () => {
  it('fills every default', () => {
    const s = parseScenario(
      base([
        { op: 'mmap', page: 0, pages: 10, prot: 'rw-' },
        { op: 'touch', page: 0, pages: 2 },
        { op: 'mremap', page: 0, pages: 5 },
        { op: 'snapshot', label: 'x' },
      ]),
    );
    expect(s.steps[0]).toEqual({ op: 'mmap', proc: 0, page: 0, pages: 10, prot: 'rw-', shared: false, fixed: false, noreserve: false });
    expect(s.steps[1]).toEqual({ op: 'touch', proc: 0, page: 0, pages: 2, access: 'write' });
    expect(s.steps[2]).toEqual({ op: 'mremap', proc: 0, page: 0, pages: 5, newPages: 5, flags: [] });
    expect(s.steps[3]).toEqual({ op: 'snapshot', proc: 0, label: 'x' });
    expect(s.expect).toBeUndefined();
  });

  it('parses JSON text and keeps description', () => {
    const s = parseScenario(JSON.stringify(base([], { description: 'd' })), 'f.json');
    expect(s.description).toBe('d');
    expect(s.arena.pages).toBe(64);
  });

  it('accepts the fork/exit process lifecycle', () => {
    const s = parseScenario(
      base([{ op: 'fork' }, { op: 'fork', proc: 1 }, { op: 'exit', proc: 1 }, { op: 'touch', proc: 2, page: 0, pages: 1 }, { op: 'fork', proc: 2 }, { op: 'exit', proc: 3 }]),
    );
    expect(s.steps.map((x) => x.proc)).toEqual([0, 1, 1, 2, 2, 3]);
  });

  it('isOracleSafe', () => {
    expect(isOracleSafe(parseScenario(base([{ op: 'mmap', page: 0, pages: 1, prot: 'rw-' }])))).toBe(true);
    for (const st of [{ op: 'pin', page: 0, pages: 1 }, { op: 'unpin', page: 0, pages: 1 }, { op: 'ksm', page: 0, pages: 1 }, { op: 'swapout', page: 0, pages: 1 }, { op: 'thp', page: 0 }])
      expect(isOracleSafe(parseScenario(base([st])))).toBe(false);
  });
});

describe('parseScenario: fault injection ("fail")', () => {
  const mmap = { op: 'mmap', page: 0, pages: 4, prot: 'rw-' };
  it('a syscall step carries the fault it injects; the step is then simulator-only', () => {
    const s = parseScenario(base([mmap, { op: 'mprotect', page: 1, pages: 1, prot: 'r--', fail: 'prealloc' }]));
    expect(s.steps[1]).toMatchObject({ op: 'mprotect', page: 1, pages: 1, prot: 'r--', fail: 'prealloc' });
    expect(s.steps[0].fail).toBeUndefined();
    expect(isOracleSafe(s)).toBe(false);
    expect(simulatorOnlyStep(s)).toEqual({ step: 1, why: 'an injected fault ("fail": "prealloc")' });
  });
  it('an unknown fault, a step that does not allocate, a task step: errors naming step and field', () => {
    const bad = err(base([mmap, { op: 'munmap', page: 0, pages: 1, fail: 'slab' }]));
    expect([bad.step, bad.field, bad.reason]).toEqual([1, 'fail', 'unknown fault string "slab" (known: prealloc)']);
    const touch = err(base([mmap, { op: 'touch', page: 0, pages: 1, fail: 'prealloc' }]));
    expect([touch.step, touch.field]).toEqual([1, 'fail']);
    expect(touch.reason).toMatch(/a fault can be injected into mmap, munmap, mprotect, madvise, mremap, not touch/);
    const task = err(base([mmap, { op: 'concurrent', tasks: [{ steps: [{ op: 'munmap', page: 0, pages: 1, fail: 'prealloc' }] }, { steps: [{ op: 'touch', page: 2, pages: 1 }] }] }]));
    expect(task.field).toBe('tasks[0].steps[0].fail');
    expect(task.reason).toMatch(/not allowed inside a concurrent task/);
  });
});

describe('parseScenario: errors name step and field', () => {
  const cases: [string, unknown[], number, string, RegExp][] = [
    ['unknown op', [{ op: 'frob' }], 0, 'op', /unknown op/],
    ['missing op', [{ page: 1 }], 0, 'op', /missing/],
    ['unknown field', [{ op: 'munmap', page: 0, pages: 1, prot: 'rw-' }], 0, 'prot', /unknown field/],
    ['missing field', [{ op: 'mmap', page: 0, pages: 1 }], 0, 'prot', /missing/],
    ['page out of range', [{ op: 'munmap', page: 64, pages: 1 }], 0, 'page', /\[0, 64\)/],
    ['negative page', [{ op: 'munmap', page: -1, pages: 1 }], 0, 'page', /integer/],
    ['fractional page', [{ op: 'munmap', page: 1.5, pages: 1 }], 0, 'page', /integer/],
    ['string page', [{ op: 'munmap', page: '1', pages: 1 }], 0, 'page', /integer/],
    ['negative pages', [{ op: 'munmap', page: 0, pages: -1 }], 0, 'pages', /\[0, 64\]/],
    ['page+pages', [{ op: 'munmap', page: 60, pages: 5 }], 0, 'pages', /exceeds arena.pages 64/],
    ['bad prot', [{ op: 'mmap', page: 0, pages: 1, prot: 'wr-' }], 0, 'prot', /\[r-\]\[w-\]\[x-\]/],
    ['long prot', [{ op: 'mprotect', page: 0, pages: 1, prot: 'rw-p' }], 0, 'prot', /3-character/],
    ['bool type', [{ op: 'mmap', page: 0, pages: 1, prot: 'rw-', shared: 1 }], 0, 'shared', /true or false/],
    ['unknown advice', [{ op: 'madvise', page: 0, pages: 1, advice: 'WILLNEED' }], 0, 'advice', /unknown advice/],
    ['bad access', [{ op: 'touch', page: 0, pages: 1, access: 'exec' }], 0, 'access', /"read" or "write"/],
    ['unknown flag', [{ op: 'mremap', page: 0, pages: 1, flags: ['MAYMOVE', 'NOPE'] }], 0, 'flags', /unknown flag/],
    ['dup flag', [{ op: 'mremap', page: 0, pages: 1, flags: ['MAYMOVE', 'MAYMOVE'] }], 0, 'flags', /duplicate/],
    ['FIXED without to', [{ op: 'mremap', page: 0, pages: 1, flags: ['MAYMOVE', 'FIXED'] }], 0, 'to', /FIXED flag needs/],
    ['to without FIXED', [{ op: 'mremap', page: 0, pages: 1, flags: ['MAYMOVE'], to: 3 }], 0, 'to', /needs the FIXED flag/],
    ['to out of range', [{ op: 'mremap', page: 0, pages: 1, flags: ['MAYMOVE', 'FIXED'], to: 64 }], 0, 'to', /\[0, 64\)/],
    ['to+newPages', [{ op: 'mremap', page: 0, pages: 1, newPages: 5, flags: ['MAYMOVE', 'FIXED'], to: 62 }], 0, 'to', /to \+ newPages = 67/],
    ['grow beyond arena', [{ op: 'mremap', page: 60, pages: 2, newPages: 8 }], 0, 'newPages', /page \+ newPages/],
    ['negative newPages', [{ op: 'mremap', page: 0, pages: 1, newPages: -1 }], 0, 'newPages', /\[0, 64\]/],
    ['proc never forked', [{ op: 'fork' }, { op: 'touch', proc: 2, page: 0, pages: 1 }], 1, 'proc', /process 2 does not exist.*live: 0, 1/],
    ['proc exited', [{ op: 'fork' }, { op: 'exit', proc: 1 }, { op: 'fork', proc: 1 }], 2, 'proc', /process 1 does not exist/],
    ['proc 0 exited', [{ op: 'exit' }, { op: 'touch', page: 0, pages: 1 }], 1, 'proc', /live: none/],
    ['bad proc type', [{ op: 'fork', proc: 'a' }], 0, 'proc', /integer/],
    ['snapshot label final', [{ op: 'snapshot', label: 'final' }], 0, 'label', /reserved/],
    ['duplicate label', [{ op: 'snapshot', label: 'a' }, { op: 'snapshot', label: 'a' }], 1, 'label', /duplicate/],
    ['empty label', [{ op: 'snapshot', label: '' }], 0, 'label', /non-empty/],
    ['thp extra pages', [{ op: 'thp', page: 0, pages: 512 }], 0, 'pages', /unknown field/],
    ['fork with page', [{ op: 'fork', page: 0 }], 0, 'page', /unknown field/],
    ['mlock onfault type', [{ op: 'mlock', page: 0, pages: 1, onfault: 'yes' }], 0, 'onfault', /true or false/],
    ['mlockall not an array', [{ op: 'mlockall', flags: 'CURRENT' }], 0, 'flags', /array of flag names/],
    ['mlockall unknown flag', [{ op: 'mlockall', flags: ['CURRENT', 'PAST'] }], 0, 'flags', /unknown flag string "PAST" \(known: CURRENT, FUTURE, ONFAULT\)/],
    ['mlockall dup flag', [{ op: 'mlockall', flags: ['FUTURE', 'FUTURE'] }], 0, 'flags', /duplicate/],
    ['munlockall with page', [{ op: 'munlockall', page: 0 }], 0, 'page', /unknown field/],
    ['mseal page+pages', [{ op: 'mseal', page: 60, pages: 5 }], 0, 'pages', /exceeds arena.pages 64/],
    ['anon_name without name', [{ op: 'anon_name', page: 0, pages: 1 }], 0, 'name', /missing/],
    ['anon_name with a space', [{ op: 'anon_name', page: 0, pages: 1, name: 'a b' }], 0, 'name', /1 to 79 characters/],
    ['mbind unknown mode', [{ op: 'mbind', page: 0, pages: 1, mode: 'SPREAD' }], 0, 'mode', /unknown mode string "SPREAD"/],
    ['mbind node out of range', [{ op: 'mbind', page: 0, pages: 1, mode: 'BIND', nodes: [63] }], 0, 'nodes', /\[0, 62\]/],
    ['mbind dup node', [{ op: 'mbind', page: 0, pages: 1, mode: 'BIND', nodes: [0, 0] }], 0, 'nodes', /duplicate node 0/],
    ['anon_name too long', [{ op: 'anon_name', page: 0, pages: 1, name: 'x'.repeat(80) }], 0, 'name', /1 to 79 characters/],
    ['prctl unknown option', [{ op: 'prctl', option: 'PR_SET_THP_DISABLE', value: 1 }], 0, 'option', /unknown option .*PR_SET_THP_DISABLE.*known: PR_SET_MEMORY_MERGE/],
    ['prctl without value', [{ op: 'prctl', option: 'PR_SET_MEMORY_MERGE' }], 0, 'value', /missing/],
    ['prctl value 2', [{ op: 'prctl', option: 'PR_SET_MEMORY_MERGE', value: 2 }], 0, 'value', /\[0, 1\]/],
    ['prctl with page', [{ op: 'prctl', option: 'PR_SET_MEMORY_MERGE', value: 1, page: 0 }], 0, 'page', /unknown field/],
    ['prctl of a dead proc', [{ op: 'prctl', proc: 1, option: 'PR_SET_MEMORY_MERGE', value: 1 }], 0, 'proc', /process 1 does not exist/],
  ];
  for (const [name, steps, step, field, re] of cases) {
    it(name, () => {
      const e = err(base(steps), 'scenarios/x.json');
      expect(e.step).toBe(step);
      expect(e.field).toBe(field);
      expect(e.file).toBe('scenarios/x.json');
      expect(e.message).toMatch(re);
      const op = (steps[step] as { op?: string }).op;
      const prefix = op && field !== 'op' ? `scenarios/x.json: step ${step} (${op}): field "${field}": ` : `scenarios/x.json: step ${step}`;
      expect(e.message.startsWith(prefix)).toBe(true);
    });
  }

  it('message format matches the contract', () => {
    const e = err(base([{ op: 'mremap', page: 0, pages: 1, flags: ['MAYMOVE', 'FIXED'], to: 4096 }], { arena: { pages: 4096 } }), 'scenarios/x.json');
    expect(e.message).toBe('scenarios/x.json: step 0 (mremap): field "to": must be an integer in [0, 4096), got number 4096');
  });

  it('a step that is not an object', () => {
    const e = err(base([42]));
    expect(e.step).toBe(0);
    expect(e.message).toMatch(/^step 0: a step must be an object/);
  });
});

describe('parseScenario: top-level errors', () => {
  it.each([
    [{ ...base([]), format: 'mmsim-scenario/2' }, 'format'],
    [{ ...base([]), extra: 1 }, 'extra'],
    [{ ...base([]), name: '' }, 'name'],
    [{ ...base([]), arena: { pages: 0 } }, 'arena.pages'],
    [{ ...base([]), arena: { pages: 1e9 } }, 'arena.pages'],
    [{ ...base([]), arena: { pages: 4, start: 0 } }, 'arena.start'],
    [{ ...base([]), steps: {} }, 'steps'],
    [{ ...base([]), description: 3 }, 'description'],
  ])('%# field %s', (input, field) => {
    const e = err(input, 'f.json');
    expect(e.field).toBe(field);
    expect(e.step).toBeUndefined();
    expect(e.message).toMatch(new RegExp(`^f\\.json: field "${field.replace('.', '\\.')}": `));
  });

  it('not an object', () => {
    expect(err([]).message).toMatch(/must be a JSON object/);
  });

  it('JSON syntax errors name file, line and column', () => {
    const e = err('{\n  "format": "mmsim-scenario/1",\n  "name": x\n}', 'scenarios/bad.json');
    expect(e.file).toBe('scenarios/bad.json');
    expect(e.message).toMatch(/^scenarios\/bad\.json(:3:\d+)?: invalid JSON/);
    if (e.line !== undefined) expect(e.line).toBe(3);
  });

  it('truncated JSON', () => {
    const e = err('{"format": ', 'a.json');
    expect(e.message).toMatch(/^a\.json.*invalid JSON/);
  });
});

describe('parseScenario: expectations', () => {
  const steps = [
    { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
    { op: 'snapshot', label: 'one' },
    { op: 'fork' },
    { op: 'exit', proc: 0 },
  ];
  it('accepts valid expectations and defaults proc to 0', () => {
    const s = parseScenario(
      base(steps, {
        expect: [
          { snapshot: 'one', vma: { contains: 1, start: 0, end: 4 } },
          { snapshot: 'final', proc: 1, vmaCount: 1 },
          { step: 0, result: { ok: true, page: 0 } },
          { step: 3, result: { ok: true } },
          { step: 2, result: { ok: false, errno: 'EAGAIN' } },
          { step: 2, result: { ok: false, signal: 'SIGSEGV', page: 3 } },
        ],
      }),
    );
    expect(s.expect![0]).toEqual({ snapshot: 'one', proc: 0, vma: { contains: 1, start: 0, end: 4 } });
  });
  it.each([
    [{ snapshot: 'nope', vmaCount: 1 }, 'expect[0].snapshot', /unknown snapshot label "nope"/],
    [{ snapshot: 'final', proc: 0, vmaCount: 1 }, 'expect[0].proc', /not live/],
    [{ snapshot: 'one', proc: 1, vmaCount: 1 }, 'expect[0].proc', /not live/],
    [{ step: 4, result: { ok: true } }, 'expect[0].step', /\[0, 4\)/],
    [{ step: 1, result: { ok: true } }, 'expect[0].step', /snapshot/],
    [{ step: 0 }, 'expect[0].result', /missing/],
    [{ step: 0, result: { ok: false } }, 'expect[0].result', /errno/],
    [{ step: 0, result: { ok: false, errno: 'nope' } }, 'expect[0].result.errno', /errno name/],
    [{ step: 0, result: { ok: true, page: 'x' } }, 'expect[0].result.page', /integer or null/],
    [{ step: 0, result: { ok: true }, extra: 1 }, 'expect[0].extra', /unknown field/],
    [{ snapshot: 'one', vma: { contains: 9, start: 0, end: 4 } }, 'expect[0].vma', /does not contain/],
    [{ snapshot: 'one', vma: { contains: 1, start: 0 } }, 'expect[0].vma.end', /missing/],
    [{ snapshot: 'one', vma: { contains: 1, start: 0, end: 4 }, vmaCount: 1 }, 'expect[0]', /exactly one/],
    [{ snapshot: 'one', vmaCount: -1 }, 'expect[0].vmaCount', /non-negative/],
    [{ foo: 1 }, 'expect[0]', /"step" or "snapshot"/],
  ])('%# %j', (e, field, re) => {
    const x = err(base(steps, { expect: [e] }), 's.json');
    expect(x.field).toBe(field);
    expect(x.message).toMatch(re);
    expect(x.message.startsWith(`s.json: field "${field}": `)).toBe(true);
  });
});

describe('parseScenario: VMA flags, kernel metadata and counted ranges', () => {
  const steps = [{ op: 'mmap', page: 0, pages: 4, prot: 'rw-' }];
  it('keeps perms, vmFlags in smaps order, a range, and the metadata `observe` asks for', () => {
    const s = parseScenario(
      base(steps, {
        observe: ['anonVma', 'pgoff'],
        expect: [
          { snapshot: 'final', vma: { contains: 1, start: 0, end: 4, perms: 'rw-p', vmFlags: ['mg', 'ac'], pgoff: 0, anonVma: null } },
          { snapshot: 'final', vmaCount: 1, range: [0, 2] },
        ],
      }),
    );
    expect(s.observe).toEqual(['pgoff', 'anonVma']);
    expect(s.expect![0]).toEqual({ snapshot: 'final', proc: 0, vma: { contains: 1, start: 0, end: 4, perms: 'rw-p', vmFlags: ['ac', 'mg'], pgoff: 0, anonVma: null } });
    expect(s.expect![1]).toEqual({ snapshot: 'final', proc: 0, vmaCount: 1, range: [0, 2] });
  });
  it.each([
    [{ expect: [{ snapshot: 'final', vma: { contains: 1, start: 0, end: 4, pgoff: 0 } }] }, 'expect[0].vma.pgoff', /needs "observe": \["pgoff"\]/],
    [{ observe: ['pgoff'], expect: [{ snapshot: 'final', vma: { contains: 1, start: 0, end: 4, anonVma: 'av1' } }] }, 'expect[0].vma.anonVma', /needs "observe": \["anonVma"\]/],
    [{ observe: ['pgoff', 'pgoff'] }, 'observe[1]', /twice/],
    [{ observe: ['vm_pgoff'] }, 'observe[0]', /one of "pgoff", "anonVma"/],
    [{ observe: 'pgoff' }, 'observe', /must be an array/],
    [{ expect: [{ snapshot: 'final', vma: { contains: 1, start: 0, end: 4, vmFlags: ['sd'] } }] }, 'expect[0].vma.vmFlags', /"lo", "sr", "rr", "dc", "lf", "ac"/],
    [{ expect: [{ snapshot: 'final', vma: { contains: 1, start: 0, end: 4, vmFlags: ['ac', 'ac'] } }] }, 'expect[0].vma.vmFlags', /twice/],
    [{ expect: [{ snapshot: 'final', vma: { contains: 1, start: 0, end: 4, perms: 'rw-' } }] }, 'expect[0].vma.perms', /"rw-p"/],
    [{ observe: ['anonVma'], expect: [{ snapshot: 'final', vma: { contains: 1, start: 0, end: 4, anonVma: 'f1' } }] }, 'expect[0].vma.anonVma', /"av1"/],
    [{ expect: [{ snapshot: 'final', vmaCount: 1, range: [2, 2] }] }, 'expect[0].range', /0 <= start < end <= 64/],
    [{ expect: [{ snapshot: 'final', vmaCount: 1, range: [0, 65] }] }, 'expect[0].range', /0 <= start < end <= 64/],
    [{ expect: [{ snapshot: 'final', vma: { contains: 1, start: 0, end: 4 }, range: [0, 4] }] }, 'expect[0].range', /goes with "vmaCount"/],
  ])('%# %j', (extra, field, re) => {
    const x = err(base(steps, extra), 's.json');
    expect(x.field).toBe(field);
    expect(x.message).toMatch(re);
  });
});

describe('parseScenario: kernel release and reverts', () => {
  it('keeps a 6.18 release and the fixes to revert', () => {
    const s = parseScenario(base([], { kernel: { release: '6.18.7', revert: ['vma-merge-next-pgoff'] } }));
    expect(s.kernel).toEqual({ release: '6.18.7', revert: ['vma-merge-next-pgoff'] });
  });
  it.each([
    [{ release: '6.17.3' }, 'kernel.release', /6\.18 release such as "6\.18\.7"/],
    [{ release: 7 }, 'kernel.release', /6\.18 release/],
    [{ revert: 'x' }, 'kernel.revert', /array of fix names/],
    [{ revert: ['Bad Name'] }, 'kernel.revert', /array of fix names/],
  ])('%# %j', (kernel, field, re) => {
    const x = err(base([], { kernel }), 's.json');
    expect(x.field).toBe(field);
    expect(x.message).toMatch(re);
  });
});
