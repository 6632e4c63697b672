/**
 * docs/writing-a-strategy-plugin.md shows the pack test's files in full: every code
 * block after a `<!-- source: PATH -->` comment must equal that file (the test file's
 * imports of '../consumer/X' read './X' in the guide, as in a plugin author's project).
 * After changing a file, paste it into the guide again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '@mmsim/cli';
import { ROOT } from './packs.js';

const GUIDE = 'docs/writing-a-strategy-plugin.md';
const text = readFileSync(join(ROOT, GUIDE), 'utf8');
const blocks = [...text.matchAll(/<!-- source: (\S+)[^>]*-->\n```\w*\n([\s\S]*?)\n```/g)].map((m) => ({ path: m[1], code: m[2] }));

describe(GUIDE, () => {
  it('shows the strategy, the checker, the scenario, the script and the test', () => {
    expect(blocks.map((b) => b.path)).toEqual(
      expect.arrayContaining([
        'tools/pack-test/consumer/max-move.ts',
        'tools/pack-test/consumer/vma-limit.ts',
        'tools/pack-test/consumer/scenario.json',
        'tools/pack-test/consumer/run.ts',
        'tools/pack-test/src/max-move.test.ts',
      ]),
    );
  });

  it.each(blocks.map((b) => [b.path, b] as const))('the block of %s is the file', (path, b) => {
    expect(existsSync(join(ROOT, path)), path).toBe(true);
    const file = readFileSync(join(ROOT, path), 'utf8').replaceAll("'../consumer/", "'./").trimEnd();
    expect(b.code).toBe(file);
  });

  it("gives the CLI's exit codes: a violation 3, a failed expectation 1, a plugin's failure 4", () => {
    // each sentence that names an exit status, by what it is about (the first topic found)
    const topics: [RegExp, number][] = [
      [/violation/, EXIT.VIOLATIONS],
      [/expectation/, EXIT.MISMATCH],
      [/cannot be loaded|bad input/, EXIT.BAD_INPUT],
      [/plugin|throws/, EXIT.PLUGIN],
    ];
    const said = [...text.replace(/```[\s\S]*?```/g, '').matchAll(/[^.]*?\bexit(?: status| code is)? (\d+)[^.]*/g)].map((m) => ({ sentence: m[0].replace(/\s+/g, ' ').trim(), code: Number(m[1]) }));
    expect(said.length).toBeGreaterThanOrEqual(4);
    for (const { sentence, code } of said) {
      const topic = topics.find(([re]) => re.test(sentence));
      expect(topic, sentence).toBeDefined();
      expect(code, sentence).toBe(topic![1]);
    }
  });

  it('links only to files that exist', () => {
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(m[1])) continue;
      expect(existsSync(join(ROOT, 'docs', m[1])), m[1]).toBe(true);
    }
  });
});
