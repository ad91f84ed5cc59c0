// SLO arithmetic for the SLO pages: the same formulas as the server's
// ComputeSLO (internal/honeycomb/slos.go), applied to a time series of the
// SLI's good and bad COUNTs to draw the budget over time.

// budgetRemaining is 100 × (1 − bad / ((good + bad) × (1 − target))):
// 100 with no events, negative once overspent.
export function budgetRemaining(good: number, bad: number, targetPerMillion: number): number {
  const total = good + bad;
  const allowed = 1 - targetPerMillion / 1e6;
  if (total <= 0) return 100;
  if (allowed <= 0) return bad > 0 ? -100 : 100;
  return 100 * (1 - bad / (total * allowed));
}

// burnRate is the bad fraction divided by the allowed bad fraction.
export function burnRate(good: number, bad: number, targetPerMillion: number): number {
  const total = good + bad;
  const allowed = 1 - targetPerMillion / 1e6;
  return total > 0 && allowed > 0 ? bad / total / allowed : 0;
}

// The series query: good and bad COUNTs of the SLI in buckets of
// period/200 from two periods ago to now, so each of the last 201 bucket
// ends has a whole period of buckets behind it.
export const WINDOW_BUCKETS = 200;

export function budgetQuery(alias: string, periodDays: number, now: number) {
  const period = periodDays * 86400;
  const g = period / WINDOW_BUCKETS;
  const start = Math.floor((now - 2 * period) / g) * g;
  const f = (v: boolean) => [{ column: alias, op: "=", value: v }];
  return {
    calculations: [{ op: "COUNT", name: "good", filters: f(true) }, { op: "COUNT", name: "bad", filters: f(false) }],
    start_time: start, end_time: now, granularity: g,
  };
}

export interface BudgetPoints { times: number[]; budget: number[]; burn: (number | null)[]; }

// budgetPoints turns the series (bucket start time → good, bad; empty
// buckets may be missing) into one point per bucket end over the last
// period: the budget remaining over the period that ends there (rolling, to
// the bucket), and the burn rate within that bucket.
export function budgetPoints(series: { time: string; data: Record<string, unknown> }[], spec: { start_time: number; end_time: number; granularity: number },
  targetPerMillion: number): BudgetPoints {
  const g = spec.granularity;
  const n = Math.ceil((spec.end_time - spec.start_time) / g);
  const good = new Float64Array(n), bad = new Float64Array(n);
  for (const p of series) {
    const i = Math.floor((Date.parse(p.time) / 1000 - spec.start_time) / g);
    if (i < 0 || i >= n) continue;
    good[i] += Number(p.data.good) || 0;
    bad[i] += Number(p.data.bad) || 0;
  }
  const out: BudgetPoints = { times: [], budget: [], burn: [] };
  let gs = 0, bs = 0;
  for (let i = 0; i < n; i++) {
    gs += good[i]; bs += bad[i];
    if (i >= WINDOW_BUCKETS) { gs -= good[i - WINDOW_BUCKETS]; bs -= bad[i - WINDOW_BUCKETS]; }
    if (i < n - WINDOW_BUCKETS - 1) continue;
    out.times.push(Math.min(spec.start_time + (i + 1) * g, spec.end_time));
    out.budget.push(budgetRemaining(gs, bs, targetPerMillion));
    out.burn.push(good[i] + bad[i] > 0 ? burnRate(good[i], bad[i], targetPerMillion) : null);
  }
  return out;
}

export const pct = (v: number | undefined | null, digits = 2) => v === undefined || v === null ? "—" : v.toFixed(digits) + "%";
export const targetPct = (perMillion: number) => {
  const s = (perMillion / 10000).toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
  return s + "%";
};
