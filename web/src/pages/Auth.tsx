import { useState } from "preact/hooks";
import * as api from "../api";

function Field(props: { label: string; type?: string; value: string; set: (v: string) => void; auto?: string; name: string }) {
  return (
    <label class="field">{props.label}
      <input name={props.name} type={props.type || "text"} value={props.value} required autocomplete={props.auto}
        onInput={(e) => props.set((e.target as HTMLInputElement).value)} />
    </label>
  );
}

export function LoginPage(props: { setupNeeded: boolean; onDone: (s: api.Session) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <main class="center">
      <form class="card" aria-labelledby="login-h" onSubmit={(e) => {
        e.preventDefault(); setBusy(true); setErr("");
        api.login(email, password).then(props.onDone).catch((x) => setErr(x.message)).finally(() => setBusy(false));
      }}>
        <h1 id="login-h">Log in to waggle</h1>
        {props.setupNeeded && <p class="note">No account exists yet. Open the one-time setup link that waggle printed in its log at start-up to create the owner.</p>}
        <Field name="email" label="Email" type="email" value={email} set={setEmail} auto="username" />
        <Field name="password" label="Password" type="password" value={password} set={setPassword} auto="current-password" />
        {err && <p role="alert" class="error">{err}</p>}
        <button type="submit" disabled={busy}>Log in</button>
      </form>
    </main>
  );
}

export function SetupPage(props: { onDone: (s: api.Session) => void }) {
  const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [err, setErr] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <main class="center">
      <form class="card" aria-labelledby="setup-h" onSubmit={(e) => {
        e.preventDefault(); setBusy(true); setErr("");
        api.setup(token, email, name, password).then((s) => { history.replaceState(null, "", "/ui/query"); props.onDone(s); })
          .catch((x) => setErr(x.message)).finally(() => setBusy(false));
      }}>
        <h1 id="setup-h">Create the owner account</h1>
        {!token && <p role="alert" class="error">This page needs the setup link's token. Use the full link from waggle's log.</p>}
        <Field name="name" label="Name" value={name} set={setName} auto="name" />
        <Field name="email" label="Email" type="email" value={email} set={setEmail} auto="username" />
        <Field name="password" label="Password (at least 8 characters)" type="password" value={password} set={setPassword} auto="new-password" />
        {err && <p role="alert" class="error">{err}</p>}
        <button type="submit" disabled={busy || !token}>Create owner and log in</button>
      </form>
    </main>
  );
}
