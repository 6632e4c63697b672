/**
 * The bug zoo (scenarios/zoo, docs/bug-zoo.md): kernel bugs that shipped, each a scenario
 * under the kernel that has it. `mmsim run --check` must report each with the entry's
 * checker, first inside the kernel function where the state first goes wrong, and exit
 * 3; the same steps under the fixed kernel must be clean.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './testing/harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ZOO = join(ROOT, 'scenarios/zoo');

interface Entry {
  scenario: string;
  bug: string;
  introduced: string;
  fixed: string;
  has: string;
  fixedBy: Record<string, unknown>;
  checker: string;
  firstIn: string;
  also: string[];
  /** a race: the schedule that shows it (the fixed kernel is run under it too) */
  schedule?: string;
}
const index = JSON.parse(readFileSync(join(ZOO, 'index.json'), 'utf8')) as { format: string; entries: Entry[] };
const dir = tmp('mmsim-zoo-');

/** `[checker] seq N in SPAN > SPAN: message` lines of the human --check output, in order */
function violations(out: string): { checker: string; seq: number; path: string }[] {
  return [...out.matchAll(/^\s+\[([\w-]+)\] seq (\d+) in (.+?): /gm)].map((m) => ({ checker: m[1], seq: Number(m[2]), path: m[3] }));
}

describe('the bug zoo', () => {
  it('has at least six entries, each documented in docs/bug-zoo.md', () => {
    expect(index.format).toBe('mmsim-bug-zoo/1');
    expect(index.entries.length).toBeGreaterThanOrEqual(6);
    const doc = readFileSync(join(ROOT, 'docs/bug-zoo.md'), 'utf8');
    for (const e of index.entries) expect(doc, e.scenario).toContain(`scenarios/zoo/${e.scenario}`);
  });

  for (const e of index.entries) {
    it(`${e.scenario}: caught by ${e.checker} in ${e.firstIn}; clean once fixed`, async () => {
      const file = join(ZOO, e.scenario);
      const sched = e.schedule === undefined ? [] : ['--schedule', e.schedule];
      const bad = await cli(['run', file, '--check', '--kernel-config', 'stock', ...sched], dir);
      expect(bad.code, bad.out + bad.err).toBe(3);
      const found = violations(bad.out + bad.err);
      expect(found.length).toBeGreaterThan(0);
      const first = found.reduce((a, b) => (b.seq < a.seq ? b : a));
      expect(first.checker).toBe(e.checker);
      expect(first.path.split(' > ')).toContain(e.firstIn);
      for (const c of e.also) expect(found.map((v) => v.checker)).toContain(c);

      const s = JSON.parse(readFileSync(file, 'utf8')) as { kernel: Record<string, unknown> };
      s.kernel = { ...s.kernel, ...e.fixedBy };
      const fixedFile = join(dir, `fixed-${e.scenario}`);
      writeFileSync(fixedFile, JSON.stringify(s));
      const good = await cli(['run', fixedFile, '--check', '--kernel-config', 'stock', '-q', ...sched], dir);
      expect(good.out + good.err).toContain('0 invariant violations');
      expect(good.code).toBe(0);
    });
  }

  it('diff calls a zoo entry not comparable with this machine, and says which fix differs', async () => {
    const r = await cli(['diff', join(ZOO, 'cve-2026-23077-prev-unfaulted.json')], dir);
    expect(r.out).toMatch(/not comparable: the run is Linux 6\.18\.7, whose code differs from this machine's 6\.18\.\d+: mm\/vma: fix anon_vma UAF/);
    const p = await cli(['diff', join(ZOO, 'vma-merge-next-pgoff.json')], dir);
    expect(p.out).toContain('not comparable: the run reverts vma-merge-next-pgoff');
  });
});
