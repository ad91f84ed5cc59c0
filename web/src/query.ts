// The query model: what the builder edits, how it lives in the URL (a link
// reproduces the query), and how it becomes a Honeycomb query spec.

export interface TimeSel { range?: number; start?: number; end?: number; }

export interface QueryState {
  dataset: string;
  calcs: string[];
  where: string[];
  groupBy: string[];
  orderBy: string[];
  having: string[];
  limit?: number;
  time: TimeSel;
  granularity?: number;
}

export const FILTER_OPS = ["=", "!=", ">", ">=", "<", "<=", "starts-with", "does-not-start-with", "ends-with",
  "does-not-end-with", "exists", "does-not-exist", "contains", "does-not-contain", "in", "not-in"];
export const CALC_OPS = ["COUNT", "CONCURRENCY", "SUM", "AVG", "COUNT_DISTINCT", "MAX", "MIN", "HEATMAP",
  "P001", "P01", "P05", "P10", "P20", "P25", "P50", "P75", "P80", "P90", "P95", "P99", "P999",
  "RATE_SUM", "RATE_AVG", "RATE_MAX"];
export const UNARY_CALCS = new Set(["COUNT", "CONCURRENCY"]);
export const HAVING_OPS = ["=", "!=", ">", ">=", "<", "<="];

export function emptyQuery(dataset = ""): QueryState {
  return { dataset, calcs: ["COUNT"], where: [], groupBy: [], orderBy: [], having: [], time: { range: 7200 } };
}

export function toParams(q: QueryState): URLSearchParams {
  const p = new URLSearchParams();
  if (q.dataset) p.set("ds", q.dataset);
  q.calcs.forEach((c) => p.append("calc", c));
  q.where.forEach((c) => p.append("where", c));
  q.groupBy.forEach((c) => p.append("group", c));
  q.orderBy.forEach((c) => p.append("order", c));
  q.having.forEach((c) => p.append("having", c));
  if (q.limit) p.set("limit", String(q.limit));
  if (q.time.start !== undefined && q.time.end !== undefined) {
    p.set("start", String(q.time.start));
    p.set("end", String(q.time.end));
  } else if (q.time.range) p.set("range", String(q.time.range));
  if (q.granularity) p.set("gran", String(q.granularity));
  return p;
}

export function fromParams(p: URLSearchParams): QueryState {
  const num = (k: string) => { const v = p.get(k); return v && /^\d+$/.test(v) ? Number(v) : undefined; };
  const q: QueryState = {
    dataset: p.get("ds") || "",
    calcs: p.getAll("calc"),
    where: p.getAll("where"),
    groupBy: p.getAll("group"),
    orderBy: p.getAll("order"),
    having: p.getAll("having"),
    limit: num("limit"),
    time: {},
    granularity: num("gran"),
  };
  const s = num("start"), e = num("end");
  if (s !== undefined && e !== undefined) q.time = { start: s, end: e };
  else q.time = { range: num("range") || 7200 };
  if (!p.has("calc") && !p.has("group") && !p.has("ds")) q.calcs = ["COUNT"];
  return q;
}

export interface Calc { op: string; column?: string; }

export function parseCalc(s: string): Calc | null {
  const t = s.trim();
  const m = /^([A-Z_0-9]+)\s*(?:\((.*)\))?$/i.exec(t);
  if (!m) return null;
  const op = m[1].toUpperCase();
  if (!CALC_OPS.includes(op)) return null;
  const col = m[2]?.trim();
  if (UNARY_CALCS.has(op)) return col ? null : { op };
  if (!col) return null;
  return { op, column: col };
}

export function calcLabel(c: Calc): string { return c.column ? `${c.op}(${c.column})` : c.op; }

function scalar(v: string): string | number | boolean {
  const t = v.trim();
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(t)) return Number(t);
  if (t === "true") return true;
  if (t === "false") return false;
  return t.replace(/^"(.*)"$/, "$1");
}

export interface Filter { column: string; op: string; value?: unknown; }

// parseFilter reads "column op value" (ops spelled as in Honeycomb's spec).
export function parseFilter(s: string): Filter | null {
  const t = s.trim();
  const m = /^(\S+)\s+(\S+)(?:\s+([\s\S]*))?$/.exec(t);
  if (!m) return null;
  const [, column, op, rest] = m;
  if (!FILTER_OPS.includes(op)) return null;
  if (op === "exists" || op === "does-not-exist") return rest ? null : { column, op };
  if (rest === undefined || rest === "") return null;
  if (op === "in" || op === "not-in") return { column, op, value: rest.split(",").map((x) => scalar(x)) };
  return { column, op, value: scalar(rest) };
}

export function filterText(column: string, op: string, value: unknown): string {
  if (value === null || value === undefined) return `${column} does-not-exist`;
  return `${column} ${op} ${String(value)}`;
}

export interface Order { op?: string; column?: string; order: "ascending" | "descending"; }

export function parseOrder(s: string, calcs: Calc[]): Order | null {
  const m = /^(.+?)(?:\s+(asc|desc|ascending|descending))?$/i.exec(s.trim());
  if (!m) return null;
  const order = m[2] && m[2].toLowerCase().startsWith("asc") ? "ascending" : "descending";
  const c = parseCalc(m[1]);
  if (c && calcs.some((x) => calcLabel(x) === calcLabel(c))) return { op: c.op, column: c.column, order };
  return { column: m[1].trim(), order: m[2] ? order : "ascending" };
}

export interface Having { calculate_op: string; column?: string; op: string; value: number; }

export function parseHaving(s: string): Having | null {
  const m = /^(.+?)\s*(!=|>=|<=|=|>|<)\s*(-?[\d.]+)$/.exec(s.trim());
  if (!m) return null;
  const c = parseCalc(m[1]);
  if (!c) return null;
  return { calculate_op: c.op, column: c.column, op: m[2], value: Number(m[3]) };
}

// toSpec turns the builder's state into a Honeycomb query spec; errors
// name the clause item that does not parse.
export function toSpec(q: QueryState): { spec: Record<string, unknown>; errors: string[] } {
  const errors: string[] = [];
  const calcs: Calc[] = [];
  for (const c of q.calcs) {
    const p = parseCalc(c);
    if (p) calcs.push(p); else errors.push(`VISUALIZE: cannot read "${c}"`);
  }
  const filters: Filter[] = [];
  for (const w of q.where) {
    const f = parseFilter(w);
    if (f) filters.push(f); else errors.push(`WHERE: cannot read "${w}" (column op value)`);
  }
  const orders: Order[] = [];
  for (const o of q.orderBy) {
    const p = parseOrder(o, calcs);
    if (p) orders.push(p); else errors.push(`ORDER BY: cannot read "${o}"`);
  }
  const havings: Having[] = [];
  for (const h of q.having) {
    const p = parseHaving(h);
    if (p) havings.push(p); else errors.push(`HAVING: cannot read "${h}" (e.g. COUNT > 10)`);
  }
  const spec: Record<string, unknown> = {};
  if (calcs.length) spec.calculations = calcs;
  if (filters.length) spec.filters = filters;
  if (q.groupBy.length) spec.breakdowns = q.groupBy;
  if (orders.length) spec.orders = orders;
  if (havings.length) spec.havings = havings;
  if (q.limit) spec.limit = q.limit;
  if (q.time.start !== undefined && q.time.end !== undefined) {
    spec.start_time = q.time.start;
    spec.end_time = q.time.end;
  } else spec.time_range = q.time.range || 7200;
  if (q.granularity) spec.granularity = q.granularity;
  return { spec, errors };
}

// fromSpec reads a stored spec (query history) back into builder state.
export function fromSpec(dataset: string, s: any): QueryState {
  const lbl = (op: string, col?: string) => (col ? `${op}(${col})` : op);
  const q = emptyQuery(dataset);
  q.calcs = (s.calculations || []).map((c: any) => lbl(c.op, c.column));
  q.where = (s.filters || []).map((f: any) =>
    f.value === undefined ? `${f.column} ${f.op}` : `${f.column} ${f.op} ${Array.isArray(f.value) ? f.value.join(",") : f.value}`);
  q.groupBy = s.breakdowns || [];
  q.orderBy = (s.orders || []).map((o: any) => `${o.op ? lbl(o.op, o.column) : o.column} ${o.order === "ascending" ? "asc" : "desc"}`);
  q.having = (s.havings || []).map((h: any) => `${lbl(h.calculate_op, h.column)} ${h.op} ${h.value}`);
  q.limit = s.limit;
  q.time = s.start_time !== undefined && s.end_time !== undefined ? { start: s.start_time, end: s.end_time } : { range: s.time_range || 7200 };
  q.granularity = s.granularity;
  return q;
}

export function timeLabel(t: TimeSel): string {
  if (t.start !== undefined && t.end !== undefined) {
    return `${new Date(t.start * 1000).toLocaleString()} – ${new Date(t.end * 1000).toLocaleString()}`;
  }
  return RANGES.find((r) => r.s === t.range)?.label || `last ${t.range}s`;
}

export const RANGES = [
  { s: 600, label: "Last 10 minutes" }, { s: 3600, label: "Last hour" }, { s: 7200, label: "Last 2 hours" },
  { s: 21600, label: "Last 6 hours" }, { s: 86400, label: "Last 24 hours" }, { s: 604800, label: "Last 7 days" },
  { s: 2419200, label: "Last 28 days" },
];

// window returns the resolved [start, end] in Unix seconds.
export function resolveWindow(t: TimeSel, now = Date.now() / 1000): [number, number] {
  if (t.start !== undefined && t.end !== undefined) return [t.start, t.end];
  const end = Math.floor(now);
  return [end - (t.range || 7200), end];
}

const NICE = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200];
// defaultGranularity mirrors the engine's (query.DefaultGranularity).
export function defaultGranularity(span: number): number {
  const want = Math.ceil(Math.max(1, span) / 120);
  for (const s of NICE) if (s >= want) return s;
  return Math.ceil(want / 86400) * 86400;
}
