// Trace search: root spans in a window, newest first.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import type { PageProps } from "../app";
import { VirtualTable, type Col } from "../components/VirtualTable";
import { fmtNum, hashColor } from "../components/colors";
import { href, navigate } from "../router";

export function TracesPage({ route }: PageProps) {
  const p = route.params;
  const [form, setForm] = useState({ service: p.get("service") || "", name: p.get("name") || "", min: p.get("min_duration_ms") || "", error: p.get("error") || "" });
  const [res, setRes] = useState<api.TraceSummary[] | null>(null);
  const [err, setErr] = useState("");
  useEffect(() => {
    const q = new URLSearchParams();
    for (const k of ["start", "end", "time_range", "service", "name", "min_duration_ms", "max_duration_ms", "error", "limit"]) {
      const v = p.get(k);
      if (v) q.set(k, v);
    }
    for (const w of p.getAll("where")) q.append("where", w);
    setRes(null); setErr("");
    api.searchTraces(q).then((r) => setRes(r.traces || [])).catch((e) => setErr(e.message));
  }, [p.toString()]);
  const search = (e: Event) => {
    e.preventDefault();
    const q = new URLSearchParams(p);
    const set = (k: string, v: string) => (v ? q.set(k, v) : q.delete(k));
    set("service", form.service); set("name", form.name); set("min_duration_ms", form.min); set("error", form.error);
    navigate("/traces?" + q.toString());
  };
  const cols: Col<api.TraceSummary>[] = [
    { key: "start", label: "start", render: (t) => new Date(t.start).toLocaleString() },
    { key: "root", label: "root span", render: (t) => <a href={href("/traces/" + t.trace_id)}>{t.root_name || t.trace_id}</a> },
    { key: "svc", label: "service", render: (t) => <span><i class="dot" style={{ background: hashColor(t.root_service) }} />{t.root_service}</span> },
    { key: "dur", label: "duration ms", numeric: true, render: (t) => fmtNum(t.duration_ms) },
    { key: "spans", label: "spans", numeric: true, render: (t) => t.span_count },
    { key: "err", label: "errors", numeric: true, render: (t) => (t.error_count ? <span class="errtxt">{t.error_count}</span> : 0) },
  ];
  const window = p.get("start") && p.get("end") ? `${new Date(Number(p.get("start")) * 1000).toLocaleString()} – ${new Date(Number(p.get("end")) * 1000).toLocaleString()}` : "last 2 hours";
  return (
    <div>
      <h1>Traces <small>{window}</small></h1>
      <form class="row" aria-label="Trace search" onSubmit={search}>
        <label>Service <input value={form.service} onInput={(e) => setForm({ ...form, service: (e.target as HTMLInputElement).value })} /></label>
        <label>Root name <input value={form.name} onInput={(e) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} /></label>
        <label>Min duration (ms) <input type="number" value={form.min} style={{ width: "7em" }} onInput={(e) => setForm({ ...form, min: (e.target as HTMLInputElement).value })} /></label>
        <label>Errors
          <select value={form.error} onChange={(e) => setForm({ ...form, error: (e.target as HTMLSelectElement).value })}>
            <option value="">any</option><option value="true">with errors</option><option value="false">without errors</option>
          </select>
        </label>
        <button type="submit" class="primary">Search</button>
      </form>
      {err && <p role="alert" class="error">{err}</p>}
      {!res && !err && <p aria-busy="true">Searching…</p>}
      {res && (res.length ? <VirtualTable label="Traces" rows={res} cols={cols} height={520} onRow={(t) => navigate("/traces/" + t.trace_id)} rowTitle="Open the trace" />
        : <p class="note">No traces match.</p>)}
    </div>
  );
}
