// Boards (Honeycomb's flexible boards) of live charts, and the saved
// queries (query annotations) they are made of. A board's panels are a
// grid in position order; they are reordered with drag and drop or, from
// the keyboard, with the Move buttons (the order is saved at once).
import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import type { PageProps } from "../app";
import { LineChart, type LineSeries } from "../components/LineChart";
import { fmtNum } from "../components/colors";
import { href, navigate } from "../router";
import { calcLabel, fromSpec, toParams } from "../query";

export function BoardsPage({ dataset }: PageProps) {
  const [list, setList] = useState<api.Board[] | null>(null);
  const [saved, setSaved] = useState<api.Annotation[] | null>(null);
  const [err, setErr] = useState("");
  const [name, setName] = useState("");
  useEffect(() => { api.boards().then(setList).catch((e) => { setList([]); setErr(e.message); }); }, []);
  useEffect(() => { if (dataset) api.annotations(dataset).then(setSaved).catch(() => setSaved([])); }, [dataset]);
  const create = (e: Event) => {
    e.preventDefault();
    if (!name.trim()) return;
    api.createBoard({ name: name.trim() }).then((b) => navigate("/boards/" + b.id)).catch((e) => setErr(e.message));
  };
  const open = (a: api.Annotation) => api.getQuery(dataset, a.query_id)
    .then((spec) => navigate("/query?" + toParams({ ...fromSpec(dataset, spec), dataset }).toString())).catch((e) => setErr(e.message));
  return (
    <div>
      <h1>Boards</h1>
      {err && <p role="alert" class="error">{err}</p>}
      <div class="cols2">
        <section aria-label="Boards list">
          {!list && <p aria-busy="true">Loading…</p>}
          {list && !list.length && <p class="note">No boards yet. Save a query from the query builder and add it to a board, or create one here.</p>}
          <ul class="plain boards">
            {(list || []).map((b) => <li key={b.id}><a href={href("/boards/" + b.id)}>{b.name}</a> <span class="hint">{b.panels?.length || 0} panels{b.description ? " · " + b.description : ""}</span></li>)}
          </ul>
          <form class="row" onSubmit={create} aria-label="New board">
            <label>New board <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required /></label>
            <button type="submit">Create</button>
          </form>
        </section>
        <section aria-label="Saved queries">
          <h2>Saved queries <small class="muted">in {dataset || "—"}</small></h2>
          {saved && !saved.length && <p class="note">None yet: use “Save” in the query builder.</p>}
          <ul class="plain">
            {(saved || []).map((a) => <li key={a.id}><button type="button" class="link" onClick={() => open(a)}>{a.name}</button>
              {a.description && <span class="hint"> {a.description}</span>}</li>)}
          </ul>
        </section>
      </div>
    </div>
  );
}

function order(b: api.Board): api.Panel[] {
  return [...(b.panels || [])].sort((x, y) => ((x.position?.y_coordinate ?? 0) - (y.position?.y_coordinate ?? 0)) || ((x.position?.x_coordinate ?? 0) - (y.position?.x_coordinate ?? 0)));
}

// relayout gives panels grid positions in list order: two per row.
export function relayout(panels: api.Panel[]): api.Panel[] {
  return panels.map((p, i) => ({ ...p, position: { x_coordinate: (i % 2) * 6, y_coordinate: Math.floor(i / 2) * 6, width: 6, height: 6 } }));
}

export function BoardPage({ route, dataset }: PageProps) {
  const id = decodeURIComponent(route.path.split("/")[2] || "");
  const [b, setB] = useState<api.Board | null>(null);
  const [err, setErr] = useState("");
  const [drag, setDrag] = useState<number | null>(null);
  const [note, setNote] = useState("");
  const [tick, setTick] = useState(0);
  useEffect(() => { api.board(id).then(setB).catch((e) => setErr(e.message)); }, [id]);
  // Live: rerun the panels' queries every minute.
  useEffect(() => { const t = setInterval(() => setTick((n) => n + 1), 60_000); return () => clearInterval(t); }, []);
  if (err && !b) return <p role="alert" class="error">{err}</p>;
  if (!b) return <p aria-busy="true">Loading…</p>;
  const panels = order(b);
  const move = (from: number, to: number) => {
    if (to < 0 || to >= panels.length || from === to) return;
    const next = [...panels];
    const [p] = next.splice(from, 1);
    next.splice(to, 0, p);
    const nb = { ...b, panels: relayout(next) };
    setB(nb);
    setNote(`Moved to position ${to + 1} of ${next.length}.`);
    api.updateBoard(nb).then(setB).catch((e) => setErr(e.message));
    setTimeout(() => (document.querySelector(`[data-panel-index="${to}"] .panel-move`) as HTMLElement | null)?.focus(), 0);
  };
  const remove = (i: number) => {
    const nb = { ...b, panels: relayout(panels.filter((_, k) => k !== i)) };
    setB(nb);
    api.updateBoard(nb).then(setB).catch((e) => setErr(e.message));
  };
  return (
    <div>
      <p><a href={href("/boards")}>← Boards</a></p>
      <h1>{b.name} {b.description && <small>{b.description}</small>}</h1>
      {err && <p role="alert" class="error">{err}</p>}
      <p class="sr-only" aria-live="polite">{note}</p>
      {!panels.length && <p class="note">This board is empty. Save a query from the query builder to add it here.</p>}
      <ol class="board-grid" aria-label="Board panels">
        {panels.map((p, i) => (
          <li key={(p.query_panel?.query_id || "") + i} data-panel-index={i} class={"panel" + (drag === i ? " dragging" : "")} draggable
            onDragStart={(e) => { setDrag(i); e.dataTransfer?.setData("text/plain", String(i)); }}
            onDragOver={(e) => e.preventDefault()} onDrop={(e) => { e.preventDefault(); if (drag !== null) move(drag, i); setDrag(null); }}
            onDragEnd={() => setDrag(null)}>
            <div class="panel-bar">
              <span class="grip" aria-hidden="true">⠿</span>
              <span class="grow" />
              <button type="button" class="panel-move" aria-label={`Move panel ${i + 1} earlier`} disabled={i === 0} onClick={() => move(i, i - 1)}>←</button>
              <button type="button" aria-label={`Move panel ${i + 1} later`} disabled={i === panels.length - 1} onClick={() => move(i, i + 1)}>→</button>
              <button type="button" aria-label={`Remove panel ${i + 1}`} onClick={() => remove(i)}>✕</button>
            </div>
            {p.query_panel ? <QueryPanel qp={p.query_panel} fallbackDataset={dataset} tick={tick} />
              : p.text_panel ? <div class="text-panel">{p.text_panel.content}</div> : <p class="note">Unsupported panel ({p.type}).</p>}
          </li>
        ))}
      </ol>
    </div>
  );
}

function QueryPanel(props: { qp: NonNullable<api.Panel["query_panel"]>; fallbackDataset: string; tick: number }) {
  const ds = props.qp.dataset || props.fallbackDataset;
  const [title, setTitle] = useState("");
  const [spec, setSpec] = useState<any>(null);
  const [data, setData] = useState<api.QueryData | null>(null);
  const [err, setErr] = useState("");
  useEffect(() => {
    api.getQuery(ds, props.qp.query_id).then(setSpec).catch((e) => setErr(e.message));
    if (props.qp.query_annotation_id) api.annotations(ds).then((as) => setTitle(as.find((a) => a.id === props.qp.query_annotation_id)?.name || "")).catch(() => {});
  }, [ds, props.qp.query_id]);
  useEffect(() => {
    if (!spec) return;
    const s = { ...spec };
    delete s.id;
    api.runQuery(ds, s).then(setData).catch((e) => setErr(e.message));
  }, [spec, props.tick]);
  const q = spec ? fromSpec(ds, spec) : null;
  const label = title || (q ? q.calcs.join(", ") + (q.groupBy.length ? " by " + q.groupBy.join(", ") : "") : "");
  const link = q ? href("/query?" + toParams({ ...q, dataset: ds }).toString()) : undefined;
  return (
    <div class="qpanel" data-testid="board-panel">
      <h2 class="panel-title"><a href={link}>{label || "query"}</a> <small class="muted">{ds}</small></h2>
      {err && <p role="alert" class="error">{err}</p>}
      {!data && !err && <p aria-busy="true">Running…</p>}
      {data && spec && <PanelChart data={data} spec={spec} />}
    </div>
  );
}

function PanelChart({ data, spec }: { data: api.QueryData; spec: any }) {
  const calcs: string[] = (spec.calculations || [{ op: "COUNT" }]).filter((c: any) => c.op !== "HEATMAP").map((c: any) => calcLabel(c));
  const groups: string[] = spec.breakdowns || [];
  const pts = data.series || [];
  if (!calcs.length) return <p class="note">Heatmaps are shown in the query builder.</p>;
  const times = [...new Set(pts.map((p) => Date.parse(p.time) / 1000))].sort((a, b) => a - b);
  const ti = new Map(times.map((t, i) => [t, i]));
  const calc = calcs[0];
  const bySeries = new Map<string, (number | null)[]>();
  for (const p of pts) {
    const key = groups.map((g) => String(p.data[g] ?? "(none)")).join(", ") || calc;
    if (!bySeries.has(key)) bySeries.set(key, times.map(() => null));
    const v = p.data[calc];
    bySeries.get(key)![ti.get(Date.parse(p.time) / 1000)!] = typeof v === "number" ? v : null;
  }
  const series: LineSeries[] = [...bySeries.entries()].slice(0, 10).map(([label, values]) => ({ label, values }));
  const total = data.total_by_aggregate?.[calc] ?? data.results?.[0]?.data?.[calc];
  return (
    <>
      {times.length > 0 ? <LineChart title={calc} times={times} series={series} height={170} /> : <p class="note">No data in the window.</p>}
      {total !== undefined && groups.length === 0 && <p class="hint">{calc} over the window: <b>{fmtNum(total)}</b></p>}
    </>
  );
}
