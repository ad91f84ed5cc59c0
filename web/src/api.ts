// API client: every call goes to /ui/api with the session cookie, the CSRF
// token and the selected environment. Pages import from here only.

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

let csrf = "";
let env = "";

export function setCSRF(t: string) { csrf = t; }
export function setEnvironment(slug: string) { env = slug; }
export function environment() { return env; }

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { "X-Waggle-CSRF": csrf || "1" };
  if (env) headers["X-Waggle-Environment"] = env;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch("/ui/api" + path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any = undefined;
  try { data = text ? JSON.parse(text) : undefined; } catch { /* not JSON */ }
  if (!res.ok) {
    const msg = (data && (data.error || data.errors?.[0]?.detail || data.message)) || res.statusText || "request failed";
    if (res.status === 401 && onUnauthorized) onUnauthorized();
    throw new ApiError(res.status, msg);
  }
  return data as T;
}

let onUnauthorized: (() => void) | undefined;
export function setOnUnauthorized(fn: () => void) { onUnauthorized = fn; }

// --- shapes ---

export interface User { id: number; email: string; name: string; role: "owner" | "member" | "viewer"; }
export interface Env { slug: string; name: string; color?: string; }
export interface Session { setup_needed: boolean; user?: User; csrf?: string; environments?: Env[]; team?: string; }
export interface Dataset { name: string; slug: string; description?: string; last_written_at?: string | null; retention_days?: number; expand_json_depth?: number; settings?: { delete_protected?: boolean }; }
export interface Column { id?: string; key_name: string; type: string; description?: string; hidden?: boolean; }

export interface HeatmapValue { min: number; max: number; count: number; buckets: { lower: number; upper: number; count: number }[]; }
export type Cell = number | string | boolean | null | HeatmapValue;
export interface Point { time: string; data: Record<string, Cell>; }
export interface QueryData {
  series?: Point[];
  results: { data: Record<string, Cell> }[];
  total_by_aggregate?: Record<string, Cell>;
  events?: { time: string; dataset?: string; samplerate: number; data: Record<string, unknown> }[];
}

export const session = () => api<Session>("GET", "/session");
export const login = (email: string, password: string) => api<Session>("POST", "/login", { email, password });
export const setup = (token: string, email: string, name: string, password: string) =>
  api<Session>("POST", "/setup", { token, email, name, password });
export const logout = () => api<void>("POST", "/logout");
export const datasets = () => api<Dataset[]>("GET", "/1/datasets");
export const columns = (ds: string) => api<Column[]>("GET", "/1/columns/" + encodeURIComponent(ds));

export async function runQuery(ds: string, spec: unknown): Promise<QueryData> {
  const q = await api<{ id: string }>("POST", "/1/queries/" + encodeURIComponent(ds), spec);
  const run = await api<{ id: string }>("POST", "/1/query_results/" + encodeURIComponent(ds), { query_id: q.id });
  // As Honeycomb: the POST starts the run, the GET returns the data (waggle
  // runs synchronously, so it is complete at once).
  const r = await api<{ complete: boolean; data: QueryData }>("GET", `/1/query_results/${encodeURIComponent(ds)}/${encodeURIComponent(run.id)}`);
  return r.data || { results: [] };
}

export interface HistoryEntry { id: number; dataset: string; query: any; created_at: string; }
export const history = () => api<HistoryEntry[]>("GET", "/history?limit=100");
export const addHistory = (dataset: string, query: unknown) => api<void>("POST", "/history", { dataset, query });

export interface BubbleValue { value: unknown; selection: number; baseline: number; selection_fraction: number; baseline_fraction: number; }
export interface BubbleColumn { column: string; score: number; values: BubbleValue[]; selection_other: number; baseline_other: number; }
export interface BubbleResult {
  selection_start: number; selection_end: number; selection_count: number; baseline_count: number;
  columns: BubbleColumn[]; took_ms: number;
}
export const bubbleUp = (ds: string, body: unknown) => api<BubbleResult>("POST", "/bubbleup/" + encodeURIComponent(ds), body);

export interface TraceSummary {
  trace_id: string; root_service: string; root_name: string; root_dataset: string; start: string;
  duration_ms: number; span_count: number; error_count: number; services: string[];
}
export const searchTraces = (params: URLSearchParams) => api<{ traces: TraceSummary[] }>("GET", "/api/v1/traces?" + params.toString());

export interface Span {
  span_id: string; parent_id: string; name: string; service: string; dataset: string; start: string;
  duration_ms: number; error: boolean; samplerate: number; fields: Record<string, unknown>;
  events: { time: string; name: string; fields: Record<string, unknown> }[];
  links: { time: string; trace_id: string; span_id: string; fields: Record<string, unknown> }[];
}
export interface Trace {
  trace_id: string; start: string; end: string; duration_ms: number; span_count: number; error_count: number;
  services: string[]; root_span_ids: string[]; spans: Span[];
  logs: { time: string; dataset: string; fields: Record<string, unknown> }[];
  events: { time: string; dataset: string; fields: Record<string, unknown> }[];
}
export const trace = (id: string) => api<Trace>("GET", "/api/v1/traces/" + encodeURIComponent(id));

// --- CloudWatch Logs (session routes over the same operations) ---

export interface LogGroup { logGroupName: string; creationTime: number; retentionInDays?: number; storedBytes?: number; arn?: string; }
export interface LogStream { logStreamName: string; creationTime: number; firstEventTimestamp?: number; lastEventTimestamp?: number; lastIngestionTime?: number; }
export interface LogEvent { logStreamName: string; timestamp: number; message: string; ingestionTime: number; eventId: string; }
const logs = <T>(op: string, body: unknown) => api<T>("POST", "/logs/" + op, body);
export const logGroups = (prefix = "", nextToken?: string) =>
  logs<{ logGroups: LogGroup[]; nextToken?: string }>("DescribeLogGroups", { ...(prefix ? { logGroupNamePrefix: prefix } : {}), ...(nextToken ? { nextToken } : {}) });
export const logStreams = (group: string) =>
  logs<{ logStreams: LogStream[] }>("DescribeLogStreams", { logGroupName: group, orderBy: "LastEventTime", descending: true, limit: 50 });
export const filterLogEvents = (body: { logGroupName: string; filterPattern?: string; startTime?: number; endTime?: number; logStreamNames?: string[]; limit?: number; nextToken?: string }) =>
  logs<{ events: LogEvent[]; nextToken?: string }>("FilterLogEvents", body);

// --- Rollbar items ---

export interface ErrorItem {
  id: number; counter: number; title: string; level: string; status: string; environment: string; environments: string[];
  total_occurrences: number; first_occurrence_timestamp: number | null; last_occurrence_timestamp: number | null;
  last_resolved_timestamp: number | null; last_muted_timestamp: number | null; last_activated_timestamp: number | null;
  exception_class: string; framework: string; language: string; platform: string; code_versions: string[];
}
export interface Occurrence { id: number; item_id: number; timestamp: number; data: any; }
const rb = async <T>(method: string, path: string, body?: unknown) => (await api<{ result: T }>(method, "/rollbar" + path, body)).result;
export const errorItems = (params: URLSearchParams) => rb<{ items: ErrorItem[]; total_count: number }>("GET", "/items?" + params.toString());
export const errorItem = (id: string) => rb<ErrorItem>("GET", "/items/" + encodeURIComponent(id));
export const occurrences = (id: string, page = 1) => rb<{ instances: Occurrence[] }>("GET", `/items/${encodeURIComponent(id)}/instances?page=${page}`);
export const setItemStatus = (id: number, status: string) => rb<ErrorItem>("PATCH", "/items/" + id, { status });

// --- saved queries, boards, triggers, SLOs (Honeycomb API) ---

export interface Annotation { id: string; name: string; description: string; query_id: string; }
export interface Panel { type: string; position?: { x_coordinate: number; y_coordinate: number; width: number; height: number };
  query_panel?: { dataset?: string; query_id: string; query_annotation_id?: string; query_style?: string }; text_panel?: { content: string }; }
export interface Board { id: string; name: string; description: string; type: string; panels: Panel[]; tags?: { key: string; value: string }[]; }
export const createQuery = (ds: string, spec: unknown) => api<{ id: string }>("POST", "/1/queries/" + encodeURIComponent(ds), spec);
export const getQuery = (ds: string, id: string) => api<any>("GET", `/1/queries/${encodeURIComponent(ds)}/${encodeURIComponent(id)}`);
export const annotations = (ds: string) => api<Annotation[]>("GET", "/1/query_annotations/" + encodeURIComponent(ds));
export const createAnnotation = (ds: string, a: { name: string; description?: string; query_id: string }) =>
  api<Annotation>("POST", "/1/query_annotations/" + encodeURIComponent(ds), a);
export const boards = () => api<Board[]>("GET", "/1/boards");
export const board = (id: string) => api<Board>("GET", "/1/boards/" + encodeURIComponent(id));
export const createBoard = (b: Partial<Board>) => api<Board>("POST", "/1/boards", { type: "flexible", panels: [], description: "", ...b });
export const updateBoard = (b: Board) => api<Board>("PUT", "/1/boards/" + encodeURIComponent(b.id), b);
export const deleteBoard = (id: string) => api<void>("DELETE", "/1/boards/" + encodeURIComponent(id));

export interface Trigger {
  id?: string; dataset_slug?: string; name: string; description: string; disabled: boolean; triggered?: boolean;
  query?: any; query_id?: string; threshold: { op: string; value: number | null; exceeded_limit?: number };
  frequency: number; alert_type: string; recipients: { id?: string; type?: string; target?: string }[]; created_at?: string; updated_at?: string;
}
export interface Delivery { id: number; recipient_id: string; status: string; attempts: number; last_status?: number; last_error?: string; created_at: string; updated_at: string; payload: any; }
export interface Recipient { id: string; type: string; details?: any; }
export const triggers = (ds: string) => api<Trigger[]>("GET", "/1/triggers/" + encodeURIComponent(ds));
export const trigger = (ds: string, id: string) => api<Trigger>("GET", `/1/triggers/${encodeURIComponent(ds)}/${encodeURIComponent(id)}`);
export const saveTrigger = (ds: string, t: Trigger) => t.id
  ? api<Trigger>("PUT", `/1/triggers/${encodeURIComponent(ds)}/${encodeURIComponent(t.id)}`, t)
  : api<Trigger>("POST", "/1/triggers/" + encodeURIComponent(ds), t);
export const deleteTrigger = (ds: string, id: string) => api<void>("DELETE", `/1/triggers/${encodeURIComponent(ds)}/${encodeURIComponent(id)}`);
export const deliveries = (ds: string, id: string) => api<Delivery[] | { deliveries: Delivery[] }>("GET", `/1/triggers/${encodeURIComponent(ds)}/${encodeURIComponent(id)}/deliveries`);
export const recipients = () => api<Recipient[]>("GET", "/1/recipients");

// SLOs, their burn alerts and the derived columns an SLI is (see
// docs/guides/slos.md). ?detailed adds the figures computed at request time.
export interface SLO {
  id?: string; name: string; description: string; sli: { alias: string }; time_period_days: number; target_per_million: number;
  created_at?: string; updated_at?: string;
  compliance?: number; budget_remaining?: number; burn_rate?: number; status?: string;
}
export interface BurnAlert {
  id?: string; alert_type: "exhaustion_time" | "budget_rate"; exhaustion_minutes?: number; budget_rate_window_minutes?: number;
  budget_rate_decrease_threshold_per_million?: number; description?: string; slo: { id: string }; recipients?: { id?: string; type?: string; target?: string }[];
  triggered?: boolean; created_at?: string; updated_at?: string;
}
export interface DerivedColumn { id?: string; alias: string; expression: string; description: string; created_at?: string; updated_at?: string; }
const dsPath = (kind: string, ds: string, id?: string) => `/1/${kind}/${encodeURIComponent(ds)}` + (id ? "/" + encodeURIComponent(id) : "");
export const slos = (ds: string) => api<SLO[]>("GET", dsPath("slos", ds));
export const slo = (ds: string, id: string, detailed = true) => api<SLO>("GET", dsPath("slos", ds, id) + (detailed ? "?detailed" : ""));
export const saveSLO = (ds: string, s: SLO) => s.id ? api<SLO>("PUT", dsPath("slos", ds, s.id), s) : api<SLO>("POST", dsPath("slos", ds), s);
export const deleteSLO = (ds: string, id: string) => api<void>("DELETE", dsPath("slos", ds, id));
export const burnAlerts = (ds: string, sloID: string) => api<BurnAlert[]>("GET", dsPath("burn_alerts", ds) + "?slo_id=" + encodeURIComponent(sloID));
export const saveBurnAlert = (ds: string, b: BurnAlert) => b.id ? api<BurnAlert>("PUT", dsPath("burn_alerts", ds, b.id), b) : api<BurnAlert>("POST", dsPath("burn_alerts", ds), b);
export const deleteBurnAlert = (ds: string, id: string) => api<void>("DELETE", dsPath("burn_alerts", ds, id));
export const derivedColumns = (ds: string) => api<DerivedColumn[]>("GET", dsPath("derived_columns", ds));
export const saveDerivedColumn = (ds: string, d: DerivedColumn) => d.id ? api<DerivedColumn>("PUT", dsPath("derived_columns", ds, d.id), d) : api<DerivedColumn>("POST", dsPath("derived_columns", ds), d);
export const deleteDerivedColumn = (ds: string, id: string) => api<void>("DELETE", dsPath("derived_columns", ds, id));

// --- settings ---

export interface ApiKey { id: string; type: string; attributes: { name: string; key_type: string; disabled: boolean; secret?: string; permissions?: Record<string, boolean>; timestamps?: any };
  relationships?: any; }
export interface EnvFull { id: string; type: string; attributes: { name: string; slug: string; description?: string; color?: string | null; settings?: { delete_protected?: boolean } } }
const team = () => sessionTeam;
let sessionTeam = "";
export function setTeam(t: string) { sessionTeam = t; }
export const apiKeys = () => api<{ data: ApiKey[] }>("GET", `/2/teams/${team()}/api-keys`);
export const createApiKey = (name: string, keyType: string, envID: string, permissions?: Record<string, boolean>) =>
  api<{ data: ApiKey & { attributes: { secret?: string } } }>("POST", `/2/teams/${team()}/api-keys`, {
    data: { type: "api-keys", attributes: { name, key_type: keyType, ...(permissions ? { permissions } : {}) },
      relationships: { environment: { data: { id: envID, type: "environments" } } } } });
export const deleteApiKey = (id: string) => api<void>("DELETE", `/2/teams/${team()}/api-keys/${encodeURIComponent(id)}`);
export const environmentsFull = () => api<{ data: EnvFull[] }>("GET", `/2/teams/${team()}/environments`);
export const createEnvironment = (name: string, description = "") =>
  api<{ data: EnvFull }>("POST", `/2/teams/${team()}/environments`, { data: { type: "environments", attributes: { name, description } } });
export const updateDataset = (slug: string, body: Record<string, unknown>) => api<Dataset>("PUT", "/1/datasets/" + encodeURIComponent(slug), body);
export const dataset = (slug: string) => api<Dataset & { settings?: any; expand_json_depth?: number }>("GET", "/1/datasets/" + encodeURIComponent(slug));
export const updateColumn = (ds: string, id: string, body: Record<string, unknown>) => api<Column>("PUT", `/1/columns/${encodeURIComponent(ds)}/${encodeURIComponent(id)}`, body);
export const users = () => api<User[]>("GET", "/users");
export const createUser = (u: { email: string; name: string; password: string; role: string }) => api<User>("POST", "/users", u);
export const setRole = (id: number, role: string) => api<User>("PATCH", "/users/" + id, { role });
export const changePassword = (current: string, password: string) => api<void>("POST", "/account/password", { current, password });
export const sessionCount = () => api<{ count: number }>("GET", "/account/sessions");
export const revokeSessions = () => api<{ revoked: number }>("POST", "/account/sessions/revoke");
export interface AWSCred { access_key_id: string; created_at: string; updated_at: string; }
export const awsCreds = () => api<AWSCred[]>("GET", "/settings/aws-credentials");
export const setAWSCred = (access_key_id: string, secret: string) => api<AWSCred>("POST", "/settings/aws-credentials", { access_key_id, secret });
export const deleteAWSCred = (id: string) => api<void>("DELETE", "/settings/aws-credentials/" + encodeURIComponent(id));
export interface RollbarToken { id: string; name: string; scopes: string[]; disabled: boolean; created_at: string; token?: string; }
export const rollbarTokens = () => api<RollbarToken[]>("GET", "/settings/rollbar-tokens");
export const createRollbarToken = (name: string, scopes: string[]) => api<RollbarToken>("POST", "/settings/rollbar-tokens", { name, scopes });
export const deleteRollbarToken = (id: string) => api<void>("DELETE", "/settings/rollbar-tokens/" + encodeURIComponent(id));
