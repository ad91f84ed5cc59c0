package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

// twoPasses hides the store's ExecuteWithTotal: the engine then runs the
// main plan and the total plan one after the other.
type twoPasses struct{ st *duckdb.Store }

func (t twoPasses) Execute(ctx context.Context, env event.EnvID, p *query.Plan) (*query.Result, error) {
	return t.st.Execute(ctx, env, p)
}

func (t twoPasses) AggregateFilters() bool { return t.st.AggregateFilters() }

// TestTotalsSharedScanAgreesWithSecondPass runs specs with breakdowns,
// limits, havings and series over the embedded store twice: with the totals
// computed in the groups' scan (query.TotalExecutor) and with the second
// plan; the outputs (groups, series, total_by_aggregate and its series,
// other_by_aggregate) must be identical.
func TestTotalsSharedScanAgreesWithSecondPass(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(duckdb.Options{Dir: t.TempDir(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const env = event.EnvID(1)
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 5))
	names := []string{"GET /", "POST /cart", "GET /item", "checkout", "login", "search", "GET /img", "logout"}
	services := []string{"web", "api", "db"}
	var evs []event.Event
	for i := 0; i < 8000; i++ {
		ts := start.Add(time.Duration(rng.Int64N(int64(2 * time.Hour))))
		fields := []event.Field{
			{Key: "name", Value: event.String(names[min(rng.IntN(10), len(names)-1)])},
			{Key: "duration_ms", Value: event.Float(rng.ExpFloat64() * 40)},
			{Key: "status", Value: event.Int(int64([]int{200, 200, 200, 404, 500}[rng.IntN(5)]))},
			{Key: "bytes", Value: event.Int(rng.Int64N(5000))},
			{Key: "user", Value: event.String(fmt.Sprintf("u%d", rng.IntN(300)))},
		}
		if rng.IntN(6) != 0 { // service is sometimes missing: a null group
			fields = append(fields, event.Field{Key: "service", Value: event.String(services[rng.IntN(3)])})
		}
		evs = append(evs, event.Event{Time: ts, Dataset: "plain", SampleRate: 1, Fields: fields})
		sr := int64(1)
		if i%5 == 0 {
			sr = 4
		}
		evs = append(evs, event.Event{Time: ts, Dataset: "sampled", SampleRate: sr, Fields: fields})
	}
	if err := st.Write(ctx, event.Batch{Env: env, Events: evs}); err != nil {
		t.Fatal(err)
	}
	fast := query.NewEngine(st, honeycomb.NewQueryCatalog(st))
	slow := query.NewEngine(twoPasses{st}, honeycomb.NewQueryCatalog(st))
	if _, ok := any(st).(query.TotalExecutor); !ok {
		t.Fatal("the DuckDB store does not implement query.TotalExecutor")
	}

	rangeJS := fmt.Sprintf(`"start_time": %d, "end_time": %d`, start.Unix(), start.Add(2*time.Hour).Unix())
	specs := []string{
		`"calculations": [{"op": "COUNT"}, {"op": "P95", "column": "duration_ms"}], "breakdowns": ["name"]`,
		`"calculations": [{"op": "COUNT"}, {"op": "P95", "column": "duration_ms"}], "breakdowns": ["name"], "limit": 3`,
		`"calculations": [{"op": "COUNT"}, {"op": "SUM", "column": "bytes"}, {"op": "SUM", "column": "duration_ms"}], "breakdowns": ["service", "name"], "limit": 5`,
		`"calculations": [{"op": "COUNT"}, {"op": "SUM", "column": "bytes"}], "breakdowns": ["name"], "havings": [{"calculate_op": "COUNT", "op": ">", "value": 900}]`,
		`"calculations": [{"op": "COUNT"}, {"op": "P50", "column": "duration_ms"}], "breakdowns": ["name"], "havings": [{"calculate_op": "COUNT", "op": ">", "value": 1e9}]`,
		`"calculations": [{"op": "COUNT"}, {"op": "MAX", "column": "duration_ms"}, {"op": "MIN", "column": "bytes"}, {"op": "AVG", "column": "duration_ms"}, {"op": "COUNT_DISTINCT", "column": "user"}], "breakdowns": ["service"], "orders": [{"column": "service", "order": "descending"}]`,
		`"calculations": [{"op": "COUNT"}, {"op": "SUM", "column": "bytes"}], "breakdowns": ["status"], "filters": [{"column": "service", "op": "=", "value": "web"}], "limit": 2`,
		`"calculations": [{"op": "COUNT", "name": "errors", "filters": [{"column": "status", "op": ">=", "value": 500}]}, {"op": "P99", "column": "duration_ms"}], "breakdowns": ["name"], "limit": 4`,
		`"calculations": [{"op": "COUNT"}, {"op": "RATE_SUM", "column": "bytes"}], "breakdowns": ["name"], "limit": 3`,
		`"calculations": [{"op": "COUNT"}, {"op": "CONCURRENCY"}], "breakdowns": ["service"]`,
		`"calculations": [{"op": "COUNT"}, {"op": "HEATMAP", "column": "duration_ms"}], "breakdowns": ["service"], "limit": 2`,
		`"calculations": [{"op": "COUNT"}], "breakdowns": ["name"], "filters": [{"column": "status", "op": "=", "value": 999}]`,
		`"calculations": [{"op": "COUNT"}, {"op": "P95", "column": "duration_ms"}], "breakdowns": ["name"], "usage_mode": true, "limit": 6`,
	}
	opts := []query.Options{
		{},
		{DisableSeries: true},
		{DisableOtherByAggregate: true},
		{DisableSeries: true, DisableTotalByAggregate: true},
	}
	n := 0
	for _, ds := range []string{"plain", "sampled"} {
		for si, body := range specs {
			spec, err := query.ParseSpec([]byte("{" + body + ", " + rangeJS + "}"))
			if err != nil {
				t.Fatalf("spec %d: %v", si, err)
			}
			for oi, o := range opts {
				want, err := slow.Run(ctx, env, []string{ds}, spec, o)
				if err != nil {
					t.Fatalf("%s spec %d opts %d, two passes: %v", ds, si, oi, err)
				}
				got, err := fast.Run(ctx, env, []string{ds}, spec, o)
				if err != nil {
					t.Fatalf("%s spec %d opts %d, shared scan: %v", ds, si, oi, err)
				}
				wj, _ := json.Marshal(want)
				gj, _ := json.Marshal(got)
				if string(wj) != string(gj) {
					t.Errorf("%s spec %d (%s) opts %+v:\nshared scan %s\ntwo passes  %s", ds, si, body, o, gj, wj)
				}
				if !o.DisableTotalByAggregate && want.TotalByAggregate != nil {
					n++
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no spec had totals")
	}
}
