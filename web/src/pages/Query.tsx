// The query builder: VISUALIZE / WHERE / GROUP BY / ORDER BY / HAVING /
// LIMIT, time and granularity. The URL holds the query; running it
// navigates, and the page runs whatever the URL says.
import { useEffect, useMemo, useState } from "preact/hooks";
import * as api from "../api";
import type { PageProps } from "../app";
import { TokenInput } from "../components/TokenInput";
import { VirtualTable, type Col } from "../components/VirtualTable";
import { LineChart } from "../components/LineChart";
import { Heatmap, type Region } from "../components/Heatmap";
import { BubbleUpPanel } from "../components/BubbleUp";
import { SaveQuery } from "../components/SaveQuery";
import { fmtNum } from "../components/colors";
import { navigate } from "../router";
import {
  CALC_OPS, FILTER_OPS, RANGES, UNARY_CALCS, calcLabel, defaultGranularity, filterText, fromParams, parseCalc,
  resolveWindow, toParams, toSpec, type QueryState,
} from "../query";

type Tab = "results" | "raw" | "bubbleup";

export function QueryPage({ route, dataset }: PageProps) {
  const urlQuery = useMemo(() => ({ ...fromParams(route.params), dataset }), [route.params.toString(), dataset]);
  const [q, setQ] = useState<QueryState>(urlQuery);
  useEffect(() => setQ(urlQuery), [urlQuery]);
  const [cols, setCols] = useState<api.Column[]>([]);
  useEffect(() => { if (dataset) api.columns(dataset).then(setCols).catch(() => setCols([])); }, [dataset]);

  const [data, setData] = useState<api.QueryData | null>(null);
  const [raw, setRaw] = useState<api.QueryData | null>(null);
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const [tab, setTab] = useState<Tab>((route.params.get("tab") as Tab) || "results");
  const [selection, setSelection] = useState<Region | null>(null);
  const [ranAt, setRanAt] = useState(0);
  const ran = route.params.has("calc") || route.params.has("group");

  const { spec, errors } = toSpec(urlQuery);
  const window = useMemo(() => resolveWindow(urlQuery.time), [urlQuery, ranAt]);
  const granularity = urlQuery.granularity || defaultGranularity(window[1] - window[0]);
  const heatCalc = urlQuery.calcs.map(parseCalc).find((c) => c?.op === "HEATMAP") || null;

  useEffect(() => {
    if (!dataset || !ran) return;
    if (errors.length) { setErr(errors.join("; ")); return; }
    setBusy(true); setErr(""); setSelection(null); setRaw(null);
    const s = { ...spec };
    if (urlQuery.time.range) { delete s.time_range; s.start_time = window[0]; s.end_time = window[1]; }
    api.runQuery(dataset, s).then((d) => { setData(d); api.addHistory(dataset, spec).catch(() => {}); })
      .catch((e) => { setData(null); setErr(e.message); }).finally(() => setBusy(false));
  }, [route.params.toString(), dataset, ranAt]);

  useEffect(() => {
    if (tab !== "raw" || raw || !dataset) return;
    const s: Record<string, unknown> = { ...spec, start_time: window[0], end_time: window[1], limit: 1000 };
    delete s.calculations; delete s.breakdowns; delete s.orders; delete s.havings; delete s.time_range; delete s.granularity;
    api.runQuery(dataset, s).then(setRaw).catch((e) => setErr(e.message));
  }, [tab, raw, dataset, route.params.toString()]);

  const run = (next: QueryState = q) => {
    const p = toParams({ ...next, dataset });
    if (tab !== "results") p.set("tab", tab);
    const to = "/query?" + p.toString();
    if ("/ui" + to === location.pathname + location.search) setRanAt(Date.now()); else navigate(to);
  };

  const colNames = cols.filter((c) => !c.hidden).map((c) => c.key_name);
  const numeric = cols.filter((c) => c.type === "integer" || c.type === "float").map((c) => c.key_name);
  const calcLabels = urlQuery.calcs.map(parseCalc).filter(Boolean).map((c) => calcLabel(c!));
  const match = (list: string[], t: string) => { const l = t.toLowerCase(); return list.filter((x) => x.toLowerCase().includes(l)); };

  const suggestCalc = (t: string) => {
    const i = t.indexOf("(");
    if (i >= 0) {
      const op = t.slice(0, i).toUpperCase();
      return match(op === "COUNT_DISTINCT" ? colNames : numeric, t.slice(i + 1).replace(/\)$/, "")).map((c) => `${op}(${c})`);
    }
    const ops = CALC_OPS.filter((o) => o.startsWith(t.toUpperCase()));
    if (ops.length === 1 && !UNARY_CALCS.has(ops[0])) return numeric.map((c) => `${ops[0]}(${c})`);
    return ops.map((o) => (UNARY_CALCS.has(o) ? o : o + "("));
  };
  const suggestWhere = (t: string) => {
    const parts = t.split(/\s+/);
    if (parts.length <= 1) return match(colNames, t).map((c) => c + " ");
    if (parts.length === 2) return FILTER_OPS.filter((o) => o.startsWith(parts[1])).map((o) => `${parts[0]} ${o}` + (o.includes("exist") ? "" : " "));
    return [];
  };
  const suggestOrder = (t: string) => match([...calcLabels, ...urlQuery.groupBy].flatMap((x) => [x + " desc", x + " asc"]), t);
  const suggestHaving = (t: string) => match(calcLabels.filter((c) => !c.startsWith("HEATMAP")), t).map((c) => c + " > ");

  const setTime = (v: string) => {
    if (v === "custom") {
      const [s, e] = resolveWindow(q.time);
      setQ({ ...q, time: { start: s, end: e } });
    } else setQ({ ...q, time: { range: Number(v) } });
  };
  const toLocal = (s: number) => { const d = new Date(s * 1000); return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16); };
  const fromLocal = (v: string) => Math.floor(new Date(v).getTime() / 1000);

  const addFilters = (filters: string[]) => run({ ...urlQuery, where: [...urlQuery.where.filter((w) => !filters.includes(w)), ...filters] });
  const tracesAt = (start: number, end: number, minDur?: number, maxDur?: number) => {
    const p = new URLSearchParams({ ds: dataset, start: String(Math.floor(start)), end: String(Math.ceil(end)) });
    if (minDur !== undefined) p.set("min_duration_ms", String(Math.floor(minDur)));
    if (maxDur !== undefined) p.set("max_duration_ms", String(Math.ceil(maxDur)));
    navigate("/traces?" + p.toString());
  };

  return (
    <div class="query-page">
      <form class="builder" aria-label="Query builder" onSubmit={(e) => { e.preventDefault(); run(); }}
        onKeyDown={(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } }}>
        <TokenInput label="VISUALIZE" items={q.calcs} onChange={(calcs) => setQ({ ...q, calcs })} suggest={suggestCalc} placeholder="COUNT, P95(duration_ms), HEATMAP(duration_ms)…" testid="visualize" />
        <TokenInput label="WHERE" items={q.where} onChange={(where) => setQ({ ...q, where })} suggest={suggestWhere} placeholder="column op value" testid="where" />
        <TokenInput label="GROUP BY" items={q.groupBy} onChange={(groupBy) => setQ({ ...q, groupBy })} suggest={(t) => match(colNames, t)} placeholder="column" testid="groupby" />
        <TokenInput label="ORDER BY" items={q.orderBy} onChange={(orderBy) => setQ({ ...q, orderBy })} suggest={suggestOrder} placeholder="COUNT desc" testid="orderby" />
        <TokenInput label="HAVING" items={q.having} onChange={(having) => setQ({ ...q, having })} suggest={suggestHaving} placeholder="COUNT > 10" testid="having" />
        <div class="row">
          <label>LIMIT <input type="number" min={1} max={1000} value={q.limit ?? ""} placeholder="100" style={{ width: "6em" }}
            onInput={(e) => { const v = (e.target as HTMLInputElement).value; setQ({ ...q, limit: v ? Number(v) : undefined }); }} /></label>
          <label>Time
            <select value={q.time.start !== undefined ? "custom" : String(q.time.range)} onChange={(e) => setTime((e.target as HTMLSelectElement).value)} data-testid="time">
              {RANGES.map((r) => <option key={r.s} value={String(r.s)}>{r.label}</option>)}
              <option value="custom">Custom…</option>
            </select>
          </label>
          {q.time.start !== undefined && <>
            <label>From <input type="datetime-local" value={toLocal(q.time.start)} onInput={(e) => setQ({ ...q, time: { ...q.time, start: fromLocal((e.target as HTMLInputElement).value) } })} /></label>
            <label>To <input type="datetime-local" value={toLocal(q.time.end!)} onInput={(e) => setQ({ ...q, time: { ...q.time, end: fromLocal((e.target as HTMLInputElement).value) } })} /></label>
          </>}
          <label>Granularity
            <select value={String(q.granularity || "")} onChange={(e) => { const v = (e.target as HTMLSelectElement).value; setQ({ ...q, granularity: v ? Number(v) : undefined }); }}>
              <option value="">auto</option>
              {[10, 30, 60, 300, 900, 3600, 86400].map((g) => <option key={g} value={String(g)}>{g < 60 ? g + " s" : g < 3600 ? g / 60 + " min" : g < 86400 ? g / 3600 + " h" : "1 day"}</option>)}
            </select>
          </label>
          <button type="submit" class="primary" disabled={!dataset} data-testid="run">Run query</button>
          <span class="save-wrap"><SaveQuery dataset={dataset} spec={spec} disabled={!dataset || !ran || errors.length > 0} /></span>
          <span class="hint">Ctrl+Enter runs</span>
        </div>
      </form>

      {err && <p role="alert" class="error">{err}</p>}
      {!dataset && <p class="note">No dataset yet: send events to waggle and they appear here.</p>}

      <div role="tablist" aria-label="Result views" class="tabs">
        {(["results", "raw", ...(heatCalc ? ["bubbleup"] : [])] as Tab[]).map((t) => (
          <button type="button" role="tab" key={t} aria-selected={tab === t} data-testid={"tab-" + t}
            onClick={() => setTab(t)}>{t === "results" ? "Results" : t === "raw" ? "Raw events" : "BubbleUp"}</button>
        ))}
        {busy && <span class="busy" aria-live="polite">Running…</span>}
      </div>

      {tab === "results" && data && (
        <Results data={data} q={urlQuery} granularity={granularity} window={window} selection={selection}
          onSelect={(r) => { setSelection(r); setTab("bubbleup"); }}
          onCell={(r) => tracesAt(r.start, r.end, r.min, r.max)}
          onPick={(t) => tracesAt(t, t + granularity)}
          onGroup={addFilters} />
      )}
      {tab === "bubbleup" && heatCalc && (
        selection ? <BubbleUpPanel dataset={dataset} spec={{ ...spec, start_time: window[0], end_time: window[1], time_range: undefined, granularity }}
          column={heatCalc.column!} selection={selection} onFilter={(f) => addFilters([f])} onClear={() => { setSelection(null); setTab("results"); }} />
          : <p class="note">Drag a box over the heatmap (Results tab) to compare the selected events with the rest.</p>
      )}
      {tab === "raw" && (raw ? <RawEvents data={raw} /> : <p aria-busy="true">Loading raw events…</p>)}
    </div>
  );
}

function keyOf(d: Record<string, api.Cell>, groups: string[]) { return groups.map((g) => String(d[g] ?? "∅")).join(" · "); }

function Results(props: {
  data: api.QueryData; q: QueryState; granularity: number; window: [number, number]; selection: Region | null;
  onSelect: (r: Region) => void; onCell: (r: Region) => void; onPick: (t: number) => void; onGroup: (f: string[]) => void;
}) {
  const { data, q } = props;
  const calcs = q.calcs.map(parseCalc).filter(Boolean).map((c) => c!);
  const labels = calcs.map(calcLabel);
  const groups = q.groupBy;
  const series = data.series || [];
  const times = useMemo(() => Array.from(new Set(series.map((p) => Date.parse(p.time) / 1000))).sort((a, b) => a - b), [data]);
  const tIndex = useMemo(() => new Map(times.map((t, i) => [t, i])), [times]);
  const top = data.results.slice(0, 10).map((r) => keyOf(r.data, groups));
  const charts = labels.filter((l) => !l.startsWith("HEATMAP")).map((label) => {
    const vals = new Map(top.map((k) => [k, new Array<number | null>(times.length).fill(null)]));
    for (const p of series) {
      const arr = vals.get(keyOf(p.data, groups));
      const v = p.data[label];
      if (arr && typeof v === "number") arr[tIndex.get(Date.parse(p.time) / 1000)!] = v;
    }
    return { label, series: top.map((k) => ({ label: k || label, values: vals.get(k)! })) };
  });
  const heat = labels.find((l) => l.startsWith("HEATMAP"));
  const heatPoints = heat ? (groups.length ? (data as any).total_by_aggregate_series || [] : series) as api.Point[] : [];
  const heatCols = heat ? heatPoints.map((p) => ({ t: Date.parse(p.time) / 1000, h: (p.data[heat] as api.HeatmapValue) || null })) : [];
  const tableCols: Col<{ data: Record<string, api.Cell> }>[] = [
    ...groups.map((g) => ({ key: "g:" + g, label: g, render: (r: { data: Record<string, api.Cell> }) => r.data[g] === null || r.data[g] === undefined ? <em>null</em> : String(r.data[g]) })),
    ...labels.filter((l) => !l.startsWith("HEATMAP")).map((l) => ({ key: "c:" + l, label: l, numeric: true, render: (r: { data: Record<string, api.Cell> }) => fmtNum(r.data[l]) })),
  ];
  return (
    <section aria-label="Results">
      {heat && <Heatmap title={heat} cols={heatCols} granularity={props.granularity} selection={props.selection} onSelect={props.onSelect} onCell={props.onCell} />}
      {charts.map((c) => <LineChart key={c.label} title={c.label + (data.results.length > 10 ? ` (top 10 of ${data.results.length} groups)` : "")} times={times} series={c.series} onPick={props.onPick} />)}
      {!series.length && !heat && <p class="note">No events in this time range.</p>}
      {tableCols.length > 0 && (
        <VirtualTable label="Query results" rows={data.results} cols={tableCols} height={400}
          rowTitle={groups.length ? "Add this group as a filter" : undefined}
          rowClass={(_r, i) => (i < 10 && groups.length ? "hl" + i : "")}
          onRow={groups.length ? (r) => props.onGroup(groups.map((g) => filterText(g, "=", r.data[g]))) : undefined} />
      )}
    </section>
  );
}

function RawEvents({ data }: { data: api.QueryData }) {
  const events = data.events || [];
  const keys = useMemo(() => {
    const count = new Map<string, number>();
    for (const e of events.slice(0, 200)) for (const k of Object.keys(e.data)) count.set(k, (count.get(k) || 0) + 1);
    return [...count.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k]) => k);
  }, [data]);
  type E = (typeof events)[number];
  const cols: Col<E>[] = [
    { key: "time", label: "time", render: (e) => new Date(e.time).toLocaleString() },
    ...keys.map((k) => ({ key: k, label: k, render: (e: E) => { const v = e.data[k]; return v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v); } })),
  ];
  return events.length ? <VirtualTable label="Raw events" rows={events} cols={cols} height={480} /> : <p class="note">No events.</p>;
}
