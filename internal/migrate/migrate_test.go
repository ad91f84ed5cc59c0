package migrate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/clickhouse"
	"github.com/waggle-hq/waggle/internal/store/clickhouse/chtest"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

func TestMain(m *testing.M) { os.Exit(chtest.Run(m)) }

// fill writes a varied store: two environments, three datasets, mixed
// types, sample rates, events over several days, described and hidden
// columns.
func fill(t *testing.T, s store.Store, t0 time.Time) {
	ctx := context.Background()
	if _, _, err := s.CreateDataset(ctx, 1, store.DatasetInfo{Name: "API", Description: "the api", Retention: 30 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	for env := event.EnvID(1); env <= 2; env++ {
		var evs []event.Event
		for i := range 3000 {
			e := event.Event{Time: t0.Add(time.Duration(i) * 97 * time.Second).Add(time.Duration(i) * time.Nanosecond), Dataset: []string{"API", "worker", "db"}[i%3], SampleRate: int64(1 + i%4)}
			e.Set("status", event.Int(int64(200+100*(i%4))))
			e.Set("duration_ms", event.Float(float64(i%250)/3))
			e.Set("route", event.String(fmt.Sprintf("/r/%d", i%17)))
			e.Set("ok", event.Bool(i%5 != 0))
			if i%7 == 0 {
				e.Set("mixed", event.Int(int64(i)))
			} else if i%7 == 1 {
				e.Set("mixed", event.Float(float64(i)+0.5))
			}
			if i%11 == 0 {
				e.Set("trace.trace_id", event.String(fmt.Sprintf("tr%d", i/11%20)))
				e.Set("big", event.Int(1<<60+int64(i)))
			}
			evs = append(evs, e)
		}
		if err := s.Write(ctx, event.Batch{Env: env, Events: evs}); err != nil {
			t.Fatal(err)
		}
	}
	desc, hidden := "HTTP status", true
	if _, err := s.UpdateColumn(ctx, 1, "api", "status", store.ColumnUpdate{Description: &desc, Hidden: &hidden}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateColumn(ctx, 1, "api", store.ColumnSpec{Name: "planned", Type: event.TypeFloat, Description: "not yet sent"}); err != nil {
		t.Fatal(err)
	}
}

// plans are the queries compared between source and target.
func plans(t0 time.Time) []*query.Plan {
	start, end := t0.Add(-time.Hour), t0.Add(10*24*time.Hour)
	aggs := []query.Aggregate{{Op: query.AggCount}, {Op: query.AggSum, Column: "status"}, {Op: query.AggAvg, Column: "duration_ms"},
		{Op: query.AggMax, Column: "mixed"}, {Op: query.AggCountDistinct, Column: "route"}, {Op: query.AggMin, Column: "big"}}
	return []*query.Plan{
		{Datasets: []string{"api"}, Start: start, End: end, Aggregates: aggs},
		{Datasets: []string{"worker"}, Start: start, End: end, Aggregates: aggs, Unweighted: true},
		{Start: start, End: end, Aggregates: aggs, Breakdowns: []string{"route", "ok"}, Orders: []query.Order{{Agg: 0, Descending: true}, {Agg: -1, Column: "route"}, {Agg: -1, Column: "ok"}}, Limit: 50},
		{Datasets: []string{"db"}, Start: start, End: end, Aggregates: []query.Aggregate{{Op: query.AggCount}}, Granularity: 6 * time.Hour},
		{Datasets: []string{"api"}, Start: start, End: end, Filters: []query.Filter{{Column: "trace.trace_id", Op: query.OpExists}}},
	}
}

func describe(t *testing.T, s store.Store, env event.EnvID, t0 time.Time) string {
	t.Helper()
	ctx := context.Background()
	var out bytes.Buffer
	dss, err := s.Datasets(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dss {
		fmt.Fprintf(&out, "dataset %s %q %q %v\n", d.Slug, d.Name, d.Description, d.Retention)
		cols, err := s.Columns(ctx, env, d.Slug)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			fmt.Fprintf(&out, "  column %s %v %q hidden=%v\n", c.Name, c.Type, c.Description, c.Hidden)
		}
	}
	for i, p := range plans(t0) {
		r, err := s.Execute(ctx, env, p)
		if err != nil {
			t.Fatalf("plan %d: %v", i, err)
		}
		for _, g := range r.Groups {
			fmt.Fprintf(&out, "plan %d group %v:", i, g.Key)
			for _, v := range g.Values {
				fmt.Fprintf(&out, " %.6g", v.Number)
			}
			out.WriteString("\n")
		}
		for _, sp := range r.Series {
			fmt.Fprintf(&out, "plan %d series %v %v %.6g\n", i, sp.Time.UTC(), sp.Key, sp.Values[0].Number)
		}
		evs := append([]query.RawEvent(nil), r.Events...)
		sort.Slice(evs, func(a, b int) bool { return evs[a].Time.Before(evs[b].Time) })
		for _, e := range evs {
			fmt.Fprintf(&out, "plan %d event %d %s sr=%d %v\n", i, e.Time.UnixNano(), e.Dataset, e.SampleRate, e.Fields)
		}
	}
	tr, err := s.Trace(ctx, env, "tr3")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&out, "trace tr3: %d events\n", len(tr))
	return out.String()
}

func openClickHouse(t *testing.T) store.Store {
	t.Helper()
	srv := chtest.Shared(t)
	opts, err := clickhouse.ParseDSN(srv.DSN(srv.NewDatabase(), ""))
	if err != nil {
		t.Fatal(err)
	}
	s, err := clickhouse.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestExportImportDuckDBToClickHouse round-trips a DuckDB store through an
// export file into ClickHouse, with a window small enough to split days
// into hours and minutes, and compares catalogs, query results, raw events
// and traces.
func TestExportImportDuckDBToClickHouse(t *testing.T) {
	src, err := duckdb.Open(duckdb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	t0 := time.Now().UTC().Truncate(24 * time.Hour).Add(-5*24*time.Hour + 3*time.Hour + 123*time.Millisecond)
	fill(t, src, t0)
	ctx := context.Background()
	var file bytes.Buffer
	st, err := Export(ctx, src, []event.EnvID{1, 2}, &file, Options{Window: 40})
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 6001 && st.Events != 6000 {
		t.Fatalf("exported %+v", st)
	}
	dst := openClickHouse(t)
	ist, err := Import(ctx, dst, bytes.NewReader(file.Bytes()), Options{Batch: 700})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st, ist) {
		t.Fatalf("exported %+v, imported %+v", st, ist)
	}
	t.Logf("%+v in %d bytes", st, file.Len())
	for env := event.EnvID(1); env <= 2; env++ {
		want, got := describe(t, src, env, t0), describe(t, dst, env, t0)
		if want != got {
			t.Fatalf("environment %d differs after the round trip:\n--- duckdb\n%s\n--- clickhouse\n%s", env, want, got)
		}
	}

	// A truncated file is refused.
	if _, err := Import(ctx, openClickHouse(t), bytes.NewReader(file.Bytes()[:file.Len()/2]), Options{}); err == nil {
		t.Fatal("a truncated export was imported")
	}
}

// TestCopy moves a DuckDB store into ClickHouse directly.
func TestCopy(t *testing.T) {
	src, err := duckdb.Open(duckdb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Hour)
	fill(t, src, t0)
	dst := openClickHouse(t)
	if _, err := Copy(context.Background(), src, dst, []event.EnvID{1, 2}, Options{}); err != nil {
		t.Fatal(err)
	}
	if want, got := describe(t, src, 1, t0), describe(t, dst, 1, t0); want != got {
		t.Fatalf("differs after copy:\n--- duckdb\n%s\n--- clickhouse\n%s", want, got)
	}
}
