package honeycomb

import (
	"testing"

	"github.com/waggle-hq/waggle/internal/event"
)

// TestQueryCalculationFilters runs calculations with their own filters
// (Honeycomb's calculation filters and filter_combination) through the
// query API against DuckDB.
func TestQueryCalculationFilters(t *testing.T) {
	f := newE2E(t)
	d := f.query(t, "shop", `{"calculations":[{"op":"COUNT"},
		{"op":"COUNT","name":"errors","filters":[{"column":"status","op":">=","value":500}]},
		{"op":"P95","column":"duration_ms","name":"p95_ok_or_slow","filters":[{"column":"status","op":"=","value":200},{"column":"duration_ms","op":">","value":900}],"filter_combination":"OR"},
		{"op":"AVG","column":"bytes","name":"avg_user_bytes","filters":[{"column":"user","op":"exists"}]}],
		"breakdowns":["endpoint"],"orders":[{"column":"endpoint"}],"time_range":3600}`, "")
	if len(d.Results) != len(e2eEndpoints) {
		t.Fatalf("%d groups, want %d", len(d.Results), len(e2eEndpoints))
	}
	totalErrors := 0.0
	for i, ep := range e2eEndpoints {
		r := d.Results[i].Data
		keep := byEndpoint(ep)
		status := func(e *event.Event) int64 { v, _ := e.Get("status"); return v.Int() }
		errs := nums(f.shop, "duration_ms", func(e *event.Event) bool { return keep(e) && status(e) >= 500 })
		near(t, ep+" COUNT", r["COUNT"], float64(len(nums(f.shop, "duration_ms", keep))))
		near(t, ep+" errors", r["errors"], float64(len(errs)))
		totalErrors += float64(len(errs))
		okOrSlow := nums(f.shop, "duration_ms", func(e *event.Event) bool {
			v, _ := e.Get("duration_ms")
			return keep(e) && (status(e) == 200 || v.Float() > 900)
		})
		near(t, ep+" p95_ok_or_slow", r["p95_ok_or_slow"], percentile(okOrSlow, 0.95))
		userBytes := nums(f.shop, "bytes", func(e *event.Event) bool { _, ok := e.Get("user"); return keep(e) && ok })
		near(t, ep+" avg_user_bytes", r["avg_user_bytes"], sum(userBytes)/float64(len(userBytes)))
	}
	near(t, "total errors", d.TotalByAggregate["errors"], totalErrors)
}
