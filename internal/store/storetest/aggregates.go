package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
)

// fixture writes two datasets, one unsampled and one sampled, and returns
// their events.
func fixture(t testing.TB, s store.Store, env event.EnvID) (a, b []event.Event) {
	t.Helper()
	a = genEvents(1, "svc-a", 600, false)
	b = genEvents(2, "svc-b", 600, true)
	write(t, s, env, a[:300])
	write(t, s, env, append(append([]event.Event{}, a[300:]...), b...))
	return a, b
}

func allAggs() []query.Aggregate {
	return []query.Aggregate{
		{Op: query.AggCount},
		{Op: query.AggSum, Column: "duration_ms"},
		{Op: query.AggAvg, Column: "duration_ms"},
		{Op: query.AggMin, Column: "duration_ms"},
		{Op: query.AggMax, Column: "duration_ms"},
		{Op: query.AggCountDistinct, Column: "user"},
		{Op: query.AggPercentile, Column: "duration_ms", P: 0.5},
		{Op: query.AggPercentile, Column: "duration_ms", P: 0.95},
		{Op: query.AggPercentile, Column: "duration_ms", P: 0},
		{Op: query.AggPercentile, Column: "duration_ms", P: 1},
		{Op: query.AggSum, Column: "status"},
		{Op: query.AggPercentile, Column: "status", P: 0.99},
		{Op: query.AggMin, Column: "name"}, // not numeric: NULL
	}
}

// checkGroups compares a result's groups, as a set, with the reference.
func checkGroups(t *testing.T, evs []event.Event, p *query.Plan, r *query.Result) {
	t.Helper()
	want := refGroups(evs, p)
	if len(r.Groups) != len(want) {
		t.Fatalf("got %d groups, want %d", len(r.Groups), len(want))
	}
	for _, g := range r.Groups {
		rg := want[keyString(g.Key)]
		if rg == nil {
			t.Fatalf("unexpected group %v", g.Key)
		}
		if len(g.Values) != len(p.Aggregates) {
			t.Fatalf("group %v: %d values for %d aggregates", g.Key, len(g.Values), len(p.Aggregates))
		}
		for i, a := range p.Aggregates {
			w := refAgg(rg.events, a, p.Unweighted)
			got := g.Values[i]
			if got.Null != w.Null || (!w.Null && !closeEnough(got.Number, w.Number)) {
				t.Errorf("group %v aggregate %d (%+v): got %+v, want %+v", g.Key, i, a, got, w)
			}
		}
	}
}

func testAggregates(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	a, b := fixture(t, s, 1)
	all := append(append([]event.Event{}, a...), b...)
	t0 := base()
	full := func(p query.Plan) *query.Plan {
		p.Start, p.End = t0, t0.Add(time.Hour)
		if p.Aggregates == nil {
			p.Aggregates = allAggs()
		}
		return &p
	}
	f := func(col string, op query.FilterOp, v event.Value) query.Filter {
		return query.Filter{Column: col, Op: op, Value: v}
	}
	type tc struct {
		name string
		ds   []string
		evs  []event.Event
		p    *query.Plan
	}
	cases := []tc{
		{"unsampled", []string{"svc-a"}, a, full(query.Plan{})},
		{"sampled", []string{"SVC-B"}, b, full(query.Plan{})},
		{"sampled-unweighted", []string{"svc-b"}, b, full(query.Plan{Unweighted: true})},
		{"all-datasets", nil, all, full(query.Plan{})},
		{"breakdown-with-nulls", nil, all, full(query.Plan{Breakdowns: []string{"status"}})},
		{"two-breakdowns", []string{"svc-a"}, a, full(query.Plan{Breakdowns: []string{"name", "cached"}})},
		{"sub-range", []string{"svc-b"}, b, &query.Plan{Start: t0.Add(10 * time.Minute), End: t0.Add(20 * time.Minute), Aggregates: allAggs()}},
	}
	filters := []query.Filter{
		f("status", query.OpEq, event.Int(200)),
		f("status", query.OpNe, event.Int(200)),
		f("status", query.OpGt, event.Int(200)),
		f("status", query.OpGe, event.Int(404)),
		f("status", query.OpLt, event.Int(404)),
		f("status", query.OpLe, event.Int(404)),
		f("duration_ms", query.OpGt, event.Float(12.5)),
		f("duration_ms", query.OpLe, event.Int(30)),
		f("name", query.OpEq, event.String("GET /")),
		f("name", query.OpNe, event.String("GET /")),
		f("name", query.OpStartsWith, event.String("GET")),
		f("name", query.OpNotStartsWith, event.String("GET")),
		f("name", query.OpEndsWith, event.String("get")),
		f("name", query.OpNotEndsWith, event.String("get")),
		f("name", query.OpContains, event.String("/")),
		f("name", query.OpNotContains, event.String("/")),
		f("user", query.OpExists, event.Value{}),
		f("user", query.OpNotExists, event.Value{}),
		f("user", query.OpNe, event.String("user-001")),
		f("user", query.OpNotContains, event.String("1")),
		f("user", query.OpGt, event.String("user-025")),
		f("cached", query.OpEq, event.Bool(true)),
		f("cached", query.OpNe, event.Bool(true)),
		f("status", query.OpEq, event.String("200")), // string compare of the text rendering
		f("no-such-column", query.OpNe, event.Int(1)),
		f("no-such-column", query.OpNotExists, event.Value{}),
		{Column: "status", Op: query.OpIn, Values: []event.Value{event.Int(404), event.Int(500)}},
		{Column: "status", Op: query.OpNotIn, Values: []event.Value{event.Int(404), event.Int(500)}},
		{Column: "name", Op: query.OpIn, Values: []event.Value{event.String("GET /"), event.String("db.query")}},
		{Column: "name", Op: query.OpNotIn, Values: []event.Value{event.String("GET /"), event.String("db.query")}},
		{Column: "duration_ms", Op: query.OpIn, Values: []event.Value{event.Int(5), event.Float(1.5)}},
	}
	for _, fl := range filters {
		cases = append(cases, tc{fmt.Sprintf("filter %s %s %v", fl.Column, fl.Op, fl.Value.Any()), nil, all,
			full(query.Plan{Filters: []query.Filter{fl}, Breakdowns: []string{"name"}})})
	}
	two := []query.Filter{f("status", query.OpGe, event.Int(404)), f("name", query.OpStartsWith, event.String("GET"))}
	cases = append(cases,
		tc{"and", nil, all, full(query.Plan{Filters: two})},
		tc{"or", nil, all, full(query.Plan{Filters: two, Or: true})},
		tc{"or-with-absent", nil, all, full(query.Plan{Filters: []query.Filter{f("user", query.OpEq, event.String("user-007")), f("status", query.OpEq, event.Int(500))}, Or: true})},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := *c.p
			p.Datasets = c.ds
			r := execute(t, s, 1, &p)
			checkGroups(t, c.evs, &p, r)
		})
	}
}

func testOrders(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	a, _ := fixture(t, s, 1)
	t0 := base()
	p := &query.Plan{
		Datasets: []string{"svc-a"}, Start: t0, End: t0.Add(time.Hour),
		Aggregates: []query.Aggregate{{Op: query.AggCount}, {Op: query.AggAvg, Column: "duration_ms"}},
		Breakdowns: []string{"user"},
	}
	groups := refGroups(a, p)
	type row struct {
		key   event.Value
		count float64
		avg   query.AggValue
	}
	var rows []row
	for _, g := range groups {
		rows = append(rows, row{g.key[0], refAgg(g.events, p.Aggregates[0], false).Number, refAgg(g.events, p.Aggregates[1], false)})
	}
	// Default order: first aggregate descending, ties by key ascending
	// (null last).
	less := func(i, j int) bool {
		if rows[i].count != rows[j].count {
			return rows[i].count > rows[j].count
		}
		if rows[i].key.IsNull() != rows[j].key.IsNull() {
			return !rows[i].key.IsNull()
		}
		return rows[i].key.Str() < rows[j].key.Str()
	}
	sort.Slice(rows, less)
	r := execute(t, s, 1, p)
	if len(r.Groups) != len(rows) {
		t.Fatalf("got %d groups, want %d", len(r.Groups), len(rows))
	}
	for i, g := range r.Groups {
		if keyString(g.Key) != keyString([]event.Value{rows[i].key}) || g.Values[0].Number != rows[i].count {
			t.Fatalf("default order: group %d is %v/%v, want %v/%v", i, g.Key, g.Values[0].Number, rows[i].key, rows[i].count)
		}
	}
	// Limit keeps the first groups of the order.
	p.Limit = 5
	r = execute(t, s, 1, p)
	if len(r.Groups) != 5 || keyString(r.Groups[4].Key) != keyString([]event.Value{rows[4].key}) {
		t.Fatalf("limit 5: got %d groups, %v", len(r.Groups), r.Groups)
	}
	// Order by breakdown descending.
	p.Limit = 0
	p.Orders = []query.Order{{Agg: -1, Column: "user", Descending: true}}
	r = execute(t, s, 1, p)
	for i := 1; i < len(r.Groups); i++ {
		prev, cur := r.Groups[i-1].Key[0], r.Groups[i].Key[0]
		if !cur.IsNull() && (prev.IsNull() || prev.Str() < cur.Str()) {
			t.Fatalf("order by user desc: %v before %v", prev, cur)
		}
	}
	// Order by an aggregate ascending.
	p.Orders = []query.Order{{Agg: 1}}
	r = execute(t, s, 1, p)
	for i := 1; i < len(r.Groups); i++ {
		prev, cur := r.Groups[i-1].Values[1], r.Groups[i].Values[1]
		if !cur.Null && (prev.Null || prev.Number > cur.Number) {
			t.Fatalf("order by avg asc: %v before %v", prev, cur)
		}
	}
	// Havings.
	for _, op := range []query.FilterOp{query.OpGt, query.OpGe, query.OpLt, query.OpLe, query.OpEq, query.OpNe} {
		p.Havings = []query.Having{{Agg: 0, Op: op, Value: 8}}
		r = execute(t, s, 1, p)
		want := 0
		for _, rw := range rows {
			if cmpF(rw.count, 8, op) || (op == query.OpNe && rw.count != 8) {
				want++
			}
		}
		if len(r.Groups) != want {
			t.Errorf("having count %s 8: got %d groups, want %d", op, len(r.Groups), want)
		}
		for _, g := range r.Groups {
			if !(cmpF(g.Values[0].Number, 8, op) || (op == query.OpNe && g.Values[0].Number != 8)) {
				t.Errorf("having count %s 8: group %v has count %v", op, g.Key, g.Values[0].Number)
			}
		}
	}
}
