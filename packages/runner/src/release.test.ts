import { describe, expect, it } from 'vitest';
import { parseScenario } from '@mmsim/scenario';
import { runScenario } from './run.js';

describe('kernel releases in a run', () => {
  it("a scenario's kernel block picks the release; the log header records it", () => {
    const s = parseScenario({
      format: 'mmsim-scenario/1',
      name: 'r',
      arena: { pages: 16 },
      kernel: { release: '6.18.7', relocateAnon: 'none' },
      steps: [{ op: 'mmap', page: 0, pages: 1, prot: 'rw-' }],
    });
    expect(runScenario(s).header.config.kernel).toMatchObject({ release: '6.18.7' });
    expect(runScenario(s, { kernelOptions: { release: '6.18.8' } }).header.config.kernel).toMatchObject({ release: '6.18.8' });
    // without a release named, the header has none (logs of earlier runs stay byte-identical)
    const { kernel: _k, ...plain } = s;
    expect('release' in (runScenario(plain).header.config.kernel as object)).toBe(false);
  });
});
