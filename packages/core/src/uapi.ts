/**
 * The kernel's uapi numbers the model and the formats share: the model validates and
 * decodes with them, the scenario format names them, the kernel oracle passes them to the
 * real syscalls. Here, on the lowest floor, so that neither needs the other.
 */

/** madvise() advice values (include/uapi/asm-generic/mman-common.h). */
export const MADVISE_ADVICE = Object.freeze({
  NORMAL: 0,
  RANDOM: 1,
  SEQUENTIAL: 2,
  DONTNEED: 4,
  FREE: 8,
  DONTFORK: 10,
  DOFORK: 11,
  MERGEABLE: 12,
  UNMERGEABLE: 13,
  HUGEPAGE: 14,
  NOHUGEPAGE: 15,
  DONTDUMP: 16,
  DODUMP: 17,
  WIPEONFORK: 18,
  KEEPONFORK: 19,
  COLD: 20,
  PAGEOUT: 21,
  COLLAPSE: 25,
});

/** mremap() flag bits (include/uapi/linux/mman.h; 8 and 16 are the RELOCATE_ANON series'). */
export const MREMAP_FLAG_BITS = Object.freeze({
  MAYMOVE: 1,
  FIXED: 2,
  DONTUNMAP: 4,
  RELOCATE_ANON: 8,
  MUST_RELOCATE_ANON: 16,
});

/** mlock2() flags (include/uapi/asm-generic/mman-common.h). */
export const MLOCK_ONFAULT = 1;

/** mlockall() flags (include/uapi/asm-generic/mman.h). */
export const MLOCKALL_FLAG_BITS = Object.freeze({
  CURRENT: 1,
  FUTURE: 2,
  ONFAULT: 4,
});

/** mbind() / set_mempolicy() modes (include/uapi/linux/mempolicy.h). */
export const MPOL_MODES = Object.freeze({
  DEFAULT: 0,
  PREFERRED: 1,
  BIND: 2,
  INTERLEAVE: 3,
  LOCAL: 4,
  PREFERRED_MANY: 5,
  WEIGHTED_INTERLEAVE: 6,
});

/** prctl() options (include/uapi/linux/prctl.h). */
export const PRCTL_OPTION = Object.freeze({
  PR_SET_MEMORY_MERGE: 67,
  PR_GET_MEMORY_MERGE: 68,
});
