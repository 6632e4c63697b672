import { describe, expect, it } from 'vitest';
import { cli } from './testing/harness.js';

const COMMANDS = ['run', 'replay', 'events', 'inspect', 'stats', 'export', 'diff', 'oracle', 'demo', 'record', 'trace'];

describe('mmsim --help', () => {
  it('lists every command and the exit codes', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.out).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.out).toContain('Exit codes:');
    expect(r.out).toContain('$ mmsim demo');
  });

  it('prints help with no arguments', async () => {
    const r = await cli([]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: mmsim');
  });

  it.each(COMMANDS)('%s --help has a description and at least two examples', async (c) => {
    const r = await cli([c, '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Usage: mmsim ${c}`);
    const desc = r.out.split('\n')[2];
    expect(desc.length).toBeGreaterThan(20);
    expect(r.out).toContain('Examples:');
    expect(r.out.match(/^ {2}\$ (sudo )?mmsim /gm)!.length).toBeGreaterThanOrEqual(2);
  });

  it('documents the event types in events --help', async () => {
    const r = await cli(['events', '--help']);
    expect(r.out).toContain('pte_set');
    expect(r.out).toContain('anon_vma_create');
  });

  it('prints the version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('refuses an unknown command and an unknown option with exit 2', async () => {
    const a = await cli(['frobnicate']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/unknown command 'frobnicate'/);
    const b = await cli(['stats', 'x.mmlog', '--bogus']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/unknown option '--bogus'/);
    const c = await cli(['inspect']);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/missing required argument/);
  });
});
