import { describe, expect, it } from "vitest";
import { budgetPoints, budgetQuery, budgetRemaining, burnRate, targetPct, WINDOW_BUCKETS } from "./slo";

describe("SLO arithmetic", () => {
  it("matches the server's formulas", () => {
    expect(budgetRemaining(2700, 300, 850000)).toBeCloseTo(33.3333, 3);
    expect(budgetRemaining(0, 0, 990000)).toBe(100);
    expect(budgetRemaining(90, 10, 990000)).toBeCloseTo(-900, 6);
    expect(burnRate(2700, 300, 850000)).toBeCloseTo(0.6667, 3);
    expect(targetPct(999000)).toBe("99.9%");
    expect(targetPct(850000)).toBe("85%");
  });
  it("rolls the budget over a period of buckets", () => {
    const now = 1_700_000_000;
    const spec = budgetQuery("good", 1, now);
    const g = spec.granularity;
    expect(g).toBe(432);
    expect((now - spec.start_time) / g).toBeLessThanOrEqual(1000);
    // One bucket with 90 good / 10 bad, 50 buckets before the end.
    const at = spec.start_time + (Math.ceil((now - spec.start_time) / g) - 50) * g;
    const p = budgetPoints([{ time: new Date(at * 1000).toISOString(), data: { good: 90, bad: 10 } }], spec, 850000);
    expect(p.times.length).toBe(WINDOW_BUCKETS + 1);
    expect(p.times[p.times.length - 1]).toBe(now);
    expect(p.budget[p.budget.length - 1]).toBeCloseTo(budgetRemaining(90, 10, 850000), 6);
    expect(p.budget[0]).toBe(100);
    expect(p.burn.filter((b) => b !== null)).toHaveLength(1);
  });
});
