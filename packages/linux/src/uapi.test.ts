/**
 * The byte-level checks against what this machine's kernel (6.18) returned for the same
 * arguments (packages/record/workloads/bigargs.c prints them; exact.test.ts records it
 * and compares the replay): the errno for each, and exact pages for what passes.
 */
import { describe, expect, it } from 'vitest';
import { EINVAL, ENOMEM } from './errno.js';
import { madviseArgs, mmapArgs, mprotectArgs, mremapArgs, munmapArgs } from './uapi.js';

const MAX = 2n ** 64n - 1n;
const TOP = 2n ** 64n - 4096n;
const P = 0x7f0000000000n;
const MB = 1n << 20n;

describe('byte-level syscall checks', () => {
  it('mremap: check_mremap_params on exact values', () => {
    expect(mremapArgs(P, MB, MB, 3n, MAX)).toBe(-EINVAL); // FIXED|MAYMOVE to ~0UL
    expect(mremapArgs(P, MB, MB, 3n, 2n ** 53n + 1n)).toBe(-EINVAL);
    expect(mremapArgs(P, MB, MAX, 1n, 0n)).toBe(-EINVAL); // PAGE_ALIGN(new_len) wraps to 0
    expect(mremapArgs(P, MB, TOP, 1n, 0n)).toBe(-EINVAL); // > TASK_SIZE
    expect(mremapArgs(P, MB, 2n * MB, 1n << 60n, 0n)).toBe(-EINVAL);
    expect(mremapArgs(P, MB, 0n, 1n, 0n)).toBe(-EINVAL);
    // old_len ~0UL wraps to 0 (doMremap then refuses a private mapping); addr -4096 passes (EFAULT later)
    expect(mremapArgs(P, MAX, 2n * MB, 1n, 0n)).toEqual({ addr: Number(P >> 12n), oldLen: 0, newLen: 512, flags: 1, newAddr: 0 });
    expect(mremapArgs(TOP, 4096n, 8192n, 1n, 0n)).toMatchObject({ addr: 2 ** 52 - 1 });
    // without MREMAP_FIXED new_addr is ignored, whatever it is
    expect(mremapArgs(P, MB, 2n * MB, 1n, MAX)).toEqual({ addr: Number(P >> 12n), oldLen: 256, newLen: 512, flags: 1, newAddr: 0 });
  });

  it('munmap, mprotect, madvise, mmap', () => {
    expect(munmapArgs(P, TOP)).toBe(-EINVAL);
    expect(munmapArgs(P, MAX)).toBe(-EINVAL);
    expect(munmapArgs(TOP, 4096n)).toBe(-EINVAL);
    expect(munmapArgs(P, 4097n)).toEqual({ vpn: Number(P >> 12n), pages: 2 });
    expect(mprotectArgs(P, TOP, 1n)).toBe(-ENOMEM); // the range wraps
    expect(mprotectArgs(P, 4096n, 1n << 60n)).toBe(-EINVAL);
    expect(mprotectArgs(P, 0n, 1n)).toEqual({ vpn: Number(P >> 12n), pages: 0, prot: 1 });
    expect(madviseArgs(P, TOP)).toBe(-EINVAL);
    expect(madviseArgs(P, MAX)).toBe(-EINVAL);
    expect(mmapArgs(0n, TOP, 0x22n, 0n)).toBe(-ENOMEM);
    expect(mmapArgs(TOP, 4096n, 0x32n, 0n)).toBe(-ENOMEM); // MAP_FIXED beyond TASK_SIZE
    // an anonymous mmap ignores a huge (aligned) offset and a hint it cannot use
    expect(mmapArgs(0n, 4096n, 0x22n, TOP)).toEqual({ pages: 1, pgoff: 2 ** 52 - 1 });
    expect(mmapArgs(TOP, 4096n, 0x22n, 0n)).toEqual({ pages: 1, pgoff: 0 });
  });
});
