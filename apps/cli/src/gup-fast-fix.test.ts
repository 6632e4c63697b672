/**
 * The GUP-fast finding, carried to its fix (docs/findings/gup-fast-relocate-anon.md):
 * the series as it converged (`fixed`) lets FOLL_PIN GUP-fast pin a folio whose index and
 * mapping it then rewrites, in both windows (check -> rewrite, and forward rewrite ->
 * undo); the `wp-seq` variant, the relocation inside mm->write_protect_seq as fork does
 * it, explores both files complete with no violation.
 */
import { describe, expect, it } from 'vitest';
import { cli } from './testing/harness.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

const FILES = {
  'check -> rewrite': 'scenarios/races/relocate-vs-gup-fast.json',
  'forward rewrite -> undo': 'scenarios/races/relocate-undo-vs-gup-fast.json',
};

async function explore(file: string, variant: string): Promise<{ code: number; complete: boolean; messages: string[] }> {
  const r = await cli(['explore', file, '--relocate-variant', variant, '--bound', '3', '--json'], ROOT);
  const j = JSON.parse(r.out) as { complete: boolean; violations: { checker: string; message: string }[] };
  return { code: r.code, complete: j.complete, messages: j.violations.map((v) => `[${v.checker}] ${v.message}`) };
}

describe('GUP-fast against MREMAP_RELOCATE_ANON', () => {
  for (const [window, file] of Object.entries(FILES)) {
    it(`${window}: fixed pins a folio it rewrites; wp-seq is clean`, async () => {
      const bad = await explore(file, 'fixed');
      expect(bad.code).toBe(3);
      expect(bad.messages.join('\n')).toMatch(/\[rmap\] (mapping|index) of pinned folio \d+ rewritten/);
      const fix = await explore(file, 'wp-seq');
      expect(fix).toEqual({ code: 0, complete: true, messages: [] });
    }, 300_000);
  }

  it('the second window is the undo: its schedule reproduces the rewrite inside relocate_anon_folios:undo', async () => {
    const file = FILES['forward rewrite -> undo'];
    const r = await cli(['explore', file, '--relocate-variant', 'fixed', '--bound', '3', '--json'], ROOT);
    const j = JSON.parse(r.out) as { violations: { message: string; schedule: string }[] };
    const index = j.violations.find((v) => v.message.startsWith('index of pinned folio'));
    expect(index, JSON.stringify(j.violations)).toBeDefined();
    const again = await cli(['run', file, '--relocate-variant', 'fixed', '--schedule', index!.schedule, '--check', '--quiet'], ROOT);
    expect(again.code).toBe(3);
    expect(again.err).toMatch(/relocate_anon_folios:undo: index of pinned folio \d+ rewritten/);
  }, 300_000);
});
