// A heatmap drawn on a canvas: x = time buckets, y = the column's value,
// colour = how many events. Drag a box to select a region (BubbleUp);
// click a cell to see example traces from it.
import { useEffect, useRef, useState } from "preact/hooks";
import type { HeatmapValue } from "../api";
import { fmtNum } from "./colors";

export interface HeatCol { t: number; h: HeatmapValue | null; }
export interface Region { start: number; end: number; min: number; max: number; }

const PAD = { l: 64, r: 12, t: 8, b: 26 };

export function Heatmap(props: {
  title: string; cols: HeatCol[]; granularity: number; selection?: Region | null;
  onSelect?: (r: Region) => void; onCell?: (r: Region) => void; height?: number;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const [drag, setDrag] = useState<{ x0: number; y0: number; x1: number; y1: number } | null>(null);
  const [width, setWidth] = useState(800);
  const H = props.height ?? 260;
  let lo = Infinity, hi = -Infinity, maxCount = 0;
  for (const c of props.cols) {
    if (!c.h) continue;
    lo = Math.min(lo, c.h.min);
    hi = Math.max(hi, c.h.max);
    for (const b of c.h.buckets) maxCount = Math.max(maxCount, b.count);
  }
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  if (hi === lo) hi = lo + 1;
  const t0 = props.cols.length ? props.cols[0].t : 0;
  const t1 = props.cols.length ? props.cols[props.cols.length - 1].t + props.granularity : 1;
  const pw = width - PAD.l - PAD.r, ph = H - PAD.t - PAD.b;
  const xOf = (t: number) => PAD.l + ((t - t0) / (t1 - t0)) * pw;
  const yOf = (v: number) => PAD.t + ph - ((v - lo) / (hi - lo)) * ph;
  const tOf = (x: number) => t0 + ((x - PAD.l) / pw) * (t1 - t0);
  const vOf = (y: number) => lo + ((PAD.t + ph - y) / ph) * (hi - lo);

  useEffect(() => {
    const node = wrap.current;
    if (!node) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(360, node.clientWidth)));
    ro.observe(node);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const cv = canvas.current;
    if (!cv) return;
    const dpr = window.devicePixelRatio || 1;
    cv.width = width * dpr; cv.height = H * dpr;
    const g = cv.getContext("2d")!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, H);
    g.fillStyle = "#fff"; g.fillRect(PAD.l, PAD.t, pw, ph);
    const cw = Math.max(1, pw / Math.max(1, Math.round((t1 - t0) / props.granularity)));
    const lmax = Math.log1p(maxCount);
    for (const c of props.cols) {
      if (!c.h) continue;
      const x = xOf(c.t);
      for (const b of c.h.buckets) {
        if (b.count <= 0) continue;
        const f = Math.log1p(b.count) / lmax;
        // light blue to deep blue by count
        g.fillStyle = `hsl(${215 - f * 10}, 85%, ${88 - f * 58}%)`;
        const y0 = yOf(b.upper), y1 = yOf(b.lower);
        g.fillRect(x, y0, Math.ceil(cw), Math.max(1, y1 - y0));
      }
    }
    // axes
    g.strokeStyle = "#999"; g.lineWidth = 1;
    g.strokeRect(PAD.l + 0.5, PAD.t + 0.5, pw, ph);
    g.fillStyle = "#444"; g.font = "11px system-ui, sans-serif";
    g.textAlign = "right"; g.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const v = lo + ((hi - lo) * i) / 4;
      g.fillText(fmtNum(v), PAD.l - 6, yOf(v));
    }
    g.textAlign = "center"; g.textBaseline = "top";
    for (let i = 0; i <= 5; i++) {
      const t = t0 + ((t1 - t0) * i) / 5;
      g.textAlign = i === 0 ? "left" : i === 5 ? "right" : "center";
      g.fillText(new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), xOf(t), PAD.t + ph + 6);
    }
    const sel = props.selection;
    if (sel) {
      g.fillStyle = "rgba(255,140,0,0.18)"; g.strokeStyle = "#e07000"; g.lineWidth = 2;
      const x0 = xOf(sel.start), x1 = xOf(sel.end), y0 = yOf(Math.min(sel.max, hi)), y1 = yOf(Math.max(sel.min, lo));
      g.fillRect(x0, y0, x1 - x0, y1 - y0); g.strokeRect(x0, y0, x1 - x0, y1 - y0);
    }
    if (drag) {
      g.strokeStyle = "#e07000"; g.setLineDash([4, 3]); g.lineWidth = 1.5;
      g.strokeRect(Math.min(drag.x0, drag.x1), Math.min(drag.y0, drag.y1), Math.abs(drag.x1 - drag.x0), Math.abs(drag.y1 - drag.y0));
      g.setLineDash([]);
    }
  }, [props.cols, props.selection, drag, width]);

  const pos = (e: MouseEvent) => {
    const r = canvas.current!.getBoundingClientRect();
    return { x: Math.min(Math.max(e.clientX - r.left, PAD.l), PAD.l + pw), y: Math.min(Math.max(e.clientY - r.top, PAD.t), PAD.t + ph) };
  };
  const snap = (t: number, up: boolean) => {
    const g = props.granularity;
    return (up ? Math.ceil(t / g) : Math.floor(t / g)) * g;
  };
  const region = (d: { x0: number; y0: number; x1: number; y1: number }): Region => {
    let start = snap(tOf(Math.min(d.x0, d.x1)), false), end = snap(tOf(Math.max(d.x0, d.x1)), true);
    if (end <= start) end = start + props.granularity;
    return { start, end, min: vOf(Math.max(d.y0, d.y1)), max: vOf(Math.min(d.y0, d.y1)) };
  };
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={wrap} class="heatwrap">
        <canvas ref={canvas} data-testid="heatmap" style={{ width: width + "px", height: H + "px", cursor: "crosshair" }}
          role="img" aria-label={`${props.title}: heatmap; drag to select a region for BubbleUp`}
          onMouseDown={(e) => { const p = pos(e); setDrag({ x0: p.x, y0: p.y, x1: p.x, y1: p.y }); }}
          onMouseMove={(e) => { if (drag) { const p = pos(e); setDrag({ ...drag, x1: p.x, y1: p.y }); } }}
          onMouseUp={() => {
            if (!drag) return;
            const d = drag;
            setDrag(null);
            if (Math.abs(d.x1 - d.x0) < 4 && Math.abs(d.y1 - d.y0) < 4) {
              // a click: the cell under the pointer
              const t = snap(tOf(d.x0), false);
              const step = (hi - lo) / 50, v = vOf(d.y0);
              const b = Math.floor((v - lo) / step);
              props.onCell?.({ start: t, end: t + props.granularity, min: lo + b * step, max: lo + (b + 1) * step });
            } else props.onSelect?.(region(d));
          }}
          onMouseLeave={() => setDrag(null)} />
      </div>
    </figure>
  );
}
