/**
 * Decoding the numbers in states and events for people: vm_flags as `rw-p` plus
 * names, PTE and folio flag bits, mapping kinds.
 */
import {
  FOLIO_ANON,
  FOLIO_DIRTY,
  FOLIO_KSM,
  FOLIO_LOCKED,
  FOLIO_PAE,
  FOLIO_SWAPCACHE,
  PTE_DIRTY,
  PTE_SOFT_DIRTY,
  PTE_SPECIAL,
  PTE_SWP_EXCLUSIVE,
  PTE_WRITE,
  PTE_YOUNG,
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_IO,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_MERGEABLE,
  VM_MIXEDMAP,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_SOFTDIRTY,
  VM_SYNC,
  VM_UFFD_MISSING,
  VM_WIPEONFORK,
  VM_SEALED,
  VM_SEQ_READ,
  VM_RAND_READ,
  VM_LOCKONFAULT,
  VM_WRITE,
} from '@mmsim/core';

/** As /proc/PID/maps: `rw-p`, `r--s`. */
export function vmPerms(flags: number): string {
  return (
    (flags & VM_READ ? 'r' : '-') +
    (flags & VM_WRITE ? 'w' : '-') +
    (flags & VM_EXEC ? 'x' : '-') +
    (flags & VM_MAYSHARE ? 's' : 'p')
  );
}

const VM_NAMES: [number, string][] = [
  [VM_READ, 'READ'],
  [VM_WRITE, 'WRITE'],
  [VM_EXEC, 'EXEC'],
  [VM_SHARED, 'SHARED'],
  [VM_MAYREAD, 'MAYREAD'],
  [VM_MAYWRITE, 'MAYWRITE'],
  [VM_MAYEXEC, 'MAYEXEC'],
  [VM_MAYSHARE, 'MAYSHARE'],
  [VM_GROWSDOWN, 'GROWSDOWN'],
  [VM_UFFD_MISSING, 'UFFD_MISSING'],
  [VM_PFNMAP, 'PFNMAP'],
  [VM_SEALED, 'SEALED'],
  [VM_LOCKED, 'LOCKED'],
  [VM_IO, 'IO'],
  [VM_SEQ_READ, 'SEQ_READ'],
  [VM_RAND_READ, 'RAND_READ'],
  [VM_DONTCOPY, 'DONTCOPY'],
  [VM_DONTEXPAND, 'DONTEXPAND'],
  [VM_LOCKONFAULT, 'LOCKONFAULT'],
  [VM_ACCOUNT, 'ACCOUNT'],
  [VM_NORESERVE, 'NORESERVE'],
  [VM_HUGETLB, 'HUGETLB'],
  [VM_SYNC, 'SYNC'],
  [VM_WIPEONFORK, 'WIPEONFORK'],
  [VM_DONTDUMP, 'DONTDUMP'],
  [VM_SOFTDIRTY, 'SOFTDIRTY'],
  [VM_MIXEDMAP, 'MIXEDMAP'],
  [VM_HUGEPAGE, 'HUGEPAGE'],
  [VM_NOHUGEPAGE, 'NOHUGEPAGE'],
  [VM_MERGEABLE, 'MERGEABLE'],
];

/** Names of the vm_flags bits set (VM_ prefix dropped); unknown bits as hex. */
export function vmFlagNames(flags: number): string[] {
  const out: string[] = [];
  let known = 0;
  for (const [bit, name] of VM_NAMES) {
    if ((flags & bit) !== 0) out.push(name);
    known |= bit;
  }
  const rest = (flags & ~known) >>> 0;
  if (rest) out.push(`0x${rest.toString(16)}`);
  return out;
}

const PTE_NAMES: [number, string][] = [
  [PTE_WRITE, 'write'],
  [PTE_DIRTY, 'dirty'],
  [PTE_YOUNG, 'young'],
  [PTE_SPECIAL, 'special'],
  [PTE_SOFT_DIRTY, 'soft-dirty'],
  [PTE_SWP_EXCLUSIVE, 'swp-exclusive'],
];

/** PTE_* bits (present is implied for present entries) */
export function pteFlagNames(flags: number): string[] {
  return PTE_NAMES.filter(([b]) => flags & b).map(([, n]) => n);
}

/** Short form: `w d y` letters, `-` for unset: `wdy--` */
export function pteFlagLetters(flags: number): string {
  return (
    (flags & PTE_WRITE ? 'w' : '-') +
    (flags & PTE_DIRTY ? 'd' : '-') +
    (flags & PTE_YOUNG ? 'y' : '-') +
    (flags & PTE_SPECIAL ? 's' : '-') +
    (flags & PTE_SOFT_DIRTY ? 'S' : '-')
  );
}

const FOLIO_NAMES: [number, string][] = [
  [FOLIO_ANON, 'anon'],
  [FOLIO_KSM, 'ksm'],
  [FOLIO_SWAPCACHE, 'swapcache'],
  [FOLIO_LOCKED, 'locked'],
  [FOLIO_PAE, 'pae'],
  [FOLIO_DIRTY, 'dirty'],
];

export function folioFlagNames(flags: number): string[] {
  return FOLIO_NAMES.filter(([b]) => flags & b).map(([, n]) => n);
}

export const MAPPING_KINDS = ['none', 'anon_vma', 'shmem', 'ksm'] as const;

export function mappingName(kind: number, target: number): string {
  switch (kind) {
    case 0:
      return '-';
    case 1:
      return `av${target}`;
    case 2:
      return `shmem${target}`;
    case 3:
      return `ksm${target ? target : ''}`;
    default:
      return `kind${kind}:${target}`;
  }
}

export const hex = (n: number) => `0x${n.toString(16)}`;
