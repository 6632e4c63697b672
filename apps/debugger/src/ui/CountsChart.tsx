import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { LogSummary } from '../shared/protocol.js';

interface Props {
  summary: LogSummary;
  pos: number;
  onPos(p: number): void;
}

const SERIES = [
  { label: 'VMAs', stroke: '#4fc3f7' },
  { label: 'anon_vmas', stroke: '#ffb74d' },
  { label: 'AVCs', stroke: '#ba68c8' },
  { label: 'folios', stroke: '#81c784' },
];

/** Counts of VMAs, anon_vmas, AVCs and folios over the whole log (sampled at span boundaries). */
export function CountsChart({ summary, pos, onPos }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const posRef = useRef(pos);
  const onPosRef = useRef(onPos);
  onPosRef.current = onPos;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const c = summary.counts;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 210,
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: false } },
      axes: [
        { stroke: '#9aa4b2', grid: { stroke: '#2a3140' }, ticks: { stroke: '#2a3140' } },
        { stroke: '#9aa4b2', grid: { stroke: '#2a3140' }, ticks: { stroke: '#2a3140' }, size: 64 },
      ],
      series: [{ label: 'pos' }, ...SERIES.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, points: { show: false }, paths: uPlot.paths.stepped!({ align: 1 }) }))],
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
            ctx.restore();
          },
        ],
      },
    };
    const data: uPlot.AlignedData = [c.pos, c.vmas, c.anonVmas, c.avcs, c.folios];
    const u = new uPlot(opts, data, el);
    plot.current = u;
    const click = () => {
      const left = u.cursor.left;
      if (left === undefined || left < 0) return;
      onPosRef.current(u.posToVal(left, 'x'));
    };
    u.over.addEventListener('click', click);
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 210 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.over.removeEventListener('click', click);
      u.destroy();
      plot.current = null;
    };
  }, [summary]);

  useEffect(() => {
    posRef.current = pos;
    plot.current?.redraw(false, false);
  }, [pos]);

  const c = summary.counts;
  return (
    <>
      <h2>
        Counts over the log <span className="muted">{c.pos.length} samples at span boundaries · click to jump</span>
      </h2>
      <div ref={box} className="chart" data-testid="counts-chart" />
    </>
  );
}
