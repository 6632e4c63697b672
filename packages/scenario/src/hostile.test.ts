/**
 * Hostile scenario files get a clear ScenarioError: inherited property names as step
 * fields, duplicate keys, deep nesting, huge values (never echoed whole), files past
 * the size limit, `access: null`.
 */
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, MAX_SCENARIO_BYTES, ScenarioError, parseScenario, scanJson } from './index.js';

const text = (steps: string, extra = '') =>
  `{"format":"mmsim-scenario/1","name":"t","arena":{"pages":64},"steps":[${steps}]${extra}}`;

function err(input: unknown, file = 'h.json'): ScenarioError {
  try {
    parseScenario(input, file);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw new Error(`not a ScenarioError: ${String(e)}`);
    return e;
  }
  throw new Error('expected a ScenarioError');
}

describe('hostile scenarios', () => {
  it('inherited names (constructor, toString, __proto__, hasOwnProperty) are unknown step fields', () => {
    for (const k of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const e = err(text(`{"op":"mmap","page":0,"pages":1,"prot":"rw-","${k}":1}`));
      expect(e.field, k).toBe(k);
      expect(e.step).toBe(0);
      expect(e.message).toContain('unknown field for op "mmap"');
    }
    // in an expectation too
    const e = err(text('{"op":"mmap","page":0,"pages":1,"prot":"rw-"}', ',"expect":[{"constructor":0,"snapshot":"final","vmaCount":1}]'));
    expect(e.message).toMatch(/unknown field/);
  });

  it('duplicate keys are refused with their line and column, also when spelled with escapes', () => {
    const e = err(`{"format":"mmsim-scenario/1","name":"t",\n"arena":{"pages":64},"steps":[{"op":"touch","page":0,"pages":1,"page":5}]}`);
    expect(e.reason).toMatch(/duplicate key "page" in steps\[0\]/);
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/^h\.json:2:\d+: /);
    const esc = err(text('{"op":"fork"}', ',"n\\u0061me":"again"'));
    expect(esc.reason).toMatch(/duplicate key "name"/);
    // the same key in two different objects is fine
    expect(() => parseScenario(text('{"op":"mmap","page":0,"pages":1,"prot":"rw-"},{"op":"touch","page":0,"pages":1}'))).not.toThrow();
  });

  it('deep nesting is refused before parsing, also as name or description', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    for (const where of ['name', 'description']) {
      const e = err(`{"format":"mmsim-scenario/1","${where}":${deep(100_000)},"arena":{"pages":64},"steps":[]}`);
      expect(e.reason).toMatch(new RegExp(`nested deeper than ${MAX_JSON_DEPTH} levels .*at ${where}`));
    }
    // a deep object given as a value (not text): a short description, no RangeError
    let o: unknown = 1;
    for (let i = 0; i < 100_000; i++) o = { a: o };
    const e = err({ format: 'mmsim-scenario/1', name: o, arena: { pages: 64 }, steps: [] });
    expect(e.message).toBe('h.json: field "name": must be a non-empty string, got an object with key "a"');
    const d = err({ format: 'mmsim-scenario/1', name: 'x', description: o, arena: { pages: 64 }, steps: [] });
    expect(d.field).toBe('description');
    // the scan says where; a scenario's own depth (5) is far from the limit
    expect(scanJson('{"a":[[1]]}', 2).tooDeep?.reason).toMatch(/at a\[0\]/);
  });

  it('a huge bad value is quoted by a short prefix only', () => {
    const big = 'x'.repeat(5_000_000);
    const e = err(text(`{"op":"mmap","page":0,"pages":1,"prot":"${big}"}`));
    expect(e.message.length).toBeLessThan(300);
    expect(e.message).toContain('(5000000 characters)');
    const k = err(text(`{"op":"fork","${big}":1}`));
    expect(k.message.length).toBeLessThan(300);
    const arr = err(text(`{"op":"mmap","page":0,"pages":1,"prot":[${'1,'.repeat(100000)}1]}`));
    expect(arr.reason).toMatch(/got an array of 100001$/);
  });

  it('files past the size limit are refused with the limit named', () => {
    const e = err(' '.repeat(MAX_SCENARIO_BYTES + 1));
    expect(e.message).toMatch(/64\.0 MiB of text, more than the limit of 64 MiB/);
  });

  it('access: null is not "write"', () => {
    const e = err(text('{"op":"mmap","page":0,"pages":1,"prot":"rw-"},{"op":"touch","page":0,"pages":1,"access":null}'));
    expect(e).toMatchObject({ step: 1, field: 'access' });
    expect(e.reason).toBe('must be "read" or "write", got null');
    expect(parseScenario(text('{"op":"mmap","page":0,"pages":1,"prot":"rw-"},{"op":"touch","page":0,"pages":1}')).steps[1]).toMatchObject({ access: 'write' });
  });
});
