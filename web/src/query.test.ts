import { describe, expect, it } from "vitest";
import { emptyQuery, fromParams, fromSpec, parseFilter, parseHaving, toParams, toSpec } from "./query";

describe("query model", () => {
  it("builds a Honeycomb spec", () => {
    const q = { ...emptyQuery("shop"), calcs: ["COUNT", "P95(duration_ms)"], where: ["status >= 500", "endpoint in /a,/b"],
      groupBy: ["endpoint"], orderBy: ["P95(duration_ms) desc"], having: ["COUNT > 2"], limit: 20 };
    const { spec, errors } = toSpec(q);
    expect(errors).toEqual([]);
    expect(spec).toEqual({
      calculations: [{ op: "COUNT" }, { op: "P95", column: "duration_ms" }],
      filters: [{ column: "status", op: ">=", value: 500 }, { column: "endpoint", op: "in", value: ["/a", "/b"] }],
      breakdowns: ["endpoint"],
      orders: [{ op: "P95", column: "duration_ms", order: "descending" }],
      havings: [{ calculate_op: "COUNT", column: undefined, op: ">", value: 2 }],
      limit: 20, time_range: 7200,
    });
  });
  it("round-trips through the URL and a stored spec", () => {
    const q = { ...emptyQuery("shop"), calcs: ["HEATMAP(duration_ms)"], where: ["error exists"], groupBy: ["a", "b"],
      time: { start: 100, end: 200 }, granularity: 10 };
    expect(fromParams(toParams(q))).toEqual({ ...q, limit: undefined });
    expect(fromSpec("shop", toSpec(q).spec)).toEqual({ ...q, limit: undefined, orderBy: [], having: [] });
  });
  it("reports what does not parse", () => {
    expect(parseFilter("x")).toBeNull();
    expect(parseFilter("x exists")).toEqual({ column: "x", op: "exists" });
    expect(parseHaving("P99(d) >= 1.5")).toEqual({ calculate_op: "P99", column: "d", op: ">=", value: 1.5 });
    expect(toSpec({ ...emptyQuery("s"), calcs: ["NOPE(x)"] }).errors.length).toBe(1);
  });
});
