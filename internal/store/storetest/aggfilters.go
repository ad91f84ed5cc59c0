package storetest

import (
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// testAggregateFilters checks per-calculation filters (Aggregate.Where) on
// every aggregate kind, against the reference evaluator.
func testAggregateFilters(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	a, b := fixture(t, s, 1)
	all := append(append([]event.Event{}, a...), b...)
	t0 := base()
	f := func(col string, op query.FilterOp, v event.Value) query.Filter {
		return query.Filter{Column: col, Op: op, Value: v}
	}
	wheres := map[string]*query.AggFilter{
		"status-500":   {Filters: []query.Filter{f("status", query.OpEq, event.Int(500))}},
		"get-and-slow": {Filters: []query.Filter{f("name", query.OpStartsWith, event.String("GET")), f("duration_ms", query.OpGt, event.Int(50))}},
		"user-or-404":  {Filters: []query.Filter{f("user", query.OpExists, event.Value{}), f("status", query.OpEq, event.Int(404))}, Or: true},
		"in-list":      {Filters: []query.Filter{{Column: "name", Op: query.OpIn, Values: []event.Value{event.String("db.query"), event.String("cache.get")}}}},
		"none-match":   {Filters: []query.Filter{f("name", query.OpEq, event.String("no such name"))}},
		"absent-col":   {Filters: []query.Filter{f("no-such-column", query.OpNotExists, event.Value{})}},
	}
	// withWhere gives each of allAggs the filter w, and keeps one
	// unfiltered COUNT and one aggregate with another filter next to them.
	withWhere := func(w *query.AggFilter) []query.Aggregate {
		var out []query.Aggregate
		for _, ag := range allAggs() {
			ag.Where = w
			out = append(out, ag)
		}
		return append(out, query.Aggregate{Op: query.AggCount},
			query.Aggregate{Op: query.AggAvg, Column: "duration_ms", Where: wheres["in-list"]})
	}
	type tc struct {
		name string
		ds   []string
		evs  []event.Event
		p    query.Plan
	}
	var cases []tc
	for name, w := range wheres {
		cases = append(cases,
			tc{name + "/unsampled", []string{"svc-a"}, a, query.Plan{Aggregates: withWhere(w)}},
			tc{name + "/sampled", []string{"svc-b"}, b, query.Plan{Aggregates: withWhere(w)}},
			tc{name + "/unweighted", []string{"svc-b"}, b, query.Plan{Aggregates: withWhere(w), Unweighted: true}},
			tc{name + "/breakdown", nil, all, query.Plan{Aggregates: withWhere(w), Breakdowns: []string{"name"}}},
			tc{name + "/with-plan-filter", nil, all, query.Plan{Aggregates: withWhere(w), Breakdowns: []string{"status"},
				Filters: []query.Filter{f("duration_ms", query.OpLt, event.Int(200))}}},
			tc{name + "/with-plan-or", nil, all, query.Plan{Aggregates: withWhere(w),
				Filters: []query.Filter{f("cached", query.OpEq, event.Bool(true)), f("status", query.OpEq, event.Int(200))}, Or: true}},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.p
			p.Datasets = c.ds
			p.Start, p.End = t0, t0.Add(time.Hour)
			r := execute(t, s, 1, &p)
			checkGroups(t, c.evs, &p, r)
		})
	}

	// Series: each bucket's value only counts the filtered events.
	t.Run("series", func(t *testing.T) {
		w := wheres["get-and-slow"]
		p := &query.Plan{Datasets: []string{"svc-b"}, Start: t0, End: t0.Add(time.Hour), Granularity: 10 * time.Minute,
			Aggregates: []query.Aggregate{{Op: query.AggCount, Where: w}, {Op: query.AggPercentile, Column: "duration_ms", P: 0.9, Where: w},
				{Op: query.AggCount}}}
		r := execute(t, s, 1, p)
		buckets := map[time.Time][]*event.Event{}
		for i := range b {
			e := &b[i]
			bt := time.Unix(0, e.Time.UnixNano()-e.Time.UnixNano()%int64(p.Granularity)).UTC()
			buckets[bt] = append(buckets[bt], e)
		}
		if len(r.Series) != len(buckets) {
			t.Fatalf("got %d series points, want %d", len(r.Series), len(buckets))
		}
		for _, pt := range r.Series {
			for j, ag := range p.Aggregates {
				want := refAgg(buckets[pt.Time], ag, false)
				if pt.Values[j].Null != want.Null || !closeEnough(pt.Values[j].Number, want.Number) {
					t.Errorf("point %v aggregate %d: got %+v, want %+v", pt.Time, j, pt.Values[j], want)
				}
			}
		}
	})

	// HEATMAP: bounds and counts of the filtered events only.
	t.Run("heatmap", func(t *testing.T) {
		w := wheres["status-500"]
		p := &query.Plan{Datasets: []string{"svc-a"}, Start: t0, End: t0.Add(time.Hour), HeatmapBuckets: 8,
			Aggregates: []query.Aggregate{{Op: query.AggHeatmap, Column: "duration_ms", Where: w}, {Op: query.AggCount}}}
		r := execute(t, s, 1, p)
		var xs []float64
		for i := range a {
			if matchAll(&a[i], w.Filters, w.Or) {
				v, _ := a[i].Get("duration_ms")
				xs = append(xs, v.Float())
			}
		}
		lo, hi := xs[0], xs[0]
		for _, x := range xs {
			lo, hi = min(lo, x), max(hi, x)
		}
		h := r.Groups[0].Values[0].Heatmap
		if h == nil || h.Min != lo || h.Max != hi {
			t.Fatalf("heatmap %+v, want bounds %v..%v", h, lo, hi)
		}
		want := make([]float64, 8)
		for _, x := range xs {
			i := int((x - lo) / ((hi - lo) / 8))
			want[min(max(i, 0), 7)]++
		}
		for i := range want {
			if h.Counts[i] != want[i] {
				t.Fatalf("heatmap counts %v, want %v", h.Counts, want)
			}
		}
		if r.Groups[0].Values[1].Number != float64(len(a)) {
			t.Fatalf("unfiltered count %v, want %d", r.Groups[0].Values[1].Number, len(a))
		}
	})

	// CONCURRENCY: only the spans the filter keeps.
	t.Run("concurrency", func(t *testing.T) {
		span := func(startSec, durMs float64, kind string) event.Event {
			return event.Event{Time: t0.Add(time.Duration(startSec * float64(time.Second))), Dataset: "spans-f", SampleRate: 1,
				Fields: []event.Field{{Key: "duration_ms", Value: event.Float(durMs)}, {Key: "kind", Value: event.String(kind)}}}
		}
		write(t, s, 2, []event.Event{span(0, 25000, "a"), span(5, 10000, "b"), span(12, 1000, "a"), span(15, 3000, "b")})
		w := &query.AggFilter{Filters: []query.Filter{f("kind", query.OpEq, event.String("b"))}}
		p := &query.Plan{Datasets: []string{"spans-f"}, Start: t0, End: t0.Add(time.Minute), Granularity: 10 * time.Second,
			Aggregates: []query.Aggregate{{Op: query.AggConcurrency, Where: w}, {Op: query.AggConcurrency}}}
		r := execute(t, s, 2, p)
		if got := r.Groups[0].Values; got[0].Number != 2 || got[1].Number != 4 {
			t.Fatalf("concurrency kind=b %v and all %v, want 2 and 4", got[0].Number, got[1].Number)
		}
		want := map[int][2]float64{0: {1, 2}, 10: {2, 4}, 20: {0, 1}}
		if len(r.Series) != len(want) {
			t.Fatalf("got %d points, want %d", len(r.Series), len(want))
		}
		for _, pt := range r.Series {
			sec := int(pt.Time.Sub(t0) / time.Second)
			if w := want[sec]; pt.Values[0].Number != w[0] || pt.Values[1].Number != w[1] {
				t.Errorf("at +%ds: %v, %v, want %v", sec, pt.Values[0].Number, pt.Values[1].Number, w)
			}
		}
	})
}
