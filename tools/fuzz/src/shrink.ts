/**
 * Delta debugging of a diverging scenario: drop steps (ddmin), then simplify what is
 * left (smaller page counts, fewer flags, plainer mmaps, a smaller arena), keeping only
 * candidates that are valid scenarios and still show a divergence of the same kind
 * (same signature). Process ids stay valid: a step of a process whose fork was dropped
 * is dropped with it, and the remaining children are renumbered in fork order.
 */
import { parseScenario, type Scenario, type Step } from '@mmsim/scenario';

/** The signature of the scenario's divergence, or null when it agrees. */
export type Check = (s: Scenario) => Promise<string | null>;

export interface ShrinkOptions {
  /** stop after this many checks (default 600) */
  maxTests?: number;
  /** stop starting new checks after this many ms (default 90000) */
  maxMs?: number;
}

export interface ShrinkResult {
  scenario: Scenario;
  tests: number;
  /** steps before and after */
  from: number;
  to: number;
}

interface Item {
  step: Step;
  /** process id in the original numbering */
  proc: number;
  /** for forks: the child id in the original numbering */
  child?: number;
}

function itemsOf(s: Scenario): Item[] {
  let next = 1;
  return s.steps.map((st) => (st.op === 'fork' ? { step: st, proc: st.proc, child: next++ } : { step: st, proc: st.proc }));
}

/** A scenario from items (renumbering processes), or null if it is not valid. */
export function materialize(base: Scenario, items: Item[], arena = base.arena.pages): Scenario | null {
  const map = new Map<number, number>([[0, 0]]);
  let next = 1;
  const steps: Record<string, unknown>[] = [];
  for (const it of items) {
    const p = map.get(it.proc);
    if (p === undefined) continue;
    const st: Record<string, unknown> = { ...it.step, proc: p };
    if (it.step.op === 'fork') map.set(it.child!, next++);
    if (it.step.op === 'exit') map.delete(it.proc);
    steps.push(st);
  }
  if (!steps.length) return null;
  try {
    return parseScenario({ format: base.format, name: base.name, arena: { pages: arena }, steps });
  } catch {
    return null;
  }
}

const key = (s: Scenario) => JSON.stringify([s.arena, s.steps]);

export async function shrinkScenario(s: Scenario, signature: string, check: Check, opts: ShrinkOptions = {}): Promise<ShrinkResult> {
  const deadline = Date.now() + (opts.maxMs ?? 90_000);
  let maxTests = opts.maxTests ?? 600;
  let tests = 0;
  const seen = new Map<string, boolean>();
  const base: Scenario = { format: s.format, name: s.name, arena: { ...s.arena }, steps: s.steps };
  let items = itemsOf(base);
  let arena = base.arena.pages;
  let best = materialize(base, items, arena) ?? base;

  /** does this candidate still diverge the same way? */
  const test = async (cand: Scenario | null): Promise<boolean> => {
    if (!cand) return false;
    const k = key(cand);
    const hit = seen.get(k);
    if (hit !== undefined) return hit;
    if (tests >= maxTests) return false;
    if (Date.now() > deadline) {
      maxTests = tests; // out of time: every loop stops
      return false;
    }
    tests++;
    let ok = false;
    try {
      ok = (await check(cand)) === signature;
    } catch {
      ok = false;
    }
    seen.set(k, ok);
    return ok;
  };

  // 1. ddmin over the steps
  const ddmin = async () => {
    let n = 2;
    while (items.length >= 2 && tests < maxTests) {
      const chunk = Math.ceil(items.length / n);
      let reduced = false;
      for (let start = 0; start < items.length; start += chunk) {
        const cand = [...items.slice(0, start), ...items.slice(start + chunk)];
        const sc = materialize(base, cand, arena);
        if (await test(sc)) {
          items = cand;
          best = sc!;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
      if (!reduced) {
        if (chunk <= 1) break;
        n = Math.min(items.length, n * 2);
      }
    }
  };

  // 2. simplify single steps
  const variants = (st: Step): Step[] => {
    const out: Step[] = [];
    const o = st as unknown as Record<string, unknown>;
    const withField = (k: string, v: unknown) => ({ ...o, [k]: v }) as unknown as Step;
    if ('pages' in o && typeof o.pages === 'number' && o.pages > 1) {
      const p = o.pages;
      const half = Math.floor(p / 2);
      if (st.op === 'mremap') {
        const np = st.newPages;
        // keep the relation between old and new size
        const d = np - p;
        for (const q of [1, half, p - 1]) if (q >= 1 && q < p && q + d >= 1) out.push({ ...st, pages: q, newPages: q + d });
      } else for (const q of [1, half, p - 1]) if (q >= 1 && q < p) out.push(withField('pages', q));
    }
    if (st.op === 'mremap') {
      if (st.newPages > st.pages + 1) out.push({ ...st, newPages: st.pages + 1 });
      if (st.newPages < st.pages - 1) out.push({ ...st, newPages: st.pages - 1 });
      for (const f of st.flags) {
        const flags = st.flags.filter((x) => x !== f);
        const c: Step = { ...st, flags };
        if (f === 'FIXED') delete (c as { to?: number }).to;
        out.push(c);
      }
    }
    if (st.op === 'mmap') {
      if (st.noreserve) out.push({ ...st, noreserve: false });
      if (st.shared) out.push({ ...st, shared: false });
      if (st.fixed) out.push({ ...st, fixed: false });
      if (st.prot !== 'rw-') out.push({ ...st, prot: 'rw-' });
    }
    if (st.op === 'touch' && st.access === 'read') out.push({ ...st, access: 'write' });
    if (st.op === 'mprotect' && st.prot !== 'r--') out.push({ ...st, prot: 'r--' });
    return out;
  };
  const simplify = async () => {
    let progress = true;
    while (progress && tests < maxTests) {
      progress = false;
      for (let k = 0; k < items.length && tests < maxTests; k++) {
        for (const v of variants(items[k].step)) {
          const cand = items.slice();
          cand[k] = { ...items[k], step: v };
          const sc = materialize(base, cand, arena);
          if (await test(sc)) {
            items = cand;
            best = sc!;
            progress = true;
            break;
          }
        }
      }
    }
  };

  // 3. a smaller arena (multiples of 64 pages, at least as large as what the steps use)
  const shrinkArena = async () => {
    let need = 1;
    for (const it of items) {
      const o = it.step as unknown as Record<string, number>;
      if (typeof o.page === 'number') need = Math.max(need, o.page + (o.pages ?? 1), o.page + (o.newPages ?? 1));
      if (typeof o.to === 'number') need = Math.max(need, o.to + (o.newPages ?? 1));
    }
    const cands = [...new Set([Math.ceil(need / 64) * 64, Math.ceil(need / 512) * 512, 2048])].filter((a) => a < arena).sort((a, b) => a - b);
    for (const a of cands) {
      const sc = materialize(base, items, a);
      if (await test(sc)) {
        arena = a;
        best = sc!;
        return;
      }
    }
  };

  let before = '';
  while (before !== key(best) && tests < maxTests) {
    before = key(best);
    await ddmin();
    await simplify();
  }
  await shrinkArena();
  return { scenario: best, tests, from: s.steps.length, to: best.steps.length };
}
