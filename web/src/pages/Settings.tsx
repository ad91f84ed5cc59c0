// Settings: the account (password, sessions), users and roles (owners),
// environments, API keys (the secret shown once), AWS access key pairs and
// Rollbar tokens of the environment, and datasets (retention, column
// descriptions, hidden columns).
import { useEffect, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import * as api from "../api";
import type { PageProps } from "../app";
import { href, navigate } from "../router";

const TABS: [string, string][] = [["account", "Account"], ["users", "Users"], ["environments", "Environments"], ["keys", "API keys"],
  ["aws", "AWS credentials"], ["rollbar", "Rollbar tokens"], ["datasets", "Datasets"]];

export function SettingsPage(props: PageProps) {
  const tab = props.route.path.split("/")[2] || "account";
  const owner = props.session.user?.role === "owner";
  return (
    <div class="settings">
      <h1>Settings</h1>
      <nav class="tabs" aria-label="Settings sections">
        {TABS.map(([k, l]) => <a key={k} class="tab" href={href("/settings/" + k)} aria-current={tab === k ? "page" : undefined}>{l}</a>)}
      </nav>
      {!owner && ["users", "keys", "aws", "rollbar", "environments"].includes(tab) && <p class="note">Only owners can change these settings; you can look.</p>}
      {tab === "account" && <Account />}
      {tab === "users" && <Users owner={owner} me={props.session.user!.id} />}
      {tab === "environments" && <Environments owner={owner} />}
      {tab === "keys" && <Keys owner={owner} />}
      {tab === "aws" && <AWS owner={owner} />}
      {tab === "rollbar" && <Rollbar owner={owner} />}
      {tab === "datasets" && <Datasets {...props} />}
    </div>
  );
}

function useLoad<T>(f: () => Promise<T>, deps: unknown[] = []): [T | null, string, () => void, (e: string) => void] {
  const [v, setV] = useState<T | null>(null);
  const [err, setErr] = useState("");
  const [n, setN] = useState(0);
  useEffect(() => { f().then((x) => { setV(x); setErr(""); }).catch((e) => setErr(e.message)); }, [n, ...deps]);
  return [v, err, () => setN((x) => x + 1), setErr];
}

function Section(props: { title: string; children: ComponentChildren }) {
  return <section class="set-section" aria-label={props.title}><h2>{props.title}</h2>{props.children}</section>;
}

const val = (e: Event) => (e.target as HTMLInputElement).value;

function Account() {
  const [cur, setCur] = useState("");
  const [pw, setPw] = useState("");
  const [msg, setMsg] = useState("");
  const [err, setErr] = useState("");
  const [count, , reload] = useLoad(() => api.sessionCount());
  return (
    <>
      <Section title="Change password">
        <form class="stack-form narrow" onSubmit={(e) => { e.preventDefault(); setMsg(""); setErr("");
          api.changePassword(cur, pw).then(() => { setMsg("Password changed; your other sessions were ended."); setCur(""); setPw(""); reload(); }).catch((e) => setErr(e.message)); }}>
          <label class="field">Current password <input type="password" autoComplete="current-password" value={cur} required onInput={(e) => setCur(val(e))} /></label>
          <label class="field">New password <input type="password" autoComplete="new-password" minLength={8} value={pw} required onInput={(e) => setPw(val(e))} /></label>
          <button type="submit" class="primary">Change password</button>
        </form>
      </Section>
      <Section title="Sessions">
        <p>{count ? `You have ${count.count} open session${count.count === 1 ? "" : "s"} (this one included).` : "…"}</p>
        <button type="button" onClick={() => api.revokeSessions().then((r) => { setMsg(`Ended ${r.revoked} other session${r.revoked === 1 ? "" : "s"}.`); reload(); }).catch((e) => setErr(e.message))}>
          Log out everywhere else</button>
      </Section>
      {msg && <p role="status" class="ok">{msg}</p>}
      {err && <p role="alert" class="error">{err}</p>}
    </>
  );
}

function Users(props: { owner: boolean; me: number }) {
  const [list, err, reload, setErr] = useLoad(() => api.users());
  const [f, setF] = useState({ email: "", name: "", password: "", role: "member" });
  return (
    <>
      <Section title="Users">
        <table class="grid" aria-label="Users">
          <thead><tr><th>name</th><th>email</th><th>role</th></tr></thead>
          <tbody>{(list || []).map((u) => <tr key={u.id}><td>{u.name}</td><td>{u.email}{u.id === props.me ? " (you)" : ""}</td>
            <td>{props.owner ? <select aria-label={`Role of ${u.email}`} value={u.role} onChange={(e) => api.setRole(u.id, (e.target as HTMLSelectElement).value).then(reload).catch((e) => { setErr(e.message); reload(); })}>
              {["owner", "member", "viewer"].map((r) => <option key={r}>{r}</option>)}</select> : u.role}</td></tr>)}</tbody>
        </table>
      </Section>
      {props.owner && <Section title="Add a user">
        <p class="hint">Tell them their password; they can change it under Account.</p>
        <form class="row" onSubmit={(e) => { e.preventDefault(); api.createUser(f).then(() => { setF({ email: "", name: "", password: "", role: "member" }); reload(); }).catch((e) => setErr(e.message)); }}>
          <label>Name <input value={f.name} onInput={(e) => setF({ ...f, name: val(e) })} /></label>
          <label>Email <input type="email" required value={f.email} onInput={(e) => setF({ ...f, email: val(e) })} /></label>
          <label>Password <input type="password" autoComplete="new-password" minLength={8} required value={f.password} onInput={(e) => setF({ ...f, password: val(e) })} /></label>
          <label>Role <select value={f.role} onChange={(e) => setF({ ...f, role: (e.target as HTMLSelectElement).value })}>{["member", "viewer", "owner"].map((r) => <option key={r}>{r}</option>)}</select></label>
          <button type="submit" class="primary">Add user</button>
        </form>
      </Section>}
      {err && <p role="alert" class="error">{err}</p>}
    </>
  );
}

function Environments(props: { owner: boolean }) {
  const [list, err, reload, setErr] = useLoad(() => api.environmentsFull());
  const [name, setName] = useState("");
  return (
    <Section title="Environments">
      <table class="grid" aria-label="Environments">
        <thead><tr><th>name</th><th>slug</th><th>description</th></tr></thead>
        <tbody>{(list?.data || []).map((e) => <tr key={e.id}><td>{e.attributes.name}</td><td><code>{e.attributes.slug}</code></td><td>{e.attributes.description}</td></tr>)}</tbody>
      </table>
      {props.owner && <form class="row" onSubmit={(e) => { e.preventDefault(); api.createEnvironment(name).then(() => { setName(""); reload(); }).catch((e) => setErr(e.message)); }}>
        <label>New environment <input value={name} required onInput={(e) => setName(val(e))} /></label>
        <button type="submit">Create</button><span class="hint">Reload the page to pick it in the header.</span>
      </form>}
      {err && <p role="alert" class="error">{err}</p>}
    </Section>
  );
}

function Keys(props: { owner: boolean }) {
  const [list, err, reload, setErr] = useLoad(() => api.apiKeys());
  const [envs] = useLoad(() => api.environmentsFull());
  const [name, setName] = useState("");
  const [kind, setKind] = useState("ingest");
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const envID = envs?.data.find((e) => e.attributes.slug === api.environment())?.id || envs?.data[0]?.id || "";
  const create = (e: Event) => {
    e.preventDefault();
    const perms = kind === "configuration" ? { run_queries: true, manage_queries: true, manage_boards: true, manage_markers: true, manage_triggers: true } : undefined;
    api.createApiKey(name, kind, envID, perms).then((r) => { setSecret({ name, secret: r.data.attributes.secret || "" }); setName(""); reload(); }).catch((e) => setErr(e.message));
  };
  return (
    <Section title={`API keys of ${api.environment() || "this environment"}`}>
      {secret && <div class="secret-once" role="status" data-testid="key-secret">
        <p>Key <b>{secret.name}</b> created. Copy its secret now: it is <b>shown only once</b>.</p>
        <code class="secret">{secret.secret}</code>
        <button type="button" onClick={() => navigator.clipboard?.writeText(secret.secret).catch(() => {})}>Copy</button>
        <button type="button" onClick={() => setSecret(null)}>I have copied it</button>
      </div>}
      <table class="grid" aria-label="API keys">
        <thead><tr><th>name</th><th>type</th><th>id</th><th>state</th><th /></tr></thead>
        <tbody>{(list?.data || []).map((k) => <tr key={k.id}><td>{k.attributes.name}</td><td>{k.attributes.key_type}</td><td><code>{k.id}</code></td>
          <td>{k.attributes.disabled ? "disabled" : "enabled"}</td>
          <td>{props.owner && <button type="button" class="link" onClick={() => { if (confirm(`Revoke key “${k.attributes.name}”? Clients using it stop working at once.`)) api.deleteApiKey(k.id).then(reload).catch((e) => setErr(e.message)); }}>Revoke</button>}</td></tr>)}</tbody>
      </table>
      {props.owner && <form class="row" onSubmit={create} aria-label="New API key">
        <label>Name <input value={name} required onInput={(e) => setName(val(e))} data-testid="key-name" /></label>
        <label>Type <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}><option value="ingest">ingest (send events)</option><option value="configuration">configuration (queries, boards, triggers)</option></select></label>
        <button type="submit" class="primary">Create key</button>
      </form>}
      {err && <p role="alert" class="error">{err}</p>}
    </Section>
  );
}

function AWS(props: { owner: boolean }) {
  const [list, err, reload, setErr] = useLoad(() => api.awsCreds());
  const [id, setID] = useState("");
  const [secret, setSecret] = useState("");
  return (
    <Section title="AWS access key pairs">
      <p class="hint">The X-Ray daemon, the AWS CLI and the AWS SDKs sign CloudWatch Logs and X-Ray requests with one of these (SigV4). The secret is stored encrypted and never shown again.</p>
      <table class="grid" aria-label="AWS credentials">
        <thead><tr><th>access key id</th><th>created</th><th>updated</th><th /></tr></thead>
        <tbody>{(list || []).map((c) => <tr key={c.access_key_id}><td><code>{c.access_key_id}</code></td><td>{new Date(c.created_at).toLocaleString()}</td><td>{new Date(c.updated_at).toLocaleString()}</td>
          <td>{props.owner && <button type="button" class="link" onClick={() => { if (confirm(`Delete ${c.access_key_id}?`)) api.deleteAWSCred(c.access_key_id).then(reload).catch((e) => setErr(e.message)); }}>Delete</button>}</td></tr>)}</tbody>
      </table>
      {list && !list.length && <p class="note">None in this environment.</p>}
      {props.owner && <form class="row" onSubmit={(e) => { e.preventDefault(); api.setAWSCred(id, secret).then(() => { setID(""); setSecret(""); reload(); }).catch((e) => setErr(e.message)); }}>
        <label>Access key id <input value={id} required autoComplete="off" onInput={(e) => setID(val(e))} /></label>
        <label>Secret access key <input type="password" value={secret} required autoComplete="off" onInput={(e) => setSecret(val(e))} /></label>
        <button type="submit" class="primary">Add</button>
      </form>}
      {err && <p role="alert" class="error">{err}</p>}
    </Section>
  );
}

function Rollbar(props: { owner: boolean }) {
  const [list, err, reload, setErr] = useLoad(() => api.rollbarTokens());
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Set<string>>(new Set(["post_server_item"]));
  const [made, setMade] = useState<api.RollbarToken | null>(null);
  const all = ["post_server_item", "post_client_item", "read", "write"];
  return (
    <Section title="Rollbar access tokens">
      {made && <div class="secret-once" role="status"><p>Token <b>{made.name}</b> created. Copy it now: it is <b>shown only once</b>.</p>
        <code class="secret">{made.token}</code> <button type="button" onClick={() => setMade(null)}>I have copied it</button></div>}
      <table class="grid" aria-label="Rollbar tokens">
        <thead><tr><th>name</th><th>scopes</th><th>created</th><th /></tr></thead>
        <tbody>{(list || []).map((t) => <tr key={t.id}><td>{t.name}</td><td>{t.scopes.join(", ")}</td><td>{new Date(t.created_at).toLocaleString()}</td>
          <td>{props.owner && <button type="button" class="link" onClick={() => { if (confirm(`Revoke token “${t.name}”?`)) api.deleteRollbarToken(t.id).then(reload).catch((e) => setErr(e.message)); }}>Revoke</button>}</td></tr>)}</tbody>
      </table>
      {props.owner && <form class="row" onSubmit={(e) => { e.preventDefault(); api.createRollbarToken(name, [...scopes]).then((t) => { setMade(t); setName(""); reload(); }).catch((e) => setErr(e.message)); }}>
        <label>Name <input value={name} required onInput={(e) => setName(val(e))} /></label>
        {all.map((s) => <label key={s} class="check"><input type="checkbox" checked={scopes.has(s)} onChange={(e) => { const n = new Set(scopes); (e.target as HTMLInputElement).checked ? n.add(s) : n.delete(s); setScopes(n); }} /> {s}</label>)}
        <button type="submit" class="primary">Create token</button>
      </form>}
      {err && <p role="alert" class="error">{err}</p>}
    </Section>
  );
}

function Datasets({ datasets, route }: PageProps) {
  const slug = route.params.get("dataset") || datasets[0]?.slug || "";
  const [ds, err, reload, setErr] = useLoad(() => (slug ? api.dataset(slug) : Promise.resolve(null)), [slug]);
  const [cols, , reloadCols] = useLoad(() => (slug ? api.columns(slug) : Promise.resolve([])), [slug]);
  const [ret, setRet] = useState("");
  const [msg, setMsg] = useState("");
  useEffect(() => setRet(ds?.retention_days ? String(ds.retention_days) : ""), [ds]);
  const saveCol = (c: api.Column, body: Record<string, unknown>) => api.updateColumn(slug, c.id!, body).then(() => { setMsg(`Column ${c.key_name} saved.`); reloadCols(); }).catch((e) => setErr(e.message));
  return (
    <>
      <Section title="Dataset">
        <div class="row">
          <label>Dataset <select value={slug} onChange={(e) => navigate("/settings/datasets?dataset=" + encodeURIComponent((e.target as HTMLSelectElement).value))}>
            {datasets.map((d) => <option key={d.slug} value={d.slug}>{d.name}</option>)}</select></label>
        </div>
        {ds && <form class="row" onSubmit={(e) => { e.preventDefault(); api.updateDataset(slug, { retention_days: Number(ret) }).then(() => { setMsg("Retention saved."); reload(); }).catch((e) => setErr(e.message)); }}>
          <label>Keep events for <input type="number" min={1} max={3650} value={ret} style={{ width: "6em" }} onInput={(e) => setRet(val(e))} /> days</label>
          <button type="submit">Save retention</button>
          <span class="hint">Events older than this are deleted.</span>
        </form>}
      </Section>
      <Section title="Columns">
        <table class="grid" aria-label="Columns">
          <thead><tr><th>column</th><th>type</th><th>description</th><th>hidden</th></tr></thead>
          <tbody>{(cols || []).map((c) => <tr key={c.key_name}><td><code>{c.key_name}</code></td><td>{c.type}</td>
            <td><input aria-label={`Description of ${c.key_name}`} value={c.description || ""} placeholder="(none)" onChange={(e) => saveCol(c, { description: val(e) })} /></td>
            <td><input type="checkbox" aria-label={`Hide ${c.key_name}`} checked={!!c.hidden} onChange={(e) => saveCol(c, { hidden: (e.target as HTMLInputElement).checked })} /></td></tr>)}</tbody>
        </table>
      </Section>
      {msg && <p role="status" class="ok">{msg}</p>}
      {err && <p role="alert" class="error">{err}</p>}
    </>
  );
}
