import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from './index.js';

const base = (tasks: unknown, extra: unknown[] = []) => ({
  format: 'mmsim-scenario/1',
  name: 'c',
  arena: { pages: 64 },
  steps: [{ op: 'mmap', page: 0, pages: 8, prot: 'rw-', fixed: true }, ...extra, { op: 'concurrent', tasks }],
});

const err = (v: unknown): ScenarioError => {
  try {
    parseScenario(v, 'race.json');
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('parsed');
};

describe('the concurrent step', () => {
  it('parses tasks with syscall and kernel-side steps, defaults filled', () => {
    const s = parseScenario(
      base([
        { proc: 0, steps: [{ op: 'mremap', page: 0, pages: 8, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 32 }] },
        { steps: [{ op: 'rmap_walk', page: 3 }, { op: 'gup_fast', page: 3, pages: 1 }, { op: 'reclaim', page: 0, pages: 2 }, { op: 'touch', page: 1, pages: 1 }] },
      ]),
    );
    const c = s.steps[1];
    expect(c.op).toBe('concurrent');
    if (c.op !== 'concurrent') return;
    expect(c.tasks[0].steps[0]).toEqual({ op: 'mremap', proc: 0, page: 0, pages: 8, newPages: 8, flags: ['MAYMOVE', 'FIXED', 'RELOCATE_ANON'], to: 32 });
    expect(c.tasks[1].steps).toEqual([
      { op: 'rmap_walk', proc: 0, page: 3 },
      { op: 'gup_fast', proc: 0, page: 3, pages: 1, pin: true },
      { op: 'reclaim', proc: 0, page: 0, pages: 2 },
      { op: 'touch', proc: 0, page: 1, pages: 1, access: 'write' },
    ]);
  });

  it('fork, exit, snapshot and a per-step proc are errors inside a task, naming the field', () => {
    for (const op of ['fork', 'exit']) {
      const e = err(base([{ steps: [{ op }] }, { steps: [{ op: 'rmap_walk', page: 0 }] }]));
      expect(e.message).toMatch(new RegExp(`^race.json: step 1 \\(concurrent\\): field "tasks\\[0\\].steps\\[0\\].op": ${op} is not allowed inside a concurrent task`));
    }
    expect(err(base([{ steps: [{ op: 'snapshot', label: 'x' }] }, { steps: [{ op: 'rmap_walk', page: 0 }] }])).message).toMatch(/snapshot is not allowed/);
    expect(err(base([{ steps: [{ op: 'touch', page: 0, pages: 1, proc: 0 }] }, { steps: [{ op: 'rmap_walk', page: 0 }] }])).field).toBe('tasks[0].steps[0].proc');
  });

  it('a task step is validated like a top-level one, its field path prefixed', () => {
    const e = err(base([{ steps: [{ op: 'touch', page: 60, pages: 8 }] }, { steps: [{ op: 'rmap_walk', page: 0 }] }]));
    expect(e.field).toBe('tasks[0].steps[0].pages');
    expect(e.step).toBe(1);
    expect(err(base([{ steps: [{ op: 'gup_fast', page: 0, pages: 1, pin: 'yes' }] }, { steps: [{ op: 'rmap_walk', page: 0 }] }])).field).toBe('tasks[0].steps[0].pin');
    expect(err(base([{ steps: [{ op: 'rmap_walk', page: 64 }] }, { steps: [{ op: 'rmap_walk', page: 0 }] }])).field).toBe('tasks[0].steps[0].page');
  });

  it('needs 2 to 8 tasks of live processes', () => {
    expect(err(base([{ steps: [{ op: 'rmap_walk', page: 0 }] }])).reason).toMatch(/2 to 8 tasks, got 1/);
    const nine = Array.from({ length: 9 }, () => ({ steps: [{ op: 'rmap_walk', page: 0 }] }));
    expect(err(base(nine)).reason).toMatch(/got 9/);
    expect(err(base([{ proc: 1, steps: [{ op: 'rmap_walk', page: 0 }] }, { steps: [{ op: 'rmap_walk', page: 0 }] }])).reason).toMatch(/process 1 does not exist/);
    const ok = parseScenario(base([{ proc: 1, steps: [{ op: 'rmap_walk', page: 0 }] }, { steps: [{ op: 'rmap_walk', page: 0 }] }], [{ op: 'fork' }]));
    expect(ok.steps[2].op).toBe('concurrent');
  });

  it('hostile input: non-object tasks and steps are errors, not crashes', () => {
    expect(err(base(null)).field).toBe('tasks');
    expect(err(base([1, 2])).field).toBe('tasks[0]');
    expect(err(base([{ steps: 'x' }, { steps: [] }])).field).toBe('tasks[0].steps');
    expect(err(base([{ steps: [null] }, { steps: [{ op: 'rmap_walk', page: 0 }] }])).field).toBe('tasks[0].steps[0]');
  });
});
