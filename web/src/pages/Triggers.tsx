// Triggers of the current dataset (Honeycomb's trigger API): their state,
// a create/edit form and each trigger's delivery log. (SLOs: SLOs.tsx.)
import { useEffect, useState } from "preact/hooks";
import * as api from "../api";
import type { PageProps } from "../app";
import { href, navigate } from "../router";
import { calcLabel, parseCalc, parseFilter } from "../query";

const OPS = [">", ">=", "<", "<="];
const FREQS: [number, string][] = [[60, "1 minute"], [300, "5 minutes"], [900, "15 minutes"], [1800, "30 minutes"], [3600, "1 hour"], [86400, "1 day"]];

function blank(): api.Trigger {
  return { name: "", description: "", disabled: false, query: { calculations: [{ op: "COUNT" }], time_range: 900 },
    threshold: { op: ">", value: 0 }, frequency: 900, alert_type: "on_change", recipients: [] };
}

export function TriggersPage({ route, dataset }: PageProps) {
  const editing = route.params.get("edit");
  const [list, setList] = useState<api.Trigger[] | null>(null);
  const [err, setErr] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!dataset) return;
    setList(null);
    api.triggers(dataset).then(setList).catch((e) => { setList([]); setErr(e.status === 404 ? "The trigger API is not available on this server." : e.message); });
  }, [dataset, n]);
  if (editing !== null) {
    const t = editing === "new" ? blank() : list?.find((x) => x.id === editing);
    if (!t) return list ? <p class="error">No such trigger.</p> : <p aria-busy="true">Loading…</p>;
    return <TriggerForm dataset={dataset} initial={t} onDone={() => { setN(n + 1); navigate("/triggers"); }} />;
  }
  return (
    <div>
      <h1>Triggers <small>in {dataset}</small></h1>
      <p><a class="button" href={href("/triggers?edit=new")}>New trigger</a></p>
      {err && <p role="alert" class="error">{err}</p>}
      {!list && <p aria-busy="true">Loading…</p>}
      {list && !list.length && !err && <p class="note">No triggers on this dataset.</p>}
      {list && list.length > 0 && (
        <table class="grid" aria-label="Triggers">
          <thead><tr><th>state</th><th>name</th><th>condition</th><th>every</th><th>recipients</th><th /></tr></thead>
          <tbody>
            {list.map((t) => [
              <tr key={t.id}>
                <td>{t.disabled ? <span class="status st-muted">disabled</span> : t.triggered ? <span class="status st-active">triggered</span> : <span class="status st-resolved">ok</span>}</td>
                <td><b>{t.name}</b>{t.description && <div class="hint">{t.description}</div>}</td>
                <td><code>{describe(t)}</code></td>
                <td>{FREQS.find(([s]) => s === t.frequency)?.[1] || t.frequency + " s"}</td>
                <td>{t.recipients.length}</td>
                <td class="actions">
                  <a href={href("/triggers?edit=" + t.id)}>Edit</a>
                  <button type="button" class="link" aria-expanded={open === t.id} onClick={() => setOpen(open === t.id ? null : t.id!)}>Delivery log</button>
                  <button type="button" class="link" onClick={() => { if (confirm(`Delete trigger “${t.name}”?`)) api.deleteTrigger(dataset, t.id!).then(() => setN(n + 1)).catch((e) => setErr(e.message)); }}>Delete</button>
                </td>
              </tr>,
              open === t.id && <tr key={t.id + "-log"}><td colSpan={6}><DeliveryLog dataset={dataset} id={t.id!} /></td></tr>,
            ])}
          </tbody>
        </table>
      )}
    </div>
  );
}

function describe(t: api.Trigger) {
  const q = t.query || {};
  const calc = (q.calculations || []).map((c: any) => calcLabel(c)).join(", ") || "COUNT";
  const where = (q.filters || []).map((f: any) => `${f.column} ${f.op} ${f.value ?? ""}`.trim()).join(" AND ");
  return `${calc}${where ? " WHERE " + where : ""} ${t.threshold.op} ${t.threshold.value} over ${(q.time_range || 900) / 60} min`;
}

function DeliveryLog(props: { dataset: string; id: string }) {
  const [ds, setDs] = useState<api.Delivery[] | null>(null);
  const [err, setErr] = useState("");
  useEffect(() => {
    api.deliveries(props.dataset, props.id).then((r) => setDs(Array.isArray(r) ? r : r.deliveries || [])).catch((e) => setErr(e.message));
  }, [props.id]);
  if (err) return <p class="error">{err}</p>;
  if (!ds) return <p aria-busy="true">Loading…</p>;
  if (!ds.length) return <p class="note">No notifications sent yet.</p>;
  return (
    <table class="grid small" aria-label="Delivery log">
      <thead><tr><th>when</th><th>recipient</th><th>status</th><th>attempts</th><th>last answer</th></tr></thead>
      <tbody>{ds.map((d) => <tr key={d.id}><td>{new Date(d.created_at).toLocaleString()}</td><td>{d.recipient_id}</td><td>{d.status}</td><td>{d.attempts}</td>
        <td>{d.last_status || ""} {d.last_error || ""}</td></tr>)}</tbody>
    </table>
  );
}

function TriggerForm(props: { dataset: string; initial: api.Trigger; onDone: () => void }) {
  const t0 = props.initial;
  const q0 = t0.query || {};
  const [name, setName] = useState(t0.name);
  const [desc, setDesc] = useState(t0.description);
  const [calc, setCalc] = useState(q0.calculations?.[0] ? calcLabel(q0.calculations[0]) : "COUNT");
  const [where, setWhere] = useState((q0.filters || []).map((f: any) => `${f.column} ${f.op} ${f.value ?? ""}`.trim()).join("\n"));
  const [range, setRange] = useState(String(q0.time_range || 900));
  const [op, setOp] = useState(t0.threshold.op);
  const [value, setValue] = useState(String(t0.threshold.value ?? 0));
  const [freq, setFreq] = useState(String(t0.frequency));
  const [alertType, setAlertType] = useState(t0.alert_type || "on_change");
  const [disabled, setDisabled] = useState(t0.disabled);
  const [recips, setRecips] = useState<Set<string>>(new Set(t0.recipients.map((r) => r.id!).filter(Boolean)));
  const [all, setAll] = useState<api.Recipient[]>([]);
  const [err, setErr] = useState("");
  useEffect(() => { api.recipients().then(setAll).catch(() => setAll([])); }, []);
  const submit = (e: Event) => {
    e.preventDefault();
    const c = parseCalc(calc);
    if (!c) { setErr(`Cannot read the calculation "${calc}"`); return; }
    const filters = where.split("\n").map((s: string) => s.trim()).filter(Boolean).map(parseFilter);
    if (filters.some((f: unknown) => !f)) { setErr("A WHERE line does not read as: column op value"); return; }
    const t: api.Trigger = { ...t0, name, description: desc, disabled, alert_type: alertType, frequency: Number(freq),
      threshold: { ...t0.threshold, op, value: Number(value) },
      query: { calculations: [c], ...(filters.length ? { filters } : {}), time_range: Number(range) },
      recipients: [...recips].map((id) => ({ id })) };
    delete t.query_id; delete t.triggered; delete t.created_at; delete t.updated_at; delete t.dataset_slug;
    api.saveTrigger(props.dataset, t).then(props.onDone).catch((e) => setErr(e.message));
  };
  return (
    <form class="panel-form" onSubmit={submit} aria-label={t0.id ? "Edit trigger" : "New trigger"}>
      <h1>{t0.id ? "Edit trigger" : "New trigger"} <small>in {props.dataset}</small></h1>
      <label class="field">Name <input value={name} required onInput={(e) => setName((e.target as HTMLInputElement).value)} /></label>
      <label class="field">Description <input value={desc} onInput={(e) => setDesc((e.target as HTMLInputElement).value)} /></label>
      <label class="field">Calculation <input value={calc} placeholder="COUNT, P99(duration_ms)…" onInput={(e) => setCalc((e.target as HTMLInputElement).value)} /></label>
      <label class="field">Where (one filter a line: column op value) <textarea rows={2} value={where} onInput={(e) => setWhere((e.target as HTMLTextAreaElement).value)} /></label>
      <div class="row">
        <label>Over the last <select value={range} onChange={(e) => setRange((e.target as HTMLSelectElement).value)}>
          {FREQS.map(([s, l]) => <option key={s} value={String(s)}>{l}</option>)}</select></label>
        <label>Threshold <select value={op} onChange={(e) => setOp((e.target as HTMLSelectElement).value)}>{OPS.map((o) => <option key={o}>{o}</option>)}</select>
          <input type="number" step="any" value={value} style={{ width: "8em" }} onInput={(e) => setValue((e.target as HTMLInputElement).value)} /></label>
        <label>Check every <select value={freq} onChange={(e) => setFreq((e.target as HTMLSelectElement).value)}>
          {FREQS.map(([s, l]) => <option key={s} value={String(s)}>{l}</option>)}</select></label>
        <label>Notify <select value={alertType} onChange={(e) => setAlertType((e.target as HTMLSelectElement).value)}>
          <option value="on_change">when the state changes</option><option value="on_true">every time it is true</option></select></label>
        <label><input type="checkbox" checked={disabled} onChange={(e) => setDisabled((e.target as HTMLInputElement).checked)} /> Disabled</label>
      </div>
      <fieldset><legend>Recipients</legend>
        {!all.length && <p class="hint">No recipients yet (create them with the recipients API).</p>}
        {all.map((r) => <label key={r.id} class="check"><input type="checkbox" checked={recips.has(r.id)} onChange={(e) => {
          const s = new Set(recips); (e.target as HTMLInputElement).checked ? s.add(r.id) : s.delete(r.id); setRecips(s);
        }} /> {r.type} {r.details?.slack_channel || r.details?.email_address || r.details?.webhook_url || r.details?.webhook_name || r.details?.pagerduty_integration_name || r.id}</label>)}
      </fieldset>
      {err && <p role="alert" class="error">{err}</p>}
      <div class="row"><button type="submit" class="primary">Save trigger</button><a href={href("/triggers")}>Cancel</a></div>
    </form>
  );
}
