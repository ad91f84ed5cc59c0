// A time-series line chart drawn by uPlot (canvas; ~50 KB): one series per
// group, the first ten highlighted. Clicking a point reports its bucket.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { colorFor, fmtNum } from "./colors";

export interface LineSeries { label: string; values: (number | null)[]; }

export function LineChart(props: {
  title: string; times: number[]; series: LineSeries[]; onPick?: (t: number) => void; height?: number;
  // yRange fixes the y scale from the data's min and max (default: uPlot's).
  yRange?: (min: number, max: number) => [number, number];
}) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = el.current;
    if (!node) return;
    const width = Math.max(320, node.clientWidth);
    const opts: uPlot.Options = {
      width, height: props.height ?? 220,
      legend: { show: props.series.length > 1 && props.series.length <= 10 },
      cursor: { points: { size: 6 } },
      scales: { x: { time: true }, ...(props.yRange ? { y: { range: (_u: uPlot, min: number, max: number) => props.yRange!(min, max) } } : {}) },
      axes: [{ stroke: "#555", grid: { stroke: "#eee" } }, { stroke: "#555", grid: { stroke: "#eee" }, size: 60, values: (_u, ts) => ts.map(fmtNum) }],
      series: [{}, ...props.series.map((s, i) => ({ label: s.label, stroke: colorFor(i), width: 1.5, spanGaps: false, points: { show: props.times.length < 60 } }))],
    };
    const data: uPlot.AlignedData = [props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData;
    const u = new uPlot(opts, data, node);
    const click = () => {
      const idx = u.cursor.idx;
      if (idx !== null && idx !== undefined && props.onPick) props.onPick(props.times[idx]);
    };
    u.over.addEventListener("click", click);
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(320, node.clientWidth), height: props.height ?? 220 }));
    ro.observe(node);
    return () => { ro.disconnect(); u.destroy(); };
  }, [props.times, props.series]);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={el} role="img" aria-label={`${props.title}: line chart of ${props.series.length} series`} />
    </figure>
  );
}
