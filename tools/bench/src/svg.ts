/**
 * The size sweep as a hand-rolled SVG: two panels (write fault-in, relocate/mremap),
 * size on a log2 axis, time on a log10 axis, a line for the simulator and one for the
 * real kernel. No dependencies; deterministic for given numbers.
 */

export interface SweepPoint {
  mib: number;
  simFaultMs: number;
  kernelFaultMs: number;
  simRelocateMs: number;
  kernelMremapMs: number;
}

const W = 440;
const H = 320;
const M = { l: 64, r: 16, t: 40, b: 48 };
const SIM = '#c0392b';
const KER = '#2c6fbb';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmtMs(ms: number): string {
  if (ms >= 1000) return `${+(ms / 1000).toPrecision(3)} s`;
  if (ms >= 1) return `${+ms.toPrecision(3)} ms`;
  return `${+(ms * 1000).toPrecision(3)} µs`;
}

function fmtTick(ms: number): string {
  if (ms >= 1000) return `${ms / 1000} s`;
  if (ms >= 1) return `${ms} ms`;
  return `${+(ms * 1000).toPrecision(3)} µs`;
}

function panel(x0: number, title: string, pts: { mib: number; sim: number; ker: number }[], simLabel: string, kernelLabel: string): string {
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const xs = pts.map((p) => Math.log2(p.mib));
  const xmin = Math.min(...xs);
  const xmax = Math.max(...xs);
  const vals = pts.flatMap((p) => [p.sim, p.ker]).filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...vals)));
  const hi = Math.ceil(Math.log10(Math.max(...vals)));
  const ylo = lo;
  const yhi = hi === lo ? hi + 1 : hi;
  const X = (mib: number) => x0 + M.l + (xmax === xmin ? pw / 2 : ((Math.log2(mib) - xmin) / (xmax - xmin)) * pw);
  const Y = (ms: number) => M.t + ph - ((Math.log10(ms) - ylo) / (yhi - ylo)) * ph;
  const o: string[] = [];
  o.push(`<text x="${x0 + M.l + pw / 2}" y="22" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  // grid and y ticks (decades)
  for (let e = ylo; e <= yhi; e++) {
    const v = 10 ** e;
    const y = Y(v).toFixed(1);
    o.push(`<line x1="${x0 + M.l}" y1="${y}" x2="${x0 + M.l + pw}" y2="${y}" stroke="#ddd"/>`);
    o.push(`<text x="${x0 + M.l - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${esc(fmtTick(v))}</text>`);
  }
  for (const p of pts) {
    const x = X(p.mib).toFixed(1);
    o.push(`<line x1="${x}" y1="${M.t}" x2="${x}" y2="${M.t + ph}" stroke="#eee"/>`);
    o.push(`<text x="${x}" y="${M.t + ph + 16}" text-anchor="middle" font-size="11">${p.mib}</text>`);
  }
  o.push(`<text x="${x0 + M.l + pw / 2}" y="${H - 10}" text-anchor="middle" font-size="12">region size (MiB, log scale)</text>`);
  o.push(`<rect x="${x0 + M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  const line = (key: 'sim' | 'ker', color: string, dash: string) => {
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${X(p.mib).toFixed(1)},${Y(p[key]).toFixed(1)}`).join(' ');
    o.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    for (const p of pts) {
      o.push(`<circle cx="${X(p.mib).toFixed(1)}" cy="${Y(p[key]).toFixed(1)}" r="3" fill="${color}"><title>${p.mib} MiB: ${esc(fmtMs(p[key]))}</title></circle>`);
    }
    const last = pts[pts.length - 1];
    o.push(`<text x="${(X(last.mib) - 4).toFixed(1)}" y="${(Y(last[key]) + (key === 'sim' ? -8 : 14)).toFixed(1)}" text-anchor="end" font-size="10" fill="${color}">${esc(fmtMs(last[key]))}</text>`);
  };
  line('sim', SIM, '');
  line('ker', KER, '6 4');
  // legend
  const lx = x0 + M.l + 8;
  o.push(`<rect x="${lx - 4}" y="${M.t + 3}" width="${Math.max(simLabel.length, kernelLabel.length) * 6.2 + 36}" height="34" fill="#fff" fill-opacity="0.85"/>`);
  o.push(`<line x1="${lx}" y1="${M.t + 12}" x2="${lx + 22}" y2="${M.t + 12}" stroke="${SIM}" stroke-width="2"/>`);
  o.push(`<text x="${lx + 28}" y="${M.t + 12}" dominant-baseline="middle" font-size="11">${esc(simLabel)}</text>`);
  o.push(`<line x1="${lx}" y1="${M.t + 28}" x2="${lx + 22}" y2="${M.t + 28}" stroke="${KER}" stroke-width="2" stroke-dasharray="6 4"/>`);
  o.push(`<text x="${lx + 28}" y="${M.t + 28}" dominant-baseline="middle" font-size="11">${esc(kernelLabel)}</text>`);
  return o.join('\n');
}

/** The chart. `subtitle` says the clock and machine. */
export function sweepSvg(points: readonly SweepPoint[], subtitle = ''): string {
  const pts = [...points].sort((a, b) => a.mib - b.mib);
  const fault = pts.map((p) => ({ mib: p.mib, sim: p.simFaultMs, ker: p.kernelFaultMs }));
  const reloc = pts.map((p) => ({ mib: p.mib, sim: p.simRelocateMs, ker: p.kernelMremapMs }));
  const height = H + (subtitle ? 18 : 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${height}" viewBox="0 0 ${2 * W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    panel(0, 'write fault-in, 4 KiB pages (MADV_NOHUGEPAGE)', fault, 'simulator (events + checkers)', 'Linux'),
    panel(W, 'move to an unaligned address (+1 page)', reloc, 'simulator MREMAP_RELOCATE_ANON', 'Linux mremap(MAYMOVE|FIXED)'),
    subtitle ? `<text x="${W}" y="${H + 10}" text-anchor="middle" font-size="11" fill="#555">${esc(subtitle)}</text>` : '',
    '</svg>',
    '',
  ].join('\n');
}
