/**
 * Copies of the VMAs and anon_vmas the hot rmap checks read, kept while no event changes
 * a VMA, an anon_vma or a chain (`changed()`, on every STRUCTURE_EVENT): the state is an
 * immer draft during a syscall, and a fault-in or a relocation reads the same VMA for
 * every page.
 */
import { copyVma, shareAnonVma, vmaLookup, type AnonVma, type State, type Vma } from '@mmsim/core';

export class VmaCache {
  private structGen = 0;
  private cacheGen = -1;
  private readonly vmaCopies = new Map<number, Vma>();
  private readonly avCopies = new Map<number, AnonVma>();
  private readonly lastVmaOfMm = new Map<number, Vma>();
  private readonly vmaSigs = new Map<number, number>();
  private readonly sigIds = new Map<string, number>();

  /** A VMA, an anon_vma or a chain changed: forget the copies (lazily). */
  changed(): void {
    this.structGen++;
  }

  private syncCache(): void {
    if (this.cacheGen === this.structGen) return;
    this.cacheGen = this.structGen;
    this.vmaCopies.clear();
    this.avCopies.clear();
    this.lastVmaOfMm.clear();
    this.vmaSigs.clear();
  }

  vmaNow(s: State, id: number): Vma | undefined {
    return this.cached(this.vmaCopies, s.vmas, copyVma, id);
  }

  avNow(s: State, id: number): AnonVma | undefined {
    return this.cached(this.avCopies, s.anonVmas, shareAnonVma, id);
  }

  /** A record as of the state, copied once per structure generation into `cache`. */
  private cached<T>(cache: Map<number, T>, table: { get(id: number): T | undefined }, copy: (x: T) => T, id: number): T | undefined {
    this.syncCache();
    const c = cache.get(id);
    if (c) return c;
    const d = table.get(id);
    if (!d) return undefined;
    const v = copy(d);
    cache.set(id, v);
    return v;
  }

  /** vma_lookup(), remembering the last VMA found per mm */
  vmaAt(s: State, mmId: number, vpn: number): Vma | undefined {
    this.syncCache();
    const last = this.lastVmaOfMm.get(mmId);
    if (last && last.start <= vpn && vpn < last.end) return last;
    const mm = s.mms[mmId];
    if (!mm) return undefined;
    const found = vmaLookup(s, mm, vpn);
    if (!found) return undefined;
    const v = this.vmaNow(s, found.id)!;
    this.lastVmaOfMm.set(mmId, v);
    return v;
  }

  /** What checkLocation reads of a VMA, as a small positive number (same number: same mapping). */
  vmaSignature(v: Vma): number {
    this.syncCache();
    let sig = this.vmaSigs.get(v.id);
    if (sig !== undefined) return sig;
    const key = `${v.pgoff - v.start}:${v.anonVma}:${v.chain.slice().sort((a, b) => a - b).join(',')}`;
    sig = this.sigIds.get(key);
    if (sig === undefined) {
      sig = this.sigIds.size + 1;
      this.sigIds.set(key, sig);
    }
    this.vmaSigs.set(v.id, sig);
    return sig;
  }
}
