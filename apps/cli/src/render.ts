/**
 * Human-readable output: step descriptions and results, VMA layouts as ASCII bars,
 * aligned tables.
 */
import type {
  Observation,
  PageObservation,
  ProcSnapshot,
  Scenario,
  Step,
  TaskStep,
  StepResult,
  VmaObservation,
} from '@mmsim/scenario';

import { addr } from './addr.js';

/* ------------------------------------------------------------------ tables */

/** Align columns; numbers (and cells starting with a digit or minus) right-aligned. */
export function table(rows: readonly (readonly (string | number)[])[], opts: { indent?: number; header?: boolean } = {}): string[] {
  if (!rows.length) return [];
  const cells = rows.map((r) => r.map((c) => String(c)));
  const n = Math.max(...cells.map((r) => r.length));
  const w = Array.from({ length: n }, (_, k) => Math.max(...cells.map((r) => (r[k] ?? '').length)));
  const numeric = Array.from({ length: n }, (_, k) =>
    cells.slice(opts.header ? 1 : 0).every((r) => r[k] === undefined || r[k] === '' || /^-?[0-9][0-9,.x]*$/.test(r[k])),
  );
  const pad = ' '.repeat(opts.indent ?? 0);
  const out = cells.map((r) =>
    (pad + r.map((c, k) => (numeric[k] && k > 0 ? c.padStart(w[k]) : k === r.length - 1 ? c : c.padEnd(w[k]))).join('  ')).trimEnd(),
  );
  if (opts.header) out.splice(1, 0, pad + w.map((x) => '-'.repeat(x)).join('  '));
  return out;
}

/* ------------------------------------------------------------------- steps */

export function range(page: number, pages: number): string {
  return `[${page}, ${page + pages})`;
}

/** One line describing what a scenario step does. */
export function describeStep(st: Step): string {
  const proc = st.proc ? ` (proc ${st.proc})` : '';
  switch (st.op) {
    case 'mmap': {
      const fl = [st.shared ? 'shared' : 'private', st.fixed ? 'fixed' : '', st.noreserve ? 'noreserve' : ''].filter(Boolean).join(' ');
      return `mmap ${range(st.page, st.pages)} ${st.prot} ${fl}${proc}`;
    }
    case 'munmap':
    case 'munlock':
    case 'mseal':
    case 'pin':
    case 'unpin':
    case 'ksm':
    case 'swapout':
      return `${st.op} ${range(st.page, st.pages)}${proc}`;
    case 'mlock':
      return `mlock${st.onfault ? '2 ONFAULT' : ''} ${range(st.page, st.pages)}${proc}`;
    case 'mlockall':
      return `mlockall ${st.flags.join('|')}${proc}`;
    case 'munlockall':
      return `munlockall${proc}`;
    case 'anon_name':
      return `anon_name ${range(st.page, st.pages)} "${st.name}"${proc}`;
    case 'mbind':
      return `mbind ${range(st.page, st.pages)} ${st.mode}${st.nodes.length ? ` nodes ${st.nodes.join(',')}` : ''}${proc}`;
    case 'mprotect':
      return `mprotect ${range(st.page, st.pages)} ${st.prot}${proc}`;
    case 'madvise':
      return `madvise ${range(st.page, st.pages)} ${st.advice}${proc}`;
    case 'mremap': {
      const to = st.to !== undefined ? ` -> ${range(st.to, st.newPages)}` : st.newPages !== st.pages ? ` -> ${st.newPages} pages` : '';
      return `mremap ${range(st.page, st.pages)}${to}${st.flags.length ? ' ' + st.flags.join('|') : ''}${proc}`;
    }
    case 'touch':
      return `touch ${range(st.page, st.pages)} ${st.access}${proc}`;
    case 'fork':
      return `fork${proc}`;
    case 'exit':
      return `exit${proc}`;
    case 'snapshot':
      return `snapshot "${st.label}"`;
    case 'thp':
      return `thp at page ${st.page}${proc}`;
    case 'concurrent':
      return `concurrent: ${st.tasks.map((t, i) => `[${i}] ${t.steps.map(describeTaskStep).join('; ')}`).join(' || ')}`;
    case 'prctl':
      return `prctl ${st.option} ${st.value}${proc}`;
  }
}

/** A concurrent task's step, in a few words. */
function describeTaskStep(st: TaskStep): string {
  switch (st.op) {
    case 'rmap_walk':
      return `rmap_walk page ${st.page}`;
    case 'gup_fast':
      return `gup_fast ${range(st.page, st.pages)}${st.pin ? ' pin' : ''}`;
    case 'reclaim':
      return `reclaim ${range(st.page, st.pages)}`;
    default:
      return describeStep(st).replace(/ \(proc \d+\)$/, '');
  }
}

export function describeResult(r: StepResult): string {
  // a reason the run attached (a relocation that fell back: ../why.ts)
  const why = (r as { why?: unknown }).why;
  return typeof why === 'string' ? `${outcome(r)}: ${why}` : outcome(r);
}

function outcome(r: StepResult): string {
  if (r.ok && 'found' in r) return `ok: found ${r.found} of ${r.mapcount} mapping(s)`;
  if (r.ok && 'pages' in r) return `ok: ${r.pages} page(s)`;
  if (r.ok) return 'page' in r ? (r.page === null ? 'ok -> outside the arena' : `ok -> page ${r.page}`) : 'ok';
  if ('errno' in r) return `error ${r.errno}`;
  return `${r.signal} at page ${r.page}`;
}

/* -------------------------------------------------------------- VMA bars */

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const vmaLetter = (k: number) => LETTERS[k % LETTERS.length];

interface Seg {
  kind: 'vma' | 'hole' | 'break';
  start: number;
  end: number;
  vma?: number;
}

/**
 * A VMA layout as two aligned rows: one letter per VMA (so two adjacent VMAs that did
 * not merge are visibly two), `.` for unmapped pages, ` ~ ` for long gaps; below it the
 * pages (`#` present, `0` zero page, `s` swapped, `.` not present).
 */
export function vmaBar(vmas: readonly VmaObservation[], pages: readonly PageObservation[] = [], width = 72): string[] {
  if (!vmas.length) return ['(no VMAs)'];
  const sorted = [...vmas].sort((a, b) => a.start - b.start);
  const segs: Seg[] = [];
  const BREAK = 8;
  sorted.forEach((v, k) => {
    if (k > 0) {
      const prev = sorted[k - 1].end;
      if (v.start - prev > BREAK) segs.push({ kind: 'break', start: prev, end: v.start });
      else if (v.start > prev) segs.push({ kind: 'hole', start: prev, end: v.start });
    }
    segs.push({ kind: 'vma', start: v.start, end: v.end, vma: k });
  });
  const breaks = segs.filter((s) => s.kind === 'break').length;
  const budget = Math.max(segs.length, width - breaks * 3);
  const total = segs.reduce((n, s) => n + (s.kind === 'break' ? 0 : s.end - s.start), 0);
  const scale = total <= budget ? 1 : budget / total;
  const pageAt = new Map<number, PageObservation>();
  for (const p of pages) pageAt.set(p.page, p);
  let top = '';
  let bottom = '';
  for (const s of segs) {
    if (s.kind === 'break') {
      top += ' ~ ';
      bottom += '   ';
      continue;
    }
    const len = s.end - s.start;
    const cols = scale === 1 ? len : Math.max(1, Math.round(len * scale));
    for (let c = 0; c < cols; c++) {
      const a = s.start + Math.floor((c * len) / cols);
      const b = s.start + Math.max(Math.floor(((c + 1) * len) / cols), Math.floor((c * len) / cols) + 1);
      top += s.kind === 'vma' ? vmaLetter(s.vma!) : '.';
      let ch = '.';
      for (let p = a; p < b; p++) {
        const pg = pageAt.get(p);
        if (!pg) continue;
        const c2 = pg.present ? (pg.frame === 'zero' ? '0' : '#') : pg.swapped ? 's' : '.';
        if (c2 === '#' || ch === '.') ch = c2;
      }
      bottom += s.kind === 'vma' ? ch : ' ';
    }
  }
  const rows = [top];
  if (pages.length) rows.push(bottom);
  return rows;
}

/** With the arena's base vpn: one line per VMA, its pages and its byte addresses (as /proc/PID/maps). */
export function vmaLegendAt(vmas: readonly VmaObservation[], base: number): string[] {
  return [...vmas]
    .sort((a, b) => a.start - b.start)
    .map((v, k) => `${vmaLetter(k)}  pages ${range(v.start, v.end - v.start).padEnd(12)} ${addr(base + v.start)}-${addr(base + v.end)}  ${v.perms}`);
}

export function vmaLegend(vmas: readonly VmaObservation[]): string {
  return [...vmas]
    .sort((a, b) => a.start - b.start)
    .map((v, k) => `${vmaLetter(k)} [${v.start}, ${v.end}) ${v.perms}`)
    .join('   ');
}

/** frame id -> where it is mapped in a snapshot (`proc:page`), for "shared with" */
export type FrameUsers = Map<string, { proc: number; page: number }[]>;

export function frameUsers(procs: readonly ProcSnapshot[]): FrameUsers {
  const m: FrameUsers = new Map();
  for (const p of procs)
    for (const pg of p.pages) {
      if (!pg.present || !pg.frame || pg.frame === 'zero') continue;
      const l = m.get(pg.frame) ?? [];
      l.push({ proc: p.proc, page: pg.page });
      m.set(pg.frame, l);
    }
  return m;
}

/**
 * What `--json` tells about each present page, in runs: its frame (f1, f2...), the zero
 * page, whether it is PageAnonExclusive, a THP part, and which other pages (of this or
 * another process) map the same frame. `pages [0, 3) f1..f3 exclusive; [3, 4) zero page`.
 */
export function formatFrames(p: ProcSnapshot, users: FrameUsers): string[] {
  const desc = (pg: PageObservation): { key: string; text: (n: number, first: PageObservation) => string } => {
    if (pg.frame === 'zero') return { key: 'zero', text: () => 'zero page' };
    const others = (users.get(pg.frame!) ?? []).filter((u) => !(u.proc === p.proc && u.page === pg.page));
    const shared = others.length ? ` shared with ${others.map((u) => (u.proc === p.proc ? `page ${u.page}` : `proc ${u.proc} page ${u.page}`)).join(', ')}` : '';
    const kind = `${pg.exclusive ? 'exclusive' : 'not exclusive'}${pg.compound ? ' THP' : ''}`;
    return {
      key: `${kind}|${others.length ? 'shared' : ''}`,
      text: (n, first) => `${n > 1 ? `${first.frame}..${pg.frame}` : pg.frame} ${kind}${n > 1 && others.length ? ' shared' : shared}`,
    };
  };
  const present = [...p.pages].filter((x) => x.present).sort((a, b) => a.page - b.page);
  const runs: string[] = [];
  let k = 0;
  while (k < present.length) {
    const a = present[k];
    const d = desc(a);
    let n = 1;
    const fnum = (pg: PageObservation) => (pg.frame && /^f\d+$/.test(pg.frame) ? Number(pg.frame.slice(1)) : NaN);
    while (k + n < present.length) {
      const b = present[k + n];
      if (b.page !== a.page + n || desc(b).key !== d.key) break;
      if (a.frame !== 'zero' && fnum(b) !== fnum(a) + n) break;
      n++;
    }
    runs.push(`pages ${range(a.page, n)} ${desc(present[k + n - 1]).text(n, a)}`);
    k += n;
  }
  return runs.length ? [`frames: ${runs.join('; ')}`] : [];
}

/** A process snapshot: a headline, the bar and the legend. */
export function formatProc(p: ProcSnapshot, indent = '    ', width = 72, users?: FrameUsers, base?: number): string[] {
  const present = p.pages.filter((x) => x.present).length;
  const swapped = p.pages.filter((x) => x.swapped).length;
  const head = `proc ${p.proc}: ${p.vmas.length} VMA${p.vmas.length === 1 ? '' : 's'}, ${present} page${present === 1 ? '' : 's'} present${swapped ? `, ${swapped} swapped` : ''}`;
  const bar = vmaBar(p.vmas, p.pages, width);
  const labels = p.pages.length ? ['VMAs  ', 'pages '] : ['VMAs  '];
  return [
    indent + head,
    ...bar.map((row, k) => `${indent}  ${labels[k]}${row}`.trimEnd()),
    ...(!p.vmas.length ? [] : base === undefined ? [`${indent}  ${vmaLegend(p.vmas)}`] : vmaLegendAt(p.vmas, base).map((l) => `${indent}  ${l}`)),
    ...formatFrames(p, users ?? frameUsers([p])).map((l) => `${indent}  ${l}`),
  ];
}

/* ------------------------------------------------------------ observation */

export interface ObservationView {
  scenario?: Scenario;
  /** vpn of arena page 0 (the log header's arenaBase): VMAs are shown with byte addresses */
  arenaBase?: number;
  /** lines from checkExpectations (each starts with `expect[k]:`) */
  failures?: string[];
  width?: number;
}

/** The readable summary `mmsim run`/`replay`/`oracle` print. */
export function formatObservation(o: Observation, view: ObservationView = {}): string[] {
  const s = view.scenario;
  const out: string[] = [`scenario ${o.scenario}`];
  if (s?.description) out.push(`  ${s.description}`);
  out.push('  steps:');
  const rows: string[][] = [];
  const byI = new Map(o.steps.map((x) => [x.i, x]));
  const n = s ? s.steps.length : 0;
  if (s) {
    for (let i = 0; i < n; i++) {
      const st = s.steps[i];
      if (st.op === 'snapshot') {
        rows.push([`#${i}`, describeStep(st), '']);
        continue;
      }
      const r = byI.get(i);
      rows.push([`#${i}`, describeStep(st), r ? describeResult(r.result) : '(no result)']);
      // a concurrent task's step with a reason (a relocation that fell back) gets a row of its own
      r?.tasks?.forEach((results, t) =>
        results.forEach((x, j) => {
          if ((x.result as { why?: unknown }).why !== undefined) rows.push(['', `  task ${t} step ${j} (${x.op})`, describeResult(x.result)]);
        }),
      );
    }
  } else {
    for (const x of o.steps) rows.push([`#${x.i}`, x.op, describeResult(x.result)]);
  }
  out.push(...table(rows, { indent: 4 }));
  for (const snap of o.snapshots) {
    out.push(`  snapshot "${snap.label}":`);
    if (!snap.procs.length) out.push('    (no live processes)');
    const users = frameUsers(snap.procs);
    for (const p of snap.procs) out.push(...formatProc(p, '    ', view.width, users, view.arenaBase));
  }
  if (s?.expect?.length) {
    const failed = new Map<number, string>();
    for (const f of view.failures ?? []) {
      const m = /^expect\[(\d+)\]: (.*)$/.exec(f);
      if (m) failed.set(Number(m[1]), m[2]);
    }
    const ok = s.expect.length - failed.size;
    out.push(`  expectations: ${ok}/${s.expect.length} passed`);
    s.expect.forEach((e, k) => {
      const what =
        'step' in e
          ? `step ${e.step} result ${describeResult(e.result)}`
          : 'vmaCount' in e
            ? `snapshot "${e.snapshot}" proc ${e.proc} has ${e.vmaCount} VMA${e.vmaCount === 1 ? '' : 's'}`
            : `snapshot "${e.snapshot}" proc ${e.proc}: page ${e.vma.contains} in VMA [${e.vma.start}, ${e.vma.end})`;
      const f = failed.get(k);
      out.push(f ? `    FAIL expect[${k}]: ${f}` : `    ok   expect[${k}]: ${what}`);
    });
  }
  return out;
}
