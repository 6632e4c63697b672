/**
 * A syscall's arguments as the debugger shows them, from the `{"call": step}` note that
 * runScenario writes at the start of each step: `mremap(page 7 → 1007, 5 pages,
 * MAYMOVE|FIXED|MUST_RELOCATE_ANON = 0x13)`. Pages are arena pages (the scenario's unit).
 */
import { MREMAP_FLAG_BITS } from '@mmsim/scenario';

type Call = Record<string, unknown> & { op?: string };

function flagsOf(names: unknown): string {
  if (!Array.isArray(names)) return String(names);
  let bits = 0;
  for (const n of names) bits |= (MREMAP_FLAG_BITS as Record<string, number>)[String(n)] ?? 0;
  const list = names.map((n) => (String(n).startsWith('MREMAP_') ? String(n) : `MREMAP_${String(n)}`));
  return `${list.join('|') || '0'} = 0x${bits.toString(16)}`;
}

/** The decoded arguments of a call note, or '' when it is not one. */
export function callArgs(json: string): string {
  let o: { call?: Call };
  try {
    o = JSON.parse(json) as { call?: Call };
  } catch {
    return '';
  }
  const c = o.call;
  if (!c || typeof c !== 'object' || typeof c.op !== 'string') return '';
  const parts: string[] = [];
  const has = (k: string) => c[k] !== undefined;
  if (has('page')) parts.push(has('to') ? `page ${String(c.page)} → ${String(c.to)}` : `page ${String(c.page)}`);
  if (has('pages')) parts.push(`${String(c.pages)} pages`);
  if (has('newPages')) parts.push(`new ${String(c.newPages)} pages`);
  if (has('flags')) parts.push(c.op === 'mremap' ? flagsOf(c.flags) : String(c.flags));
  for (const [k, v] of Object.entries(c)) {
    if (['op', 'page', 'pages', 'to', 'flags', 'newPages', 'proc'].includes(k)) continue;
    parts.push(`${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return `${c.op}(${parts.join(', ')})${has('proc') ? ` in proc ${String(c.proc)}` : ''}`;
}
