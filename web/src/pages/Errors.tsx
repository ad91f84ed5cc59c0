// Error items (Rollbar's API): the list with level, counts, first and last
// seen, a sparkline of occurrences (a Honeycomb query on the error
// dataset) and status; an item's page with its stack trace, occurrences,
// status changes and the occurrence's trace.
import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import type { PageProps } from "../app";
import { fmtNum } from "../components/colors";
import { href, navigate } from "../router";

const ERRORS_DS = "errors";
const ITEM_COL = "rollbar.item_id";
const STATUSES = ["active", "resolved", "muted"];

// Occurrences per item per hour over the last day, from the error dataset.
async function occurrenceCounts(itemID?: number, range = 86400, gran = 3600): Promise<{ times: number[]; byItem: Map<string, number[]> }> {
  const spec: any = { calculations: [{ op: "COUNT" }], breakdowns: [ITEM_COL], time_range: range, granularity: gran, limit: 1000 };
  if (itemID !== undefined) spec.filters = [{ column: ITEM_COL, op: "=", value: itemID }];
  const d = await api.runQuery(ERRORS_DS, spec);
  const end = Math.floor(Date.now() / 1000 / gran) * gran;
  const times: number[] = [];
  for (let t = end - range + gran; t <= end; t += gran) times.push(t);
  const idx = new Map(times.map((t, i) => [t, i]));
  const byItem = new Map<string, number[]>();
  for (const p of d.series || []) {
    const t = Math.floor(Date.parse(p.time) / 1000 / gran) * gran;
    const i = idx.get(t);
    const key = String(p.data[ITEM_COL]);
    if (i === undefined || p.data[ITEM_COL] === null || p.data[ITEM_COL] === undefined) continue;
    if (!byItem.has(key)) byItem.set(key, times.map(() => 0));
    byItem.get(key)![i] += Number(p.data.COUNT) || 0;
  }
  return { times, byItem };
}

export function Sparkline(props: { values: number[]; width?: number; height?: number; label: string }) {
  const w = props.width ?? 120, h = props.height ?? 24;
  const max = Math.max(1, ...props.values);
  const step = props.values.length > 1 ? w / (props.values.length - 1) : w;
  const pts = props.values.map((v, i) => `${(i * step).toFixed(1)},${(h - 1 - (v / max) * (h - 3)).toFixed(1)}`).join(" ");
  const total = props.values.reduce((a, b) => a + b, 0);
  return (
    <svg class="spark" width={w} height={h} role="img" aria-label={`${props.label}: ${total} in the period, at most ${max} per bucket`}>
      <polyline points={`0,${h} ${pts} ${w},${h}`} fill="#f3d3d3" stroke="none" />
      <polyline points={pts} fill="none" stroke="#c62828" stroke-width="1.5" />
    </svg>
  );
}

export function ago(sec: number | null | undefined) {
  if (!sec) return "—";
  const d = Date.now() / 1000 - sec;
  if (d < 60) return "just now";
  if (d < 3600) return `${Math.floor(d / 60)} min ago`;
  if (d < 86400) return `${Math.floor(d / 3600)} h ago`;
  return `${Math.floor(d / 86400)} d ago`;
}

export function ErrorsPage({ route }: PageProps) {
  const p = route.params;
  const status = p.get("status") ?? "active";
  const q = p.get("query") || "";
  const [items, setItems] = useState<api.ErrorItem[] | null>(null);
  const [total, setTotal] = useState(0);
  const [spark, setSpark] = useState<Map<string, number[]>>(new Map());
  const [err, setErr] = useState("");
  const [text, setText] = useState(q);
  useEffect(() => {
    setItems(null); setErr("");
    const params = new URLSearchParams();
    if (status) params.set("status", status);
    if (q) params.set("query", q);
    api.errorItems(params).then((r) => { setItems(r.items); setTotal(r.total_count); }).catch((e) => { setItems([]); setErr(e.message); });
  }, [status, q]);
  useEffect(() => { occurrenceCounts().then((r) => setSpark(r.byItem)).catch(() => setSpark(new Map())); }, []);
  const go = (k: string, v: string) => {
    const n = new URLSearchParams(p);
    n.set(k, v);
    navigate("/errors?" + n.toString());
  };
  return (
    <div>
      <h1>Errors <small>{items ? `${total} item${total === 1 ? "" : "s"}` : ""}</small></h1>
      <form class="row" role="search" aria-label="Filter items" onSubmit={(e) => { e.preventDefault(); go("query", text); }}>
        <div role="group" aria-label="Status" class="seg">
          {[...STATUSES, ""].map((s) => <button type="button" key={s} aria-pressed={status === s} onClick={() => go("status", s)}>{s || "all"}</button>)}
        </div>
        <label>Title contains <input value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} /></label>
        <button type="submit">Filter</button>
      </form>
      {err && <p role="alert" class="error">{err}</p>}
      {!items && <p aria-busy="true">Loading…</p>}
      {items && !items.length && <p class="note">No {status} items. Errors arrive through the Rollbar API (POST /api/1/item/).</p>}
      {items && items.length > 0 && (
        <table class="grid items" aria-label="Error items">
          <thead><tr><th>level</th><th>item</th><th class="num">occurrences</th><th>last 24 h</th><th>first seen</th><th>last seen</th><th>status</th></tr></thead>
          <tbody>
            {items.map((it) => (
              <tr key={it.id}>
                <td><span class={"level lv-" + it.level}>{it.level}</span></td>
                <td class="title"><a href={href("/errors/" + it.id)}>#{it.counter} {it.title}</a>
                  <div class="hint">{[it.environment, it.framework || it.language].filter(Boolean).join(" · ")}</div></td>
                <td class="num">{fmtNum(it.total_occurrences)}</td>
                <td><Sparkline values={spark.get(String(it.id)) || new Array(24).fill(0)} label={`occurrences of #${it.counter} per hour`} /></td>
                <td title={fmtDate(it.first_occurrence_timestamp)}>{ago(it.first_occurrence_timestamp)}</td>
                <td title={fmtDate(it.last_occurrence_timestamp)}>{ago(it.last_occurrence_timestamp)}</td>
                <td><span class={"status st-" + it.status}>{it.status}</span></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function fmtDate(sec: number | null | undefined) { return sec ? new Date(sec * 1000).toLocaleString() : ""; }

interface Frame { filename?: string; lineno?: number; colno?: number; method?: string; code?: string; context?: { pre?: string[]; post?: string[] }; }
interface TraceBlock { frames: Frame[]; exception?: { class?: string; message?: string; description?: string } }

// The stack traces of an occurrence (trace, or trace_chain: cause last).
function tracesOf(data: any): TraceBlock[] {
  const b = data?.body || {};
  if (Array.isArray(b.trace_chain)) return b.trace_chain;
  if (b.trace) return [b.trace];
  return [];
}

const LIBRARY = /(site-packages|dist-packages|node_modules|\/usr\/lib\/|\/lib\/python\d|<frozen|internal\/|\/go\/pkg\/mod\/|^node:)/;
export const inApp = (f: Frame) => !!f.filename && !LIBRARY.test(f.filename);

export function ErrorItemPage({ route }: PageProps) {
  const id = decodeURIComponent(route.path.split("/")[2] || "");
  const [item, setItem] = useState<api.ErrorItem | null>(null);
  const [occ, setOcc] = useState<api.Occurrence[] | null>(null);
  const [traceOf, setTraceOf] = useState<Map<string, string>>(new Map());
  const [spark, setSpark] = useState<number[] | null>(null);
  const [pick, setPick] = useState(0);
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.errorItem(id).then(setItem).catch((e) => setErr(e.message));
    api.occurrences(id).then((r) => setOcc(r.instances)).catch(() => setOcc([]));
  }, [id]);
  useEffect(() => {
    if (!item) return;
    occurrenceCounts(item.id, 7 * 86400, 6 * 3600).then((r) => setSpark(r.byItem.get(String(item.id)) || [])).catch(() => setSpark([]));
    // Which trace each occurrence belongs to: the error dataset links them.
    api.runQuery(ERRORS_DS, { calculations: [{ op: "COUNT" }], breakdowns: ["rollbar.occurrence_id", "trace.trace_id"],
      filters: [{ column: ITEM_COL, op: "=", value: item.id }, { column: "trace.trace_id", op: "exists" }], time_range: 7 * 86400, limit: 1000 })
      .then((d) => setTraceOf(new Map(d.results.map((r) => [String(r.data["rollbar.occurrence_id"]), String(r.data["trace.trace_id"])]))))
      .catch(() => {});
  }, [item?.id]);
  const setStatus = (s: string) => {
    if (!item) return;
    setBusy(true);
    api.setItemStatus(item.id, s).then(setItem).catch((e) => setErr(e.message)).finally(() => setBusy(false));
  };
  if (err && !item) return <p role="alert" class="error">{err}</p>;
  if (!item) return <p aria-busy="true">Loading…</p>;
  const o = occ?.[pick];
  const traces = o ? tracesOf(o.data) : [];
  const message = o?.data?.body?.message?.body;
  const changes = ([["first seen", item.first_occurrence_timestamp], ["activated", item.last_activated_timestamp], ["resolved", item.last_resolved_timestamp],
    ["muted", item.last_muted_timestamp], ["last seen", item.last_occurrence_timestamp]] as [string, number | null][])
    .filter(([, t]) => t).sort((a, b) => a[1]! - b[1]!);
  const tid = o ? traceOf.get(String(o.id)) || o.data?.custom?.trace_id : undefined;
  return (
    <div class="item-page">
      <p><a href={href("/errors")}>← Errors</a></p>
      <h1><span class={"level lv-" + item.level}>{item.level}</span> #{item.counter} {item.title}</h1>
      <div class="row item-head">
        <span class={"status st-" + item.status} data-testid="item-status">{item.status}</span>
        <span><b>{fmtNum(item.total_occurrences)}</b> occurrences</span>
        <span>first seen <b title={fmtDate(item.first_occurrence_timestamp)}>{ago(item.first_occurrence_timestamp)}</b></span>
        <span>last seen <b title={fmtDate(item.last_occurrence_timestamp)}>{ago(item.last_occurrence_timestamp)}</b></span>
        {item.environments.length > 0 && <span>environments <b>{item.environments.join(", ")}</b></span>}
        <span class="grow" />
        {item.status !== "resolved" && <button type="button" class="primary" disabled={busy} onClick={() => setStatus("resolved")}>Resolve</button>}
        {item.status !== "muted" && <button type="button" disabled={busy} onClick={() => setStatus("muted")}>Mute</button>}
        {item.status !== "active" && <button type="button" disabled={busy} onClick={() => setStatus("active")}>Reactivate</button>}
      </div>
      {err && <p role="alert" class="error">{err}</p>}
      <div class="item-body">
        <section aria-label="Stack trace">
          {spark && <figure class="chart"><figcaption>Occurrences, last 7 days (6 h buckets)</figcaption><Sparkline values={spark} width={640} height={60} label="occurrences per 6 hours" /></figure>}
          <h2>Stack trace {o && <small class="muted">occurrence {new Date(o.timestamp).toLocaleString()}</small>}</h2>
          {!occ && <p aria-busy="true">Loading…</p>}
          {message && <pre class="msg">{String(message)}</pre>}
          {occ && !traces.length && !message && <p class="note">This occurrence has no stack trace.</p>}
          {traces.map((t, k) => (
            <div class="stack" key={k}>
              <p class="exc"><b>{t.exception?.class}</b>{t.exception?.message ? ": " + t.exception.message : ""}</p>
              <ol class="frames" aria-label="Frames, innermost last">
                {t.frames.map((f, i) => (
                  <li key={i} class={inApp(f) ? "frame in-app" : "frame lib"} data-in-app={inApp(f) ? "true" : "false"}>
                    <div><span class="fn">{f.filename}</span>{f.lineno ? <>:<b>{f.lineno}</b></> : null} in <code>{f.method || "?"}</code>
                      {inApp(f) && <span class="tag">in app</span>}</div>
                    {f.code && <pre class="code">{[...(f.context?.pre || []), "→ " + f.code, ...(f.context?.post || [])].join("\n")}</pre>}
                  </li>
                ))}
              </ol>
            </div>
          ))}
        </section>
        <aside aria-label="Occurrences">
          <h2>Occurrences</h2>
          {tid ? <p><a class="button" data-testid="occurrence-trace" href={href("/traces/" + tid)}>Open this occurrence's trace</a></p>
            : o && <p class="hint">This occurrence carries no trace id.</p>}
          <ul class="plain occ">
            {(occ || []).map((x, i) => (
              <li key={x.id}><button type="button" class="link" aria-current={i === pick ? "true" : undefined} onClick={() => setPick(i)}>
                {new Date(x.timestamp).toLocaleString()}</button>
                <span class="hint"> {x.data?.environment}{x.data?.request?.url ? " · " + x.data.request.url : ""}{traceOf.has(String(x.id)) ? " · traced" : ""}</span></li>
            ))}
          </ul>
          <h2>Status changes</h2>
          <ul class="plain">
            {changes.map(([what, t]) => <li key={what}>{what} <span class="muted">{fmtDate(t)}</span></li>)}
          </ul>
        </aside>
      </div>
    </div>
  );
}
