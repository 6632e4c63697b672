import { describe, expect, it } from 'vitest';
import { parseScenario } from '@mmsim/scenario';
import { hostKernelConfig, oracleAvailable, parseHostKernelConfig, runOnKernel } from './index.js';

describe('parseHostKernelConfig', () => {
  it('reads pvm_no_zero_page, the THP mode and the vm sysctls', () => {
    expect(
      parseHostKernelConfig({
        cmdline: 'console=ttyS0 quiet pvm_no_zero_page=1 tsc=unstable',
        thpEnabled: 'always [madvise] never',
        useZeroPage: '1',
        maxMapCount: '65530',
        overcommit: '0',
      }),
    ).toEqual({ faultZeroPage: false, thp: 'madvise', useZeroPage: true, maxMapCount: 65530, overcommit: 0 });
    expect(parseHostKernelConfig({ cmdline: 'quiet pvm_no_zero_page=0', thpEnabled: '[always] madvise never' })).toEqual({
      faultZeroPage: true,
      thp: 'always',
    });
    // a parameter that only starts alike is not it
    expect(parseHostKernelConfig({ cmdline: 'xpvm_no_zero_page=1' }).faultZeroPage).toBe(true);
    expect(parseHostKernelConfig({})).toEqual({});
  });
});

describe('hostKernelConfig describes this machine', () => {
  if (!oracleAvailable()) throw new Error('the kernel oracle cannot run here: these tests need Linux, root and gcc');
  const host = hostKernelConfig();

  it('a read fault maps the zero page exactly when faultZeroPage says so', async () => {
    const s = parseScenario({
      format: 'mmsim-scenario/1',
      name: 'host-zero-page',
      arena: { pages: 16 },
      steps: [
        { op: 'mmap', page: 0, pages: 2, prot: 'r--' },
        { op: 'touch', page: 0, pages: 1, access: 'read' },
      ],
    });
    const o = await runOnKernel(s);
    const page = o.snapshots[0].procs[0].pages[0];
    expect(page.frame === 'zero').toBe(host.faultZeroPage !== false);
    expect(page.exclusive).toBe(host.faultZeroPage === false);
  });

  it('a THP split maps its zero-filled subpages to the zero page either way', async () => {
    const s = parseScenario({
      format: 'mmsim-scenario/1',
      name: 'host-split-zero',
      arena: { pages: 1024 },
      steps: [
        { op: 'mmap', page: 512, pages: 512, prot: 'rw-' },
        { op: 'madvise', page: 512, pages: 512, advice: 'HUGEPAGE' },
        { op: 'touch', page: 512, pages: 1 },
        { op: 'madvise', page: 512, pages: 100, advice: 'FREE' },
      ],
    });
    const o = await runOnKernel(s);
    const pages = o.snapshots[0].procs[0].pages;
    if (host.thp === 'never') throw new Error('THP is [never] here: this test needs madvise or always');
    expect(pages[0]).toMatchObject({ page: 512, compound: null, exclusive: true });
    expect(pages.slice(1).every((p) => p.frame === 'zero' && p.compound === null)).toBe(true);
  });
});
