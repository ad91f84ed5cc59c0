package storetest

import (
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// testHavingNoBreakdowns: without breakdowns there is exactly one group,
// unless a having rejects it; then there is none and no series.
func testHavingNoBreakdowns(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	a, _ := fixture(t, s, 1)
	t0 := base()
	n := refAgg(func() []*event.Event {
		var out []*event.Event
		for i := range a {
			out = append(out, &a[i])
		}
		return out
	}(), query.Aggregate{Op: query.AggCount}, false).Number
	for _, c := range []struct {
		op   query.FilterOp
		v    float64
		keep bool
	}{{query.OpGt, n, false}, {query.OpLe, n, true}, {query.OpEq, n, true}, {query.OpNe, n, false}} {
		for _, gran := range []time.Duration{0, 10 * time.Minute} {
			p := &query.Plan{Datasets: []string{"svc-a"}, Start: t0, End: t0.Add(time.Hour), Granularity: gran,
				Aggregates: []query.Aggregate{{Op: query.AggCount}, {Op: query.AggConcurrency}},
				Havings:    []query.Having{{Agg: 0, Op: c.op, Value: c.v}}}
			r := execute(t, s, 1, p)
			switch {
			case c.keep && (len(r.Groups) != 1 || r.Groups[0].Values[0].Number != n || (gran > 0 && len(r.Series) == 0)):
				t.Errorf("COUNT %s %v (granularity %v): %d groups, %d points, want the group", c.op, c.v, gran, len(r.Groups), len(r.Series))
			case !c.keep && (len(r.Groups) != 0 || len(r.Series) != 0):
				t.Errorf("COUNT %s %v (granularity %v): %d groups, %d points, want none", c.op, c.v, gran, len(r.Groups), len(r.Series))
			}
		}
	}
	// No events at all: one group of count 0, which a having may reject.
	p := &query.Plan{Datasets: []string{"svc-a"}, Start: t0.Add(-48 * time.Hour), End: t0.Add(-47 * time.Hour),
		Aggregates: []query.Aggregate{{Op: query.AggCount}}}
	if r := execute(t, s, 1, p); len(r.Groups) != 1 || r.Groups[0].Values[0].Number != 0 {
		t.Errorf("empty range: %+v", r.Groups)
	}
	p.Havings = []query.Having{{Agg: 0, Op: query.OpGt, Value: 0}}
	if r := execute(t, s, 1, p); len(r.Groups) != 0 {
		t.Errorf("empty range with COUNT > 0: %+v", r.Groups)
	}
}
