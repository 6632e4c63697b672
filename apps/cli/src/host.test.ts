/**
 * `--kernel-config`: `mmsim run` is configured as this machine's kernel by default, so
 * its observation equals the kernel oracle's; `stock` is Linux 6.18's defaults.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostKernelConfig, oracleAvailable, runOnKernel } from '@mmsim/kernel-oracle';
import { parseScenario } from '@mmsim/scenario';
import { cli, files, tmp } from './testing/harness.js';
import { scenarioJson } from './testing/fixtures.js';

if (!oracleAvailable()) throw new Error('the kernel oracle cannot run here: these tests need Linux, root and gcc');
const dir = tmp();
// read faults, a fork, a merge that depends on whether the read gave the VMA an anon_vma
const steps = [
  { op: 'mmap', page: 0, pages: 4, prot: 'rw-' },
  { op: 'touch', page: 0, pages: 2, access: 'read' },
  { op: 'mremap', page: 0, pages: 2, flags: ['MAYMOVE', 'FIXED'], to: 10 },
  { op: 'mmap', page: 12, pages: 2, prot: 'rw-' },
  { op: 'fork' },
  { op: 'touch', page: 10, pages: 1, access: 'write' },
];
files(dir, { 'read.json': scenarioJson(steps, { name: 'read-faults' }) });

describe('mmsim run --kernel-config', () => {
  it("host (the default) equals this machine's kernel", async () => {
    const r = await cli(['run', 'read.json', '--json'], dir);
    expect(r.code).toBe(0);
    const kernel = await runOnKernel(parseScenario(readFileSync(join(dir, 'read.json'), 'utf8'), 'read.json'));
    expect(JSON.parse(r.out)).toEqual(JSON.parse(JSON.stringify(kernel)));
  });

  it('stock maps the zero page on read faults; host does so only where the machine does', async () => {
    const frames = async (args: string[]) => {
      const r = await cli(['run', 'read.json', '--json', ...args], dir);
      expect(r.code).toBe(0);
      const o = JSON.parse(r.out);
      return o.snapshots[0].procs[0].pages.map((p: { frame: string }) => p.frame);
    };
    expect(await frames(['--kernel-config', 'stock'])).toContain('zero');
    expect((await frames([])).includes('zero')).toBe(hostKernelConfig().faultZeroPage !== false);
  });

  it('names the configuration in the human output and refuses a bad value', async () => {
    const r = await cli(['run', 'read.json'], dir);
    expect(r.err).toMatch(/kernel config: this machine's \(thp \w+, zero page on read faults (on|off)/);
    const bad = await cli(['run', 'read.json', '--kernel-config', 'mine'], dir);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--kernel-config must be "host" or "stock", got "mine"');
  });
});
