import type { PageObservation, ProcSnapshot, VmaObservation } from './types.js';

/** One arena page as a backend sees it, before frames get their canonical names. */
export interface RawPage {
  page: number;
  present: boolean;
  swapped: boolean;
  /**
   * Backend identity of the physical page: `'zero'` for the shared zero page,
   * otherwise any string/number/bigint (a PFN, a simulator folio id...) that is
   * equal for two pages exactly when they share a physical page; `null` when not present.
   */
  rawFrame: string | number | bigint | null;
  compound: 'head' | 'tail' | null;
  exclusive: boolean;
}

/** One VMA as a backend sees it: `anonVma` is any identity (an id, an address) until named. */
export type RawVma = Omit<VmaObservation, 'anonVma'> & { anonVma?: string | number | null };

export interface RawProcSnapshot {
  proc: number;
  vmas: readonly RawVma[];
  pages: readonly RawPage[];
}

/**
 * Builds the `procs` of one snapshot: sorts processes and VMAs/pages ascending, keeps
 * only pages that are present or swapped, and names frames `"zero"` / `"f1"`, `"f2"`, ...
 * in order of first appearance (processes ascending, then pages ascending).
 * Frames are named across all processes of the snapshot, so shared pages share names;
 * anon_vmas (where a backend reports them) are named `"av1"`, `"av2"`, ... the same way.
 */
export function canonicalizeSnapshot(procs: readonly RawProcSnapshot[]): ProcSnapshot[] {
  const names = new Map<string, string>();
  const anonVmas = new Map<string, string>();
  const anonVmaName = (raw: string | number | null): string | null => {
    if (raw === null) return null;
    const key = `${typeof raw}:${String(raw)}`;
    let name = anonVmas.get(key);
    if (name === undefined) anonVmas.set(key, (name = `av${anonVmas.size + 1}`));
    return name;
  };
  const sorted = [...procs].sort((a, b) => a.proc - b.proc);
  for (let k = 1; k < sorted.length; k++)
    if (sorted[k].proc === sorted[k - 1].proc) throw new Error(`canonicalizeSnapshot: process ${sorted[k].proc} listed twice`);
  return sorted.map((p) => {
    const pages: PageObservation[] = [];
    const raw = [...p.pages].sort((a, b) => a.page - b.page);
    for (const r of raw) {
      if (!r.present && !r.swapped) continue;
      let frame: string | null = null;
      if (r.present && r.rawFrame !== null) {
        if (r.rawFrame === 'zero') frame = 'zero';
        else {
          const key = `${typeof r.rawFrame}:${String(r.rawFrame)}`;
          frame = names.get(key) ?? null;
          if (frame === null) {
            frame = `f${names.size + 1}`;
            names.set(key, frame);
          }
        }
      }
      pages.push({
        page: r.page,
        present: r.present,
        swapped: r.swapped,
        frame,
        compound: r.compound,
        exclusive: r.exclusive,
      });
    }
    const vmas = [...p.vmas]
      .sort((a, b) => a.start - b.start || a.end - b.end)
      .map((v) => {
        const o: VmaObservation = { start: v.start, end: v.end, perms: v.perms, vmFlags: v.vmFlags };
        if (v.pgoff !== undefined) o.pgoff = v.pgoff;
        if (v.anonVma !== undefined) o.anonVma = anonVmaName(v.anonVma);
        return o;
      });
    return { proc: p.proc, vmas, pages };
  });
}
