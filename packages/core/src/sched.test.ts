import { describe, expect, it } from 'vitest';
import { finished, runTask, type KGen } from './sched.js';

describe('finished', () => {
  it('is a KGen that has already returned its value: yield* gives it, nothing is yielded', () => {
    const yielded: number[] = [];
    function* caller(): KGen<number> {
      const v = yield* finished(41);
      return v + 1;
    }
    const g = caller();
    let r = g.next();
    while (!r.done) {
      yielded.push(r.value);
      r = g.next();
    }
    expect(r.value).toBe(42);
    expect(yielded).toEqual([]);
  });

  it('one instance serves many callers (it keeps no state)', () => {
    const ok = finished('ok');
    expect(runTask(ok)).toBe('ok');
    expect(runTask(ok)).toBe('ok');
    function* twice(): KGen<string> {
      return (yield* ok) + (yield* ok);
    }
    expect(runTask(twice())).toBe('okok');
  });
});
