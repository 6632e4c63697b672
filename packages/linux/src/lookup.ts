import { vmaLookup, type Vma } from '@mmsim/core';
import type { Kernel } from './kernel.js';

/** vma_lookup(mm, addr): the VMA containing vpn */
export function vmaLookupIn(k: Kernel, mm: number, vpn: number): Vma | undefined {
  const v = vmaLookup(k.s, k.mm(mm), vpn);
  return v && k.vma(v.id);
}
