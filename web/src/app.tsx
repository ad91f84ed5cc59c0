// The app shell: session bootstrap, the layout (header with environment and
// dataset pickers, navigation), and the route table. A new page is a
// component in pages/ plus one line in ROUTES.
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import * as api from "./api";
import { href, navigate, onLinkClick, useRoute, type Route } from "./router";
import { LoginPage, SetupPage } from "./pages/Auth";
import { QueryPage } from "./pages/Query";
import { TracesPage } from "./pages/Traces";
import { TracePage } from "./pages/Trace";
import { HistoryPage } from "./pages/History";
import { LogsPage } from "./pages/Logs";
import { ErrorsPage, ErrorItemPage } from "./pages/Errors";
import { BoardsPage, BoardPage } from "./pages/Boards";
import { TriggersPage } from "./pages/Triggers";
import { SLOsPage, SLOPage, DerivedColumnPage } from "./pages/SLOs";
import { SettingsPage } from "./pages/Settings";

export interface PageProps { route: Route; session: api.Session; datasets: api.Dataset[]; dataset: string; }

const ROUTES: { match: RegExp; page: ComponentType<PageProps>; nav?: string }[] = [
  { match: /^\/(query)?$/, page: QueryPage, nav: "Query" },
  { match: /^\/traces$/, page: TracesPage, nav: "Traces" },
  { match: /^\/traces\/[^/]+$/, page: TracePage },
  { match: /^\/history$/, page: HistoryPage, nav: "History" },
  { match: /^\/logs$/, page: LogsPage },
  { match: /^\/errors$/, page: ErrorsPage },
  { match: /^\/errors\/[^/]+$/, page: ErrorItemPage },
  { match: /^\/boards$/, page: BoardsPage },
  { match: /^\/boards\/[^/]+$/, page: BoardPage },
  { match: /^\/triggers$/, page: TriggersPage },
  { match: /^\/slos$/, page: SLOsPage },
  { match: /^\/slos\/columns$/, page: DerivedColumnPage },
  { match: /^\/slos\/[^/]+$/, page: SLOPage },
  { match: /^\/settings(\/[a-z]+)?$/, page: SettingsPage },
];
const NAV: { to: string; label: string }[] = [
  { to: "/query", label: "Query" }, { to: "/traces", label: "Traces" }, { to: "/logs", label: "Logs" }, { to: "/errors", label: "Errors" },
  { to: "/boards", label: "Boards" }, { to: "/triggers", label: "Triggers" }, { to: "/slos", label: "SLOs" }, { to: "/history", label: "History" },
  { to: "/settings", label: "Settings" },
];

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<api.Session | null>(null);
  const [error, setError] = useState("");
  const load = () => api.session().then((s) => {
    api.setCSRF(s.csrf || "");
    api.setTeam(s.team || "");
    setSession(s);
  }).catch((e) => setError(String(e.message || e)));
  useEffect(() => { load(); api.setOnUnauthorized(() => load()); }, []);

  if (error) return <main class="center"><p role="alert">Cannot reach waggle: {error}</p></main>;
  if (!session) return <main class="center"><p aria-busy="true">Loading…</p></main>;
  if (!session.user) {
    if (route.path === "/setup") return <SetupPage onDone={(s) => { api.setCSRF(s.csrf || ""); setSession(s); navigate("/query", true); }} />;
    return <LoginPage setupNeeded={session.setup_needed} onDone={(s) => { api.setCSRF(s.csrf || ""); setSession(s); if (route.path === "/setup" || route.path === "/login") navigate("/query", true); }} />;
  }
  return <Shell route={route} session={session} onLogout={() => api.logout().finally(() => { setSession({ setup_needed: false }); navigate("/login"); })} />;
}

function Shell(props: { route: Route; session: api.Session; onLogout: () => void }) {
  const { route, session } = props;
  api.setTeam(session.team || "");
  const envs = session.environments || [];
  const [env, setEnv] = useState(() => localStorage.getItem("waggle.env") || envs[0]?.slug || "");
  const [datasets, setDatasets] = useState<api.Dataset[] | null>(null);
  api.setEnvironment(env);
  useEffect(() => {
    setDatasets(null);
    api.datasets().then((d) => setDatasets(d.sort((a, b) => a.slug.localeCompare(b.slug)))).catch(() => setDatasets([]));
  }, [env]);
  const dataset = route.params.get("ds") || localStorage.getItem("waggle.ds." + env) || datasets?.[0]?.slug || "";
  const pickDataset = (ds: string) => {
    localStorage.setItem("waggle.ds." + env, ds);
    const p = new URLSearchParams(route.params);
    p.set("ds", ds);
    navigate(route.path + "?" + p.toString());
  };
  const r = ROUTES.find((x) => x.match.test(route.path));
  const Page = r?.page;
  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href={href("/query")}>waggle</a>
        <nav aria-label="Main">
          {NAV.map((n) => <a key={n.to} href={href(n.to + (dataset ? "?ds=" + encodeURIComponent(dataset) : ""))} aria-current={route.path.startsWith(n.to) ? "page" : undefined}>{n.label}</a>)}
        </nav>
        <div class="pickers">
          <label>Environment
            <select value={env} onChange={(e) => { const v = (e.target as HTMLSelectElement).value; localStorage.setItem("waggle.env", v); setEnv(v); navigate(route.path); }}>
              {envs.map((e) => <option key={e.slug} value={e.slug}>{e.name}</option>)}
            </select>
          </label>
          <label>Dataset
            <select value={dataset} onChange={(e) => pickDataset((e.target as HTMLSelectElement).value)} data-testid="dataset-picker">
              {(datasets || []).map((d) => <option key={d.slug} value={d.slug}>{d.name}</option>)}
              {datasets && !datasets.length && <option value="">(no datasets yet)</option>}
            </select>
          </label>
          <span class="who" title={session.user!.role}>{session.user!.email} · {session.user!.role}</span>
          <button type="button" class="link" onClick={props.onLogout}>Log out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {datasets === null ? <p aria-busy="true">Loading datasets…</p>
          : Page ? <Page key={env} route={route} session={session} datasets={datasets} dataset={dataset} />
          : <p>Page not found. <a href={href("/query")}>Go to the query builder</a>.</p>}
      </main>
    </div>
  );
}
