package duckdb

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
)

// FuzzWriteExecute writes an event with a fuzzed column name and values,
// then runs every filter operator and several aggregates with fuzzed values
// against it. Nothing may panic and no query may fail: names and values
// never reach SQL text.
func FuzzWriteExecute(f *testing.F) {
	f.Add(`x"; DROP TABLE datasets; --`, "v'); SELECT 1; --", int64(1), 1.5, "filter'", true, uint16(0))
	f.Add("", "", int64(0), 0.0, "", false, uint16(77))
	f.Add("trace.trace_id", "\x00\xff\xfe", int64(math.MinInt64), math.Inf(1), "%_\\", true, uint16(301))
	f.Add("a.b", "ü😀", int64(math.MaxInt64), math.NaN(), "?", false, uint16(150))
	// Every input adds columns to one dataset; raw queries over thousands
	// of in-memory columns need more than a small memory limit.
	s, err := Open(Options{Dir: f.TempDir(), MemoryLimit: 4 << 30})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Hour)
	ops := []query.FilterOp{query.OpEq, query.OpNe, query.OpGt, query.OpGe, query.OpLt, query.OpLe,
		query.OpStartsWith, query.OpNotStartsWith, query.OpEndsWith, query.OpNotEndsWith, query.OpExists,
		query.OpNotExists, query.OpContains, query.OpNotContains, query.OpIn, query.OpNotIn}
	f.Fuzz(func(t *testing.T, col, sval string, ival int64, fval float64, fstr string, bval bool, pick uint16) {
		ev := event.Event{Time: t0.Add(time.Duration(ival % int64(time.Hour))), Dataset: "fuzz", SampleRate: ival % 7,
			Fields: []event.Field{{Key: col, Value: event.String(sval)}, {Key: col + "#i", Value: event.Int(ival)},
				{Key: col + "#f", Value: event.Float(fval)}, {Key: col + "#b", Value: event.Bool(bval)}}}
		err := s.Write(ctx, event.Batch{Env: 1, Events: []event.Event{ev}})
		if err != nil && !errors.Is(err, store.ErrTooManyColumns) {
			t.Fatalf("write: %v", err)
		}
		vals := []event.Value{event.String(fstr), event.Int(ival), event.Float(fval), event.Bool(bval), {}}
		// One column, operator and value per input (pick spreads over all
		// 4 × 16 × 5 combinations).
		c := []string{col, col + "#i", col + "#f", fstr}[pick%4]
		op := ops[(pick/4)%16]
		v := vals[(pick/64)%5]
		p := &query.Plan{Start: t0.Add(-time.Hour), End: t0.Add(2 * time.Hour), Granularity: time.Minute, HeatmapBuckets: 3,
			Aggregates: []query.Aggregate{{Op: query.AggCount}, {Op: query.AggPercentile, Column: c, P: 0.5},
				{Op: query.AggHeatmap, Column: c}, {Op: query.AggConcurrency}, {Op: query.AggCountDistinct, Column: c}},
			Filters:    []query.Filter{{Column: c, Op: op, Value: v, Values: vals}},
			Breakdowns: []string{c}, Limit: 2}
		if _, err := s.Execute(ctx, 1, p); err != nil {
			t.Fatalf("execute %q %s %#v: %v", c, op, v.Any(), err)
		}
		raw := &query.Plan{Datasets: []string{"fuzz"}, Start: t0.Add(-time.Hour), End: t0.Add(2 * time.Hour), Limit: 5,
			Filters: []query.Filter{{Column: c, Op: op, Value: v, Values: vals}}}
		if _, err := s.Execute(ctx, 1, raw); err != nil {
			t.Fatalf("raw %q %s %#v: %v", c, op, v.Any(), err)
		}
		if _, err := s.Trace(ctx, 1, sval); err != nil {
			t.Fatalf("trace: %v", err)
		}
	})
}
