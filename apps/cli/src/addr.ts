/**
 * One address convention for everything the CLI prints: a virtual address is a byte
 * address in hex, as the kernel prints it (`0x10000028000`: vpn * 4096), and where a
 * scenario's arena is known, its arena page beside it (`0x10000028000 (page 40)`).
 * Page numbers are always labelled as pages; pfns as pfns. The debugger uses the same
 * form (`0x` + lowercase hex of vpn * 4096).
 */
export const PAGE_SIZE = 4096;

/** `0x10000028000` for vpn 0x10000028 */
export function addr(vpn: number): string {
  return `0x${(vpn * PAGE_SIZE).toString(16)}`;
}

/** A scenario's arena: the vpn its page 0 is at, and its size in pages. */
export interface Arena {
  base: number;
  pages: number;
}

/** The arena a log header describes (runScenario writes config.arenaBase and arenaPages). */
export function arenaOf(header: { config?: unknown } | undefined): Arena | undefined {
  const c = (header?.config ?? {}) as { arenaBase?: unknown; arenaPages?: unknown };
  return typeof c.arenaBase === 'number' && typeof c.arenaPages === 'number' ? { base: c.arenaBase, pages: c.arenaPages } : undefined;
}

/** The arena page of a vpn, or null outside the arena. */
export function arenaPage(vpn: number, arena: Arena | undefined): number | null {
  if (!arena) return null;
  const p = vpn - arena.base;
  return p >= 0 && p <= arena.pages ? p : null;
}

/** `0x10000028000 (page 40)`, or just the address outside the arena. */
export function addrAt(vpn: number, arena: Arena | undefined): string {
  const p = arenaPage(vpn, arena);
  return p === null ? addr(vpn) : `${addr(vpn)} (page ${p})`;
}

/** `[0x10000028000, 0x1000002c000)`, with `pages [40, 44)` beside it in the arena. */
export function rangeAt(start: number, end: number, arena: Arena | undefined): string {
  const a = arenaPage(start, arena);
  const b = arenaPage(end, arena);
  const bytes = `[${addr(start)}, ${addr(end)})`;
  return a !== null && b !== null ? `${bytes} pages [${a}, ${b})` : bytes;
}

/** Lock names carry vpns (`ptl:MM:VPN`, `pmd_lock:MM:VPN`): show them as addresses. */
export function lockNameAt(name: string): string {
  return name.replace(/^(ptl|pmd_lock):(\d+):(\d+)$/, (_, kind: string, mm: string, vpn: string) => `${kind}:${mm}:${addr(Number(vpn))}`);
}

/** Every `ptl:MM:VPN` / `pmd_lock:MM:VPN` in a text (a checker's message) with the address. */
export function lockNamesIn(text: string): string {
  return text.replace(/\b(ptl|pmd_lock):(\d+):(\d+)\b/g, (_, kind: string, mm: string, vpn: string) => `${kind}:${mm}:${addr(Number(vpn))}`);
}

/**
 * A checker's message as the CLI prints addresses: the checkers (@mmsim/invariants) say
 * `vpn N`, `vma V [START, END)` and `start N` in page numbers, and lock names with vpns;
 * each becomes a hex address with its arena page (`0x10000006000 (page 6)`), so a
 * violation reads like `mmsim events` and `inspect` and the debugger.
 */
export function addressesIn(text: string, arena: Arena | undefined): string {
  return lockNamesIn(text)
    .replace(/\bvpn (\d+)\b/g, (_, v: string) => addrAt(Number(v), arena))
    .replace(/\b(vma \d+(?: of mm \d+)?(?: is empty or inverted:)? )\[(\d+), (\d+)\)/g, (_, head: string, a: string, b: string) => head + rangeAt(Number(a), Number(b), arena))
    .replace(/\b(vma pgoff \d+, start )(\d+)\b/g, (_, head: string, v: string) => head + addrAt(Number(v), arena));
}
