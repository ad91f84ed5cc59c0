package query

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got, as indented JSON, with testdata/golden/name.json.
func golden(tb testing.TB, name string, got any) {
	tb.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(b, want) {
		tb.Errorf("%s differs from golden:\n got: %s\nwant: %s", name, b, want)
	}
}

// at returns the test's bucket time minutes after 11:00.
func at(min int) time.Time { return testNow.Add(-time.Hour + time.Duration(min)*time.Minute) }

func str(s string) event.Value { return event.String(s) }

func TestShapeGolden(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		opts    Options
		results []*Result
		// wantPlans is the number of plans Run executes.
		wantPlans int
	}{
		{
			name: "count_by_endpoint",
			spec: `{"calculations":[{"op":"COUNT"},{"op":"P95","column":"duration_ms"},{"op":"SUM","column":"bytes","name":"traffic"}],"breakdowns":["endpoint"],"time_range":3600,"granularity":60,"limit":2}`,
			results: []*Result{
				{
					Groups: []Group{
						{Key: []event.Value{str("/api")}, Values: []AggValue{num(30), num(120.5), num(3000)}},
						{Key: []event.Value{{}}, Values: []AggValue{num(5), num(80), num(0)}},
					},
					Series: []SeriesPoint{
						{Time: at(1), Key: []event.Value{{}}, Values: []AggValue{num(5), num(80), num(0)}},
						{Time: at(0), Key: []event.Value{str("/api")}, Values: []AggValue{num(10), num(100), num(1000)}},
						{Time: at(1), Key: []event.Value{str("/api")}, Values: []AggValue{num(20), num(130), num(2000)}},
					},
				},
				{
					Groups: []Group{{Values: []AggValue{num(40), num(125), num(3500)}}},
					Series: []SeriesPoint{
						{Time: at(0), Values: []AggValue{num(12), num(100), num(1100)}},
						{Time: at(1), Values: []AggValue{num(28), num(130), num(2400)}},
					},
				},
			},
			wantPlans: 2,
		},
		{
			name: "no_breakdowns_nulls",
			spec: `{"calculations":[{"op":"COUNT"},{"op":"AVG","column":"duration_ms"},{"op":"MAX","column":"status"}],"time_range":600}`,
			opts: Options{DisableSeries: true},
			results: []*Result{{
				Groups: []Group{{Values: []AggValue{num(0), null, {Number: math.NaN()}}}},
			}},
			wantPlans: 1,
		},
		{
			name: "heatmap",
			spec: `{"calculations":[{"op":"HEATMAP","column":"duration_ms"},{"op":"COUNT"}],"time_range":600}`,
			opts: Options{DisableSeries: true},
			results: []*Result{{
				Groups: []Group{{Values: []AggValue{
					{Heatmap: &Histogram{Min: 0, Max: 100, Counts: []float64{1, 0, 3, 6}}},
					num(10),
				}}},
			}},
			wantPlans: 1,
		},
		{
			name: "rates",
			spec: `{"calculations":[{"op":"RATE_SUM","column":"bytes"},{"op":"RATE_MAX","column":"bytes"},{"op":"SUM","column":"bytes"}],"breakdowns":["endpoint"],"havings":[{"calculate_op":"RATE_SUM","column":"bytes","op":">","value":0}],"orders":[{"op":"RATE_SUM","column":"bytes","order":"descending"}],"time_range":600,"granularity":60}`,
			results: []*Result{{
				Groups: []Group{
					{Key: []event.Value{str("/slow")}, Values: []AggValue{num(60), num(40)}},
					{Key: []event.Value{str("/fast")}, Values: []AggValue{num(600), num(400)}},
					{Key: []event.Value{str("/down")}, Values: []AggValue{num(30), num(20)}},
				},
				Series: []SeriesPoint{
					{Time: at(0), Key: []event.Value{str("/slow")}, Values: []AggValue{num(10), num(5)}},
					{Time: at(1), Key: []event.Value{str("/slow")}, Values: []AggValue{num(20), num(15)}},
					{Time: at(3), Key: []event.Value{str("/slow")}, Values: []AggValue{num(30), num(20)}},
					{Time: at(0), Key: []event.Value{str("/fast")}, Values: []AggValue{num(100), num(60)}},
					{Time: at(1), Key: []event.Value{str("/fast")}, Values: []AggValue{num(200), num(140)}},
					{Time: at(2), Key: []event.Value{str("/fast")}, Values: []AggValue{num(300), num(200)}},
					{Time: at(0), Key: []event.Value{str("/down")}, Values: []AggValue{num(20), num(15)}},
					{Time: at(1), Key: []event.Value{str("/down")}, Values: []AggValue{num(10), num(5)}},
				},
			}},
			opts:      Options{DisableTotalByAggregate: true, DisableOtherByAggregate: true},
			wantPlans: 1,
		},
		{
			name: "raw_events",
			spec: `{"filters":[{"column":"status","op":">=","value":"500"}],"time_range":600}`,
			results: []*Result{{
				Events: []RawEvent{
					{Time: at(2), Dataset: "api", SampleRate: 1, Fields: []event.Field{
						{Key: "status", Value: event.Int(503)}, {Key: "endpoint", Value: str("/x")},
						{Key: "error", Value: event.Bool(true)}, {Key: "ratio", Value: event.Float(math.Inf(1))},
					}},
					{Time: at(1), Dataset: "api", SampleRate: 10, Fields: []event.Field{{Key: "status", Value: event.Int(500)}}},
				},
			}},
			wantPlans: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec := &fakeExecutor{results: tt.results}
			e := NewEngine(exec, fakeCatalog{})
			opts := tt.opts
			opts.Now = testNow
			out, err := e.Run(t.Context(), 1, []string{"api"}, mustParse(t, tt.spec), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(exec.plans) != tt.wantPlans {
				t.Errorf("ran %d plans, want %d", len(exec.plans), tt.wantPlans)
			}
			golden(t, tt.name, out)
			golden(t, tt.name+".plan", exec.plans)
		})
	}
}

func TestDefaultGranularity(t *testing.T) {
	tests := []struct {
		span int64
		want time.Duration
	}{
		{1, time.Second},
		{60, time.Second},
		{600, 5 * time.Second},
		{7200, time.Minute},
		{86400, 15 * time.Minute},
		{7 * 86400, 2 * time.Hour},
		{365 * 86400, 7 * 86400 * time.Second},
		{MaxTimeRange, 31 * 86400 * time.Second},
	}
	for _, tt := range tests {
		got := DefaultGranularity(tt.span)
		if got != tt.want {
			t.Errorf("DefaultGranularity(%d) = %v, want %v", tt.span, got, tt.want)
		}
		if n := tt.span / int64(got/time.Second); n > 120 || got > time.Duration(tt.span)*time.Second && tt.span > 0 {
			t.Errorf("DefaultGranularity(%d) = %v gives %d buckets", tt.span, got, n)
		}
	}
}

func TestSpecIDIsCanonical(t *testing.T) {
	a := mustParse(t, `{"calculations":[{"op":"count"}],"filter_combination":"AND","orders":[{"op":"COUNT","order":"ascending"}],"filters":[{"column":"status","op":"IN","value":[ 1, 2 ]}]}`)
	b := mustParse(t, `{"orders":[{"op":"COUNT"}],"calculations":[{"op":"COUNT"}],"filters":[{"column":"status","op":"in","value":[1,2]}]}`)
	c := mustParse(t, `{"calculations":[{"op":"COUNT"}],"limit":5}`)
	ida, _ := a.ID()
	idb, _ := b.ID()
	idc, _ := c.ID()
	if ida != idb {
		ca, _ := a.Canonical()
		cb, _ := b.Canonical()
		t.Errorf("same spec, different IDs %s %s:\n%s\n%s", ida, idb, ca, cb)
	}
	if ida == idc {
		t.Errorf("different specs share ID %s", ida)
	}
	canon, _ := a.Canonical()
	golden(t, "canonical", json.RawMessage(canon))
	// The canonical form parses back to itself.
	again, err := ParseSpec(canon)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := again.ID(); id != ida {
		t.Errorf("canonical form has ID %s, want %s", id, ida)
	}
}

// TestHavingWithoutBreakdowns: a having that rejects the only group of a
// query without breakdowns leaves no results and no series, while the
// totals, which ignore havings, come from a plan without havings.
func TestHavingWithoutBreakdowns(t *testing.T) {
	exec := &fakeExecutor{results: []*Result{
		{}, // the store applied the having: no group
		{Groups: []Group{{Key: []event.Value{}, Values: []AggValue{num(3)}}},
			Series: []SeriesPoint{{Time: testNow.Add(-time.Hour), Key: []event.Value{}, Values: []AggValue{num(3)}}}},
	}}
	e := NewEngine(exec, fakeCatalog{})
	spec := mustParse(t, `{"calculations":[{"op":"COUNT"}],"havings":[{"calculate_op":"COUNT","op":">","value":10}],"time_range":7200}`)
	out, err := e.Run(context.Background(), 1, []string{"api"}, spec, Options{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(exec.plans) != 2 || len(exec.plans[0].Havings) != 1 || len(exec.plans[1].Havings) != 0 || len(exec.plans[1].Breakdowns) != 0 {
		t.Fatalf("plans: %+v", exec.plans)
	}
	if len(out.Results) != 0 || len(out.Series) != 0 {
		t.Fatalf("results %+v series %+v, want none", out.Results, out.Series)
	}
	if out.TotalByAggregate["COUNT"] != 3.0 {
		t.Fatalf("totals %+v, want COUNT 3", out.TotalByAggregate)
	}
}
