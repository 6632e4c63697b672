import { memo, useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { LogSummary } from '../shared/protocol.js';

interface Props {
  summary: LogSummary;
  pos: number;
  onPos(p: number): void;
}

const SERIES = [
  { key: 'vmas', label: 'VMAs', stroke: '#4fc3f7' },
  { key: 'anonVmas', label: 'anon_vmas', stroke: '#ffb74d' },
  { key: 'avcs', label: 'AVCs', stroke: '#ba68c8' },
  { key: 'folios', label: 'folios', stroke: '#81c784' },
] as const;

const H = 74;

/** readable ticks: 1.2k, 3.4M */
function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(0)}k`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v * 100) / 100);
}

/**
 * Counts of VMAs, anon_vmas, AVCs and folios over the whole log (sampled at span
 * boundaries): small multiples, one chart and one y scale per series (folios run to the
 * hundred thousands while VMAs stay in single digits), cursors in sync.
 */
export const CountsChart = memo(function CountsChart({ summary, pos, onPos }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plots = useRef<uPlot[]>([]);
  const posRef = useRef(pos);
  const onPosRef = useRef(onPos);
  onPosRef.current = onPos;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const c = summary.counts;
    const sync = uPlot.sync(`counts-${Math.random()}`);
    const made: uPlot[] = [];
    const cleanups: (() => void)[] = [];
    SERIES.forEach((sr, i) => {
      const div = document.createElement('div');
      div.className = 'multiple';
      div.dataset.testid = 'counts-series';
      div.dataset.series = sr.key;
      el.appendChild(div);
      const last = i === SERIES.length - 1;
      const opts: uPlot.Options = {
        width: Math.max(200, el.clientWidth),
        height: H + (last ? 22 : 0),
        legend: { show: false },
        cursor: { drag: { x: false, y: false }, points: { show: false }, sync: { key: sync.key } },
        scales: { x: { time: false }, y: { range: (_u, lo, hi) => [Math.min(0, lo), Math.max(1, hi * 1.08)] } },
        axes: [
          { show: last, stroke: '#9aa4b2', grid: { stroke: '#2a3140' }, ticks: { stroke: '#2a3140' }, values: (_u, vs) => vs.map(short) },
          { stroke: '#9aa4b2', grid: { stroke: '#2a3140' }, ticks: { stroke: '#2a3140' }, size: 52, values: (_u, vs) => vs.map(short), splits: (_u, _ax, lo, hi) => [lo, (lo + hi) / 2, hi].map((v) => Math.round(v)) },
        ],
        series: [{ label: 'pos' }, { label: sr.label, stroke: sr.stroke, width: 1.5, points: { show: false }, paths: uPlot.paths.stepped!({ align: 1 }) }],
        hooks: {
          draw: [
            (u) => {
              const x = Math.round(u.valToPos(posRef.current, 'x', true));
              const ctx = u.ctx;
              ctx.save();
              ctx.strokeStyle = '#ff5252';
              ctx.lineWidth = 2;
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.fillStyle = sr.stroke;
              ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
              ctx.textAlign = "right";
              ctx.fillText(sr.label, u.bbox.left + u.bbox.width - 6 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
              ctx.restore();
            },
          ],
        },
      };
      const u = new uPlot(opts, [c.pos, c[sr.key]], div);
      made.push(u);
      const click = () => {
        const left = u.cursor.left;
        if (left === undefined || left < 0) return;
        onPosRef.current(u.posToVal(left, 'x'));
      };
      u.over.addEventListener('click', click);
      cleanups.push(() => u.over.removeEventListener('click', click));
    });
    plots.current = made;
    const ro = new ResizeObserver(() => made.forEach((u, i) => u.setSize({ width: Math.max(200, el.clientWidth), height: H + (i === made.length - 1 ? 22 : 0) })));
    ro.observe(el);
    return () => {
      ro.disconnect();
      for (const f of cleanups) f();
      for (const u of made) u.destroy();
      el.replaceChildren();
      plots.current = [];
    };
  }, [summary]);

  useEffect(() => {
    posRef.current = pos;
    for (const u of plots.current) u.redraw(false, false);
  }, [pos]);

  const c = summary.counts;
  return (
    <>
      <h2>
        Counts over the log <span className="muted">{c.pos.length} samples at span boundaries · one scale per series · click to jump</span>
      </h2>
      <div ref={box} className="chart" data-testid="counts-chart" />
    </>
  );
});
