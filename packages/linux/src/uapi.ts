/**
 * The byte-level syscall entries of the mm calls: the checks the kernel makes on the
 * raw 64-bit arguments (unsigned long, in bytes) before anything works in pages. The
 * model's do* functions take page numbers; a real program may pass any 64-bit value
 * (stress-ng's mremap(..., MREMAP_FIXED, ~0UL), munmap(p, (size_t)-4096)), and those
 * must fail with the kernel's errno, computed exactly (bigint: no double holds 2^64-1).
 *
 * Each function returns -errno, or the call's arguments in pages for the do* function
 * (every page number of a 64-bit byte value is below 2^52: exact as a number).
 */
import { EINVAL, ENOMEM } from './errno.js';

const PAGE = 4096n;
const MASK64 = (1n << 64n) - 1n;
/** x86-64 TASK_SIZE_MAX, (1 << 47) - PAGE_SIZE (arch/x86/include/asm/page_64_types.h), 4-level paging */
export const TASK_SIZE_BYTES = (1n << 47n) - PAGE;

/** PAGE_ALIGN() on an unsigned long: wraps to 0 at the top */
const pageAlign = (x: bigint): bigint => (x + PAGE - 1n) & ~(PAGE - 1n) & MASK64;
const offsetInPage = (x: bigint): boolean => (x & (PAGE - 1n)) !== 0n;
const pages = (x: bigint): number => Number(x >> 12n);

const MREMAP_FIXED = 2n;
const MREMAP_DONTUNMAP = 4n;

export interface MremapPages {
  addr: number;
  oldLen: number;
  newLen: number;
  /** the low 32 bits (the model's own flag check refuses the unknown ones) */
  flags: number;
  /** 0 unless MREMAP_FIXED or MREMAP_DONTUNMAP: the kernel ignores it then */
  newAddr: number;
}

/**
 * do_mremap()'s PAGE_ALIGN of both lengths and check_mremap_params()' byte checks
 * (mm/mremap.c): unknown flags, offset_in_page(addr), new_len 0 or > TASK_SIZE, and for
 * a call that implies a new address, new_addr > TASK_SIZE - new_len or unaligned. The
 * page-level checks (MAYMOVE, DONTUNMAP, overlap, map count) stay in doMremap.
 */
export function mremapArgs(addr: bigint, oldLen: bigint, newLen: bigint, flags: bigint, newAddr: bigint): number | MremapPages {
  if (flags > 0xffffffffn) return -EINVAL;
  if (offsetInPage(addr)) return -EINVAL;
  const oldA = pageAlign(oldLen);
  const newA = pageAlign(newLen);
  if (!newA) return -EINVAL;
  if (newA > TASK_SIZE_BYTES) return -EINVAL;
  const implies = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0n;
  if (implies && (newAddr > TASK_SIZE_BYTES - newA || offsetInPage(newAddr))) return -EINVAL;
  return { addr: pages(addr), oldLen: pages(oldA), newLen: pages(newA), flags: Number(flags), newAddr: implies ? pages(newAddr) : 0 };
}

/** do_vmi_munmap() (mm/vma.c): unaligned start, start or len beyond TASK_SIZE, nothing to unmap */
export function munmapArgs(start: bigint, len: bigint): number | { vpn: number; pages: number } {
  if (offsetInPage(start) || start > TASK_SIZE_BYTES || len > TASK_SIZE_BYTES - start) return -EINVAL;
  const n = pageAlign(len);
  if (!n) return -EINVAL;
  return { vpn: pages(start), pages: pages(n) };
}

const PROT_SEM = 0x8n;
const PROT_GROWSDOWN = 0x01000000n;
const PROT_GROWSUP = 0x02000000n;

/**
 * do_mprotect_pkey() (mm/mprotect.c) before the lock: both PROT_GROWS* bits, an
 * unaligned start, len 0 (success, nothing done: pages 0), a range that wraps (ENOMEM),
 * prot bits arch_validate_prot() refuses. prot comes back without PROT_GROWS*.
 */
export function mprotectArgs(start: bigint, len: bigint, prot: bigint): number | { vpn: number; pages: number; prot: number } {
  const grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
  prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return -EINVAL;
  if (offsetInPage(start)) return -EINVAL;
  if (!len) return { vpn: pages(start), pages: 0, prot: Number(prot & 7n) };
  const n = pageAlign(len);
  const end = (start + n) & MASK64;
  if (end <= start) return -ENOMEM;
  // the generic arch_validate_prot() (x86 has no own)
  if (prot & ~(7n | PROT_SEM)) return -EINVAL;
  return { vpn: pages(start), pages: pages(n), prot: Number(prot & 7n) };
}

/** is_valid_madvise() / madvise_should_skip() (mm/madvise.c), the advice checked by the caller: pages 0 is success with nothing done */
export function madviseArgs(start: bigint, len: bigint): number | { vpn: number; pages: number } {
  if (offsetInPage(start)) return -EINVAL;
  const n = pageAlign(len);
  if (len && !n) return -EINVAL;
  if (start + n > MASK64) return -EINVAL;
  return { vpn: pages(start), pages: pages(n) };
}

const MAP_FIXED = 0x10n;
const MAP_FIXED_NOREPLACE = 0x100000n;

/**
 * The byte checks of an anonymous mmap(): x86 sys_mmap's offset_in_page(off), then
 * do_mmap()'s len 0 (EINVAL), PAGE_ALIGN(len) wrapping (ENOMEM), and __get_unmapped_area()'s len > TASK_SIZE and a fixed address
 * beyond TASK_SIZE - len (ENOMEM) or unaligned (EINVAL). A file mapping's fd checks
 * come between the first and the rest: the caller uses this for anonymous ones only.
 */
export function mmapArgs(addr: bigint, len: bigint, flags: bigint, off: bigint): number | { pages: number; pgoff: number } {
  if (offsetInPage(off)) return -EINVAL;
  if (!len) return -EINVAL;
  const n = pageAlign(len);
  if (!n) return -ENOMEM;
  // pgoff + pages (both below 2^52) cannot wrap here: no EOVERFLOW on 64-bit
  const pgoff = off >> 12n;
  if (n > TASK_SIZE_BYTES) return -ENOMEM;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (addr > TASK_SIZE_BYTES - n) return -ENOMEM;
    if (offsetInPage(addr)) return -EINVAL;
  }
  return { pages: pages(n), pgoff: Number(pgoff) };
}
