package query_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

// BenchmarkTotals measures COUNT + P95(duration_ms) GROUP BY name over
// WAGGLE_BENCH_EVENTS events (default 1,000,000; 40 span names with zipf
// skew, lognormal durations) plain, and with Honeycomb's default result
// options (series, total_by_aggregate, other_by_aggregate) with the totals
// from the groups' scan and from a second pass. cpu-ms/op is the process's
// CPU time (user + system) per query.
//
//	go test ./internal/query -run '^$' -bench Totals -benchtime 10x
func BenchmarkTotals(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("WAGGLE_BENCH_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	st, err := duckdb.Open(duckdb.Options{Dir: b.TempDir(), Threads: 2, MemoryLimit: 358 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const env = event.EnvID(1)
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, 39)
	services := []string{"frontend", "checkout", "cart", "auth", "search"}
	for done := 0; done < n; {
		m := min(50_000, n-done)
		evs := make([]event.Event, m)
		for i := range evs {
			k := done + i
			evs[i] = event.Event{Time: start.Add(time.Duration(int64(k) * int64(2*time.Hour) / int64(n))), Dataset: "bench", SampleRate: 1,
				Fields: []event.Field{
					{Key: "service.name", Value: event.String(services[rng.IntN(len(services))])},
					{Key: "name", Value: event.String(fmt.Sprintf("span-%02d", zipf.Uint64()))},
					{Key: "duration_ms", Value: event.Float(math.Exp(rng.NormFloat64()*1.2 + 3))},
					{Key: "http.status_code", Value: event.Int(int64([]int{200, 200, 200, 200, 404, 500}[rng.IntN(6)]))},
					{Key: "user.id", Value: event.String(fmt.Sprintf("user-%d", rng.IntN(100_000)))},
				}}
		}
		if err := st.Write(ctx, event.Batch{Env: env, Events: evs}); err != nil {
			b.Fatal(err)
		}
		done += m
	}
	spec, err := query.ParseSpec(fmt.Appendf(nil, `{"calculations": [{"op": "COUNT"}, {"op": "P95", "column": "duration_ms"}],
		"breakdowns": ["name"], "start_time": %d, "end_time": %d}`, start.Unix(), start.Add(2*time.Hour).Unix()))
	if err != nil {
		b.Fatal(err)
	}
	cat := honeycomb.NewQueryCatalog(st)
	plain := query.Options{DisableSeries: true, DisableTotalByAggregate: true, DisableOtherByAggregate: true}
	for _, c := range []struct {
		name string
		eng  *query.Engine
		opts query.Options
	}{
		{"plain", query.NewEngine(st, cat), plain},
		{"defaults/shared-scan", query.NewEngine(st, cat), query.Options{}},
		{"defaults/two-passes", query.NewEngine(twoPasses{st}, cat), query.Options{}},
		{"no-series/shared-scan", query.NewEngine(st, cat), query.Options{DisableSeries: true}},
		{"no-series/two-passes", query.NewEngine(twoPasses{st}, cat), query.Options{DisableSeries: true}},
		{"series-only", query.NewEngine(st, cat), query.Options{DisableTotalByAggregate: true, DisableOtherByAggregate: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			if _, err := c.eng.Run(ctx, env, []string{"bench"}, spec, c.opts); err != nil { // warm-up
				b.Fatal(err)
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.eng.Run(ctx, env, []string{"bench"}, spec, c.opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
