import type { Vma } from '@mmsim/core';
import type { Kernel } from './kernel.js';

/** vma_lookup(mm, addr): the VMA containing vpn */
export function vmaLookupIn(k: Kernel, mm: number, vpn: number): Vma | undefined {
  return k.vmaAt(mm, vpn);
}
