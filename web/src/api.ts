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
    const msg = (data && (data.error || data.errors?.[0]?.detail)) || res.statusText || "request failed";
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
export interface Session { setup_needed: boolean; user?: User; csrf?: string; environments?: Env[]; }
export interface Dataset { name: string; slug: string; description?: string; last_written_at?: string | null; }
export interface Column { key_name: string; type: string; description?: string; hidden?: boolean; }

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
