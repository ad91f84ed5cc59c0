// The trace waterfall: every span of the trace (from any protocol) in one
// tree by parent id, bars to scale, service colours, errors marked; the
// selected span's fields, events and links; the trace's logs and other
// events (errors linked by other protocols).
import { useEffect, useMemo, useState } from "preact/hooks";
import * as api from "../api";
import type { PageProps } from "../app";
import { fmtNum, hashColor } from "../components/colors";

interface Row { span: api.Span; depth: number; hasKids: boolean; }

function buildRows(t: api.Trace, collapsed: Set<string>): Row[] {
  const ids = new Set(t.spans.map((s) => s.span_id));
  const kids = new Map<string, api.Span[]>();
  const roots: api.Span[] = [];
  for (const s of t.spans) {
    if (s.parent_id && ids.has(s.parent_id) && s.parent_id !== s.span_id) {
      const k = kids.get(s.parent_id) || [];
      k.push(s);
      kids.set(s.parent_id, k);
    } else roots.push(s); // roots, and orphans whose parent is missing
  }
  const out: Row[] = [];
  const seen = new Set<string>();
  const walk = (s: api.Span, d: number) => {
    if (seen.has(s.span_id)) return;
    seen.add(s.span_id);
    const k = kids.get(s.span_id) || [];
    out.push({ span: s, depth: d, hasKids: k.length > 0 });
    if (!collapsed.has(s.span_id)) for (const c of k) walk(c, d + 1);
  };
  for (const r of roots) walk(r, 0);
  return out;
}

function fieldValue(v: unknown) { return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v); }

export function TracePage({ route }: PageProps) {
  const id = decodeURIComponent(route.path.split("/")[2]);
  const [t, setT] = useState<api.Trace | null>(null);
  const [err, setErr] = useState("");
  const [sel, setSel] = useState<string>("");
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  useEffect(() => { api.trace(id).then((x) => { setT(x); setSel(x.root_span_ids?.[0] || x.spans[0]?.span_id || ""); }).catch((e) => setErr(e.message)); }, [id]);
  const rows = useMemo(() => (t ? buildRows(t, collapsed) : []), [t, collapsed]);
  if (err) return <p role="alert" class="error">{err}</p>;
  if (!t) return <p aria-busy="true">Loading trace…</p>;
  // The bars are scaled to the spans' extent: events of the trace outside
  // its spans (an error reported later) must not squeeze them.
  const starts = t.spans.map((s) => Date.parse(s.start));
  const t0 = starts.length ? Math.min(...starts) : Date.parse(t.start);
  const total = Math.max(t.spans.length ? Math.max(...t.spans.map((s, i) => starts[i] + s.duration_ms)) - t0 : t.duration_ms, 0.001);
  const span = t.spans.find((s) => s.span_id === sel);
  const missing = t.spans.filter((s) => s.parent_id && !t.spans.some((p) => p.span_id === s.parent_id)).length;
  const toggle = (sid: string) => { const n = new Set(collapsed); n.has(sid) ? n.delete(sid) : n.add(sid); setCollapsed(n); };
  const onKey = (e: KeyboardEvent, i: number) => {
    const go = (j: number) => { const el = document.querySelector<HTMLElement>(`[data-row="${j}"]`); el?.focus(); if (rows[j]) setSel(rows[j].span.span_id); };
    if (e.key === "ArrowDown") { e.preventDefault(); go(Math.min(rows.length - 1, i + 1)); }
    else if (e.key === "ArrowUp") { e.preventDefault(); go(Math.max(0, i - 1)); }
    else if (e.key === "ArrowLeft" && rows[i].hasKids && !collapsed.has(rows[i].span.span_id)) toggle(rows[i].span.span_id);
    else if (e.key === "ArrowRight" && collapsed.has(rows[i].span.span_id)) toggle(rows[i].span.span_id);
    else if (e.key === "Enter" || e.key === " ") { e.preventDefault(); setSel(rows[i].span.span_id); }
  };
  return (
    <div class="trace-page">
      <h1>Trace <code>{t.trace_id}</code></h1>
      <p class="muted">
        {new Date(t.start).toLocaleString()} · {fmtNum(t.duration_ms)} ms · {t.span_count} spans · {t.error_count} errors · services:{" "}
        {t.services.map((s) => <span key={s} class="svc"><i class="dot" style={{ background: hashColor(s) }} />{s} </span>)}
        {missing > 0 && <span class="warn"> · {missing} span(s) whose parent is missing</span>}
      </p>
      <div class="trace-body">
        <div class="waterfall" role="tree" aria-label="Span tree" data-testid="waterfall">
          <div class="wf-head"><span>span</span><span>{fmtNum(total)} ms</span></div>
          {rows.map((r, i) => {
            const s = r.span;
            const left = ((Date.parse(s.start) - t0) / total) * 100;
            const width = Math.max(0.3, (s.duration_ms / total) * 100);
            return (
              <div key={s.span_id} role="treeitem" aria-level={r.depth + 1} aria-selected={s.span_id === sel}
                aria-expanded={r.hasKids ? !collapsed.has(s.span_id) : undefined} tabIndex={s.span_id === sel ? 0 : -1}
                data-row={i} data-span={s.span_id} data-depth={r.depth} data-name={s.name}
                class={"wf-row" + (s.span_id === sel ? " selected" : "") + (s.error ? " error" : "")}
                onClick={() => setSel(s.span_id)} onKeyDown={(e) => onKey(e, i)}>
                <div class="wf-label" style={{ paddingLeft: r.depth * 14 + 4 + "px" }}>
                  {r.hasKids ? <button type="button" class="twisty" tabIndex={-1} aria-hidden="true" onClick={(e) => { e.stopPropagation(); toggle(s.span_id); }}>{collapsed.has(s.span_id) ? "▸" : "▾"}</button> : <span class="twisty" />}
                  <i class="dot" style={{ background: hashColor(s.service) }} />
                  <span class="svc-name">{s.service}</span> <span class="span-name">{s.name}</span>
                  {s.error && <span class="err-badge" aria-label="error">!</span>}
                </div>
                <div class="wf-track">
                  <div class="wf-bar" style={{ left: left + "%", width: width + "%", background: hashColor(s.service) }} />
                  <span class="wf-dur" style={{ left: Math.min(left + width, 88) + "%" }}>{fmtNum(s.duration_ms)} ms</span>
                  {s.events.map((ev, k) => <i key={k} class="wf-event" title={ev.name} style={{ left: ((Date.parse(ev.time) - t0) / total) * 100 + "%" }} />)}
                </div>
              </div>
            );
          })}
        </div>
        {span && (
          <aside class="span-detail" aria-label="Span details">
            <h2>{span.name}</h2>
            <p class="muted">{span.service} · {fmtNum(span.duration_ms)} ms · dataset {span.dataset}{span.error && <span class="errtxt"> · error</span>}</p>
            <table class="fields"><tbody>
              {Object.keys(span.fields).sort().map((k) => <tr key={k}><th scope="row">{k}</th><td>{fieldValue(span.fields[k])}</td></tr>)}
            </tbody></table>
            {span.events.length > 0 && <><h3>Span events</h3>
              <ul class="evlist">{span.events.map((ev, i) => <li key={i}><strong>{ev.name}</strong> <span class="muted">{new Date(ev.time).toLocaleTimeString()}</span>
                <div class="kv">{Object.entries(ev.fields).map(([k, v]) => <div key={k}><b>{k}</b> {fieldValue(v)}</div>)}</div></li>)}</ul></>}
            {span.links.length > 0 && <><h3>Links</h3><ul>{span.links.map((l, i) => <li key={i}><a href={"/ui/traces/" + l.trace_id}>{l.trace_id}</a> / {l.span_id}</li>)}</ul></>}
          </aside>
        )}
      </div>
      <section aria-label="Logs of this trace">
        <h2>Logs ({t.logs.length})</h2>
        {t.logs.length ? <ul class="evlist">{t.logs.map((l, i) => <li key={i}><span class="muted">{new Date(l.time).toLocaleTimeString()}</span> <strong>{String(l.fields.severity ?? "")}</strong> {String(l.fields.body ?? JSON.stringify(l.fields))}</li>)}</ul> : <p class="muted">No log lines carry this trace id.</p>}
        <h2>Errors and other events ({t.events.length})</h2>
        {t.events.length ? <ul class="evlist">{t.events.map((l, i) => <li key={i}><span class="muted">{new Date(l.time).toLocaleTimeString()} {l.dataset}</span> {fieldValue(l.fields)}</li>)}</ul> : <p class="muted">None.</p>}
      </section>
    </div>
  );
}
