// SLOs of the current dataset (Honeycomb's SLO, burn alert and derived
// column APIs): the list with each SLO's figures, an SLO's page with its
// budget over time and burn alerts, and the forms for SLOs, burn alerts and
// the derived columns SLIs are.
//
//	/slos                     the list, and the dataset's derived columns
//	/slos?edit=new|ID         SLO form (&sli=alias preselects the SLI)
//	/slos/columns?edit=new|ID derived column form
//	/slos/ID                  an SLO (&alert=new|ID: burn alert form)
import { useEffect, useMemo, useState } from "preact/hooks";
import * as api from "../api";
import type { PageProps } from "../app";
import { href, navigate } from "../router";
import { LineChart } from "../components/LineChart";
import { budgetPoints, budgetQuery, pct, targetPct, type BudgetPoints } from "../slo";

const PERIODS = [1, 7, 14, 28, 30, 90];
const val = (e: Event) => (e.target as HTMLInputElement).value;

function Status(props: { s: api.SLO }) {
  const st = props.s.status;
  if (!st) return <span class="status st-muted">—</span>;
  return <span class={"status " + (st === "ok" ? "st-resolved" : "st-active")} data-testid="slo-status">{st}</span>;
}

function BudgetBar(props: { value?: number }) {
  const v = props.value;
  const w = v === undefined ? 0 : Math.max(0, Math.min(100, v));
  const cls = v === undefined ? "" : v <= 0 ? "out" : v < 25 ? "low" : "";
  return (
    <span class="budget">
      <span class="budget-track" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={v === undefined ? undefined : Math.round(v * 100) / 100}
        aria-label="Budget remaining"><span class={"budget-fill " + cls} style={{ width: w + "%" }} /></span>
      <span class="pct" data-testid="budget-remaining">{pct(v)}</span>
    </span>
  );
}

const burnText = (b?: number) => b === undefined ? "—" : b.toFixed(2) + "×";

// --- list ---

export function SLOsPage(props: PageProps) {
  const { route, dataset } = props;
  const editing = route.params.get("edit");
  if (editing !== null) return <SLOForm dataset={dataset} id={editing} sli={route.params.get("sli") || ""} />;
  return <SLOList dataset={dataset} />;
}

function SLOList(props: { dataset: string }) {
  const { dataset } = props;
  const [list, setList] = useState<api.SLO[] | null>(null);
  const [cols, setCols] = useState<api.DerivedColumn[] | null>(null);
  const [missing, setMissing] = useState(false);
  const [err, setErr] = useState("");
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!dataset) return;
    setList(null); setErr("");
    api.slos(dataset)
      // The list has no figures: fetch each SLO ?detailed (they compute in parallel).
      .then((ss) => Promise.all(ss.map((s) => api.slo(dataset, s.id!).catch(() => s))))
      .then(setList)
      .catch((e) => { setList([]); if (e.status === 404 || e.status === 405) setMissing(true); else setErr(e.message); });
    api.derivedColumns(dataset).then(setCols).catch(() => setCols([]));
  }, [dataset, n]);
  const delCol = (d: api.DerivedColumn) => {
    if (confirm(`Delete derived column “${d.alias}”?`)) api.deleteDerivedColumn(dataset, d.id!).then(() => setN(n + 1)).catch((e) => setErr(e.message));
  };
  return (
    <div>
      <h1>SLOs <small>in {dataset}</small></h1>
      {missing && <div class="placeholder" role="note"><p><b>SLOs are not available.</b> This server has no SLO API (<code>/1/slos</code>).</p></div>}
      <p class="row"><a class="button" href={href("/slos?edit=new")}>New SLO</a>
        <a href={href("/slos/columns?edit=new")}>New derived column (SLI)</a></p>
      {err && <p role="alert" class="error">{err}</p>}
      {!list && <p aria-busy="true">Loading…</p>}
      {list && !list.length && !missing && !err && <p class="note">No SLOs on this dataset. An SLO needs an SLI: a derived column whose expression is true for a good event and false for a bad one.</p>}
      {list && list.length > 0 && (
        <table class="grid" aria-label="SLOs">
          <thead><tr><th>name</th><th>SLI</th><th class="num">target</th><th class="num">compliance</th><th>budget remaining</th><th>status</th><th class="num">burn rate (4 h)</th><th /></tr></thead>
          <tbody>{list.map((s) => (
            <tr key={s.id} data-slo={s.name}>
              <td><a href={href("/slos/" + s.id)}><b>{s.name}</b></a>{s.description && <div class="hint">{s.description}</div>}</td>
              <td><code>{s.sli.alias}</code></td>
              <td class="num">{targetPct(s.target_per_million)} <span class="hint">/ {s.time_period_days} d</span></td>
              <td class="num">{pct(s.compliance)}</td>
              <td><BudgetBar value={s.budget_remaining} /></td>
              <td><Status s={s} /></td>
              <td class="num">{burnText(s.burn_rate)}</td>
              <td class="actions"><a href={href("/slos?edit=" + s.id)}>Edit</a></td>
            </tr>))}
          </tbody>
        </table>
      )}
      <h2>Derived columns</h2>
      <p class="hint">An SLI is a boolean derived column: true is a good event, false a bad one, null is not counted.</p>
      {cols && !cols.length && <p class="note">No derived columns on this dataset.</p>}
      {cols && cols.length > 0 && (
        <table class="grid small" aria-label="Derived columns">
          <thead><tr><th>alias</th><th>expression</th><th>description</th><th /></tr></thead>
          <tbody>{cols.map((d) => (
            <tr key={d.id}><td><code>{d.alias}</code></td><td><code>{d.expression}</code></td><td>{d.description}</td>
              <td class="actions"><a href={href("/slos/columns?edit=" + d.id)}>Edit</a>
                <a href={href("/slos?edit=new&sli=" + encodeURIComponent(d.alias))}>New SLO on it</a>
                <button type="button" class="link" onClick={() => delCol(d)}>Delete</button></td></tr>))}
          </tbody>
        </table>
      )}
    </div>
  );
}

// --- derived column form ---

export function DerivedColumnPage({ route, dataset }: PageProps) {
  const id = route.params.get("edit") || "new";
  const [d0, setD0] = useState<api.DerivedColumn | null>(id === "new" ? { alias: "", expression: "", description: "" } : null);
  const [err, setErr] = useState("");
  useEffect(() => {
    if (id === "new" || !dataset) return;
    api.derivedColumns(dataset).then((l) => { const d = l.find((x) => x.id === id); d ? setD0(d) : setErr("No such derived column."); }).catch((e) => setErr(e.message));
  }, [id, dataset]);
  if (!d0) return err ? <p class="error" role="alert">{err}</p> : <p aria-busy="true">Loading…</p>;
  return <DerivedForm dataset={dataset} initial={d0} />;
}

function DerivedForm(props: { dataset: string; initial: api.DerivedColumn }) {
  const d0 = props.initial;
  const [alias, setAlias] = useState(d0.alias);
  const [expr, setExpr] = useState(d0.expression);
  const [desc, setDesc] = useState(d0.description);
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = (e: Event) => {
    e.preventDefault();
    setErr("");
    if (!/^\S+$/.test(alias)) { setErr("The alias is required and has no spaces."); return; }
    setBusy(true);
    api.saveDerivedColumn(props.dataset, { ...d0, alias, expression: expr, description: desc })
      .then((d) => navigate(d0.id ? "/slos" : "/slos?edit=new&sli=" + encodeURIComponent(d.alias)))
      .catch((e) => setErr(e.message)).finally(() => setBusy(false));
  };
  return (
    <form class="panel-form" onSubmit={submit} aria-label={d0.id ? "Edit derived column" : "New derived column"}>
      <h1>{d0.id ? "Edit derived column" : "New derived column"} <small>in {props.dataset}</small></h1>
      <label class="field">Alias <input value={alias} required placeholder="good_request" onInput={(e) => setAlias(val(e))} /></label>
      <label class="field">Expression
        <textarea rows={3} value={expr} required placeholder="$duration_ms < 300 AND $status < 500" aria-invalid={err ? true : undefined}
          aria-describedby="expr-help" onInput={(e) => setExpr(val(e))} data-testid="derived-expression" /></label>
      {err && <p role="alert" class="error" data-testid="derived-error">{err}</p>}
      <p class="hint" id="expr-help">Columns are <code>$name</code>; operators <code>! * / % - + &lt; &lt;= &gt; &gt;= = != AND OR</code> and functions such as
        <code> IF</code>, <code>COALESCE</code>, <code>IN</code>, <code>EXISTS</code>, <code>CONTAINS</code>, <code>REG_MATCH</code>. For an SLI, the expression is a boolean.
        The server checks it against the dataset's columns when it is saved.</p>
      <label class="field">Description <input value={desc} onInput={(e) => setDesc(val(e))} /></label>
      <div class="row"><button type="submit" class="primary" disabled={busy}>{d0.id ? "Save derived column" : "Create derived column"}</button><a href={href("/slos")}>Cancel</a></div>
    </form>
  );
}

// --- SLO form ---

function SLOForm(props: { dataset: string; id: string; sli: string }) {
  const { dataset, id } = props;
  const [s0, setS0] = useState<api.SLO | null>(id === "new"
    ? { name: "", description: "", sli: { alias: props.sli }, time_period_days: 30, target_per_million: 999000 } : null);
  const [cols, setCols] = useState<api.DerivedColumn[]>([]);
  const [err, setErr] = useState("");
  useEffect(() => {
    if (!dataset) return;
    api.derivedColumns(dataset).then(setCols).catch(() => setCols([]));
    if (id !== "new") api.slo(dataset, id, false).then(setS0).catch((e) => setErr(e.message));
  }, [dataset, id]);
  if (!s0) return err ? <p class="error" role="alert">{err}</p> : <p aria-busy="true">Loading…</p>;
  return <SLOFormBody dataset={dataset} initial={s0} cols={cols} />;
}

function SLOFormBody(props: { dataset: string; initial: api.SLO; cols: api.DerivedColumn[] }) {
  const s0 = props.initial;
  const [name, setName] = useState(s0.name);
  const [desc, setDesc] = useState(s0.description);
  const [alias, setAlias] = useState(s0.sli.alias);
  const [target, setTarget] = useState(String(s0.target_per_million / 10000));
  const [days, setDays] = useState(String(s0.time_period_days));
  const [err, setErr] = useState("");
  useEffect(() => { if (!alias && props.cols.length) setAlias(props.cols[0].alias); }, [props.cols]);
  const submit = (e: Event) => {
    e.preventDefault();
    const t = Number(target);
    if (!(t >= 0 && t < 100)) { setErr("The target is a percentage from 0 to below 100 (99.9 for three nines)."); return; }
    const s: api.SLO = { ...s0, name, description: desc, sli: { alias }, time_period_days: Number(days), target_per_million: Math.round(t * 10000) };
    for (const k of ["created_at", "updated_at", "compliance", "budget_remaining", "burn_rate", "status"] as const) delete s[k];
    api.saveSLO(props.dataset, s).then((r) => navigate("/slos/" + r.id)).catch((e) => setErr(e.message));
  };
  const del = () => {
    if (confirm(`Delete SLO “${s0.name}” and its burn alerts?`)) api.deleteSLO(props.dataset, s0.id!).then(() => navigate("/slos")).catch((e) => setErr(e.message));
  };
  const known = props.cols.some((c) => c.alias === alias);
  return (
    <form class="panel-form" onSubmit={submit} aria-label={s0.id ? "Edit SLO" : "New SLO"}>
      <h1>{s0.id ? "Edit SLO" : "New SLO"} <small>in {props.dataset}</small></h1>
      <label class="field">Name <input value={name} required maxLength={120} onInput={(e) => setName(val(e))} /></label>
      <label class="field">Description <input value={desc} onInput={(e) => setDesc(val(e))} /></label>
      <label class="field">SLI (a boolean derived column)
        <select value={alias} required onChange={(e) => setAlias(val(e))}>
          {!props.cols.length && <option value="">(no derived columns yet)</option>}
          {!known && alias && <option value={alias}>{alias}</option>}
          {props.cols.map((c) => <option key={c.id} value={c.alias}>{c.alias} — {c.expression}</option>)}
        </select></label>
      <p class="hint"><a href={href("/slos/columns?edit=new")}>New derived column</a></p>
      <div class="row">
        <label>Target <input type="number" step="any" min="0" max="99.9999" value={target} required style={{ width: "7em" }} onInput={(e) => setTarget(val(e))} /> %</label>
        <label>Period <select value={days} onChange={(e) => setDays(val(e))}>
          {[...new Set([...PERIODS, Number(days)])].sort((a, b) => a - b).map((d) => <option key={d} value={String(d)}>{d} {d === 1 ? "day" : "days"}</option>)}</select></label>
      </div>
      {err && <p role="alert" class="error">{err}</p>}
      <div class="row"><button type="submit" class="primary">{s0.id ? "Save SLO" : "Create SLO"}</button>
        <a href={href(s0.id ? "/slos/" + s0.id : "/slos")}>Cancel</a>
        {s0.id && <button type="button" class="link" onClick={del}>Delete SLO</button>}</div>
    </form>
  );
}

// --- one SLO ---

export function SLOPage({ route, dataset }: PageProps) {
  const id = decodeURIComponent(route.path.slice("/slos/".length));
  const alertEdit = route.params.get("alert");
  const [s, setS] = useState<api.SLO | null>(null);
  const [alerts, setAlerts] = useState<api.BurnAlert[] | null>(null);
  const [points, setPoints] = useState<BudgetPoints | null>(null);
  const [chartErr, setChartErr] = useState("");
  const [err, setErr] = useState("");
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!dataset) return;
    setErr("");
    api.slo(dataset, id).then((x) => {
      setS(x);
      const now = Math.floor(Date.now() / 1000);
      const spec = budgetQuery(x.sli.alias, x.time_period_days, now);
      api.runQuery(dataset, spec).then((d) => setPoints(budgetPoints(d.series || [], spec, x.target_per_million)))
        .catch((e) => setChartErr(e.message));
    }).catch((e) => setErr(e.status === 404 ? "No such SLO in this dataset." : e.message));
    api.burnAlerts(dataset, id).then(setAlerts).catch(() => setAlerts([]));
  }, [dataset, id, n]);
  if (err) return <p role="alert" class="error">{err} <a href={href("/slos")}>All SLOs</a></p>;
  if (!s) return <p aria-busy="true">Loading…</p>;
  if (alertEdit !== null) {
    const a = alertEdit === "new" ? null : alerts?.find((x) => x.id === alertEdit);
    if (alertEdit !== "new" && !a) return alerts ? <p class="error">No such burn alert.</p> : <p aria-busy="true">Loading…</p>;
    return <BurnAlertForm dataset={dataset} slo={s} initial={a || null} onDone={() => { setN(n + 1); navigate("/slos/" + id); }} />;
  }
  const delAlert = (a: api.BurnAlert) => {
    if (confirm("Delete this burn alert?")) api.deleteBurnAlert(dataset, a.id!).then(() => setN(n + 1)).catch((e) => setErr(e.message));
  };
  return (
    <div>
      <p class="crumbs"><a href={href("/slos")}>SLOs</a> ›</p>
      <h1>{s.name} <small>in {dataset}</small> <Status s={s} /></h1>
      {s.description && <p>{s.description}</p>}
      <div class="slo-figures" aria-label="SLO figures">
        <div class="fig"><span class="fig-label">Budget remaining</span><BudgetBar value={s.budget_remaining} /></div>
        <div class="fig"><span class="fig-label">Compliance</span><b data-testid="slo-compliance">{pct(s.compliance, 3)}</b>
          <span class="hint">target {targetPct(s.target_per_million)} over {s.time_period_days} {s.time_period_days === 1 ? "day" : "days"}</span></div>
        <div class="fig"><span class="fig-label">Burn rate (last 4 h)</span><b data-testid="slo-burn">{burnText(s.burn_rate)}</b>
          <span class="hint">{s.burn_rate === undefined ? "" : s.burn_rate > 1 ? "spending faster than the budget allows" : "within the budget's pace"}</span></div>
        <div class="fig"><span class="fig-label">SLI</span><code>{s.sli.alias}</code>
          <span class="hint"><a href={href(`/query?ds=${encodeURIComponent(dataset)}&calc=COUNT&group=${encodeURIComponent(s.sli.alias)}`)}>Query it</a></span></div>
      </div>
      <p class="row"><a href={href("/slos?edit=" + s.id)}>Edit SLO</a></p>
      {chartErr && <p class="error" role="alert">Budget chart: {chartErr}</p>}
      {!points && !chartErr && <p aria-busy="true">Computing the budget over time…</p>}
      {points && <BudgetCharts p={points} />}
      <h2>Burn alerts</h2>
      <p class="hint">Evaluated every minute by the trigger engine; a triggered alert notifies its recipients (see docs/guides/slos.md).</p>
      <p><a class="button" href={href(`/slos/${s.id}?alert=new`)}>New burn alert</a></p>
      {alerts && !alerts.length && <p class="note">No burn alerts on this SLO.</p>}
      {alerts && alerts.length > 0 && (
        <table class="grid" aria-label="Burn alerts">
          <thead><tr><th>state</th><th>condition</th><th>description</th><th>recipients</th><th /></tr></thead>
          <tbody>{alerts.map((a) => (
            <tr key={a.id}>
              <td>{a.triggered ? <span class="status st-active">triggered</span> : <span class="status st-resolved">ok</span>}</td>
              <td>{describeAlert(a)}</td><td>{a.description}</td><td>{a.recipients?.length || 0}</td>
              <td class="actions"><a href={href(`/slos/${s.id}?alert=${a.id}`)}>Edit</a><button type="button" class="link" onClick={() => delAlert(a)}>Delete</button></td>
            </tr>))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function BudgetCharts(props: { p: BudgetPoints }) {
  const { p } = props;
  const budget = useMemo(() => [{ label: "budget remaining %", values: p.budget }], [p]);
  const burn = useMemo(() => [{ label: "burn rate", values: p.burn }], [p]);
  return (
    <div class="slo-charts" data-testid="budget-chart">
      <LineChart title="Budget remaining (%) over the period ending at each point" times={p.times} series={budget} height={200}
        yRange={(min) => [Math.min(0, Math.floor(min / 10) * 10), 100]} />
      <LineChart title="Burn rate per bucket (1 = spends the budget in exactly the period)" times={p.times} series={burn} height={160}
        yRange={(_min, max) => [0, Math.max(2, Math.ceil(max))]} />
    </div>
  );
}

function describeAlert(a: api.BurnAlert) {
  if (a.alert_type === "budget_rate") {
    const h = (a.budget_rate_window_minutes || 0) / 60;
    return `budget drops by ≥ ${((a.budget_rate_decrease_threshold_per_million || 0) / 10000).toString()}% within ${h} h`;
  }
  const m = a.exhaustion_minutes || 0;
  return `budget exhausted within ${m % 60 === 0 ? m / 60 + " h" : m + " min"} at the current burn rate`;
}

function BurnAlertForm(props: { dataset: string; slo: api.SLO; initial: api.BurnAlert | null; onDone: () => void }) {
  const a0: api.BurnAlert = props.initial || { alert_type: "exhaustion_time", exhaustion_minutes: 240, slo: { id: props.slo.id! }, recipients: [] };
  const [type, setType] = useState(a0.alert_type);
  const [exh, setExh] = useState(String((a0.exhaustion_minutes ?? 240) / 60));
  const [win, setWin] = useState(String((a0.budget_rate_window_minutes ?? 60) / 60));
  const [drop, setDrop] = useState(String((a0.budget_rate_decrease_threshold_per_million ?? 10000) / 10000));
  const [desc, setDesc] = useState(a0.description || "");
  const [recips, setRecips] = useState<Set<string>>(new Set((a0.recipients || []).map((r) => r.id!).filter(Boolean)));
  const [all, setAll] = useState<api.Recipient[]>([]);
  const [err, setErr] = useState("");
  useEffect(() => { api.recipients().then(setAll).catch(() => setAll([])); }, []);
  const submit = (e: Event) => {
    e.preventDefault();
    const b: api.BurnAlert = { alert_type: type, description: desc, slo: { id: props.slo.id! }, recipients: [...recips].map((id) => ({ id })) };
    if (a0.id) b.id = a0.id;
    if (type === "exhaustion_time") b.exhaustion_minutes = Math.round(Number(exh) * 60);
    else { b.budget_rate_window_minutes = Math.round(Number(win) * 60); b.budget_rate_decrease_threshold_per_million = Math.round(Number(drop) * 10000); }
    api.saveBurnAlert(props.dataset, b).then(props.onDone).catch((e) => setErr(e.message));
  };
  return (
    <form class="panel-form" onSubmit={submit} aria-label={a0.id ? "Edit burn alert" : "New burn alert"}>
      <h1>{a0.id ? "Edit burn alert" : "New burn alert"} <small>on {props.slo.name}</small></h1>
      <fieldset><legend>Alert when</legend>
        <label class="check"><input type="radio" name="type" checked={type === "exhaustion_time"} onChange={() => setType("exhaustion_time")} />
          {" "}the budget would be exhausted within <input type="number" step="any" min="0" value={exh} disabled={type !== "exhaustion_time"} style={{ width: "6em" }}
            aria-label="Exhaustion hours" onInput={(e) => setExh(val(e))} /> hours at the burn rate of the last 4 hours</label>
        <label class="check"><input type="radio" name="type" checked={type === "budget_rate"} onChange={() => setType("budget_rate")} />
          {" "}the budget dropped by <input type="number" step="any" min="0.0001" max="100" value={drop} disabled={type !== "budget_rate"} style={{ width: "6em" }}
            aria-label="Budget drop percent" onInput={(e) => setDrop(val(e))} /> % or more within <input type="number" step="any" min="1" value={win}
            disabled={type !== "budget_rate"} style={{ width: "5em" }} aria-label="Window hours" onInput={(e) => setWin(val(e))} /> hours</label>
      </fieldset>
      <label class="field">Description <input value={desc} onInput={(e) => setDesc(val(e))} /></label>
      <fieldset><legend>Recipients</legend>
        {!all.length && <p class="hint">No recipients yet (create them with the recipients API).</p>}
        {all.map((r) => <label key={r.id} class="check"><input type="checkbox" checked={recips.has(r.id)} onChange={(e) => {
          const s = new Set(recips); (e.target as HTMLInputElement).checked ? s.add(r.id) : s.delete(r.id); setRecips(s);
        }} /> {r.type} {r.details?.slack_channel || r.details?.email_address || r.details?.webhook_url || r.details?.webhook_name || r.details?.pagerduty_integration_name || r.id}</label>)}
      </fieldset>
      {err && <p role="alert" class="error">{err}</p>}
      <div class="row"><button type="submit" class="primary">Save burn alert</button><a href={href("/slos/" + props.slo.id)}>Cancel</a></div>
    </form>
  );
}
