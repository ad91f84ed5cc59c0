package sqlgen

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// GroupingSetser is optionally implemented by a Dialect whose engine
// computes GROUP BY GROUPING SETS with the GROUPING() function (DuckDB,
// PostgreSQL). ExecuteWithTotal then computes a plan's groups and its total
// in one scan. ClickHouse 18.16 has neither (only WITH TOTALS, whose row
// the database/sql drivers do not return), so it keeps the second pass.
type GroupingSetser interface {
	GroupingSets()
}

// ExecuteWithTotal returns what Execute returns for main and for total,
// where total is main without breakdowns, havings and orders, with limit 1
// (the plan of Honeycomb's total_by_aggregate and other_by_aggregate).
// When the dialect has grouping sets and every aggregate is a plain
// aggregate expression, the total's whole-range values come from the same
// scan as main's groups, and its series from the same scan as main's
// series unless the groups were cut (by the limit or havings); otherwise it
// runs both plans.
func ExecuteWithTotal(ctx context.Context, q Querier, d Dialect, s *Schema, main, total *query.Plan) (*query.Result, *query.Result, error) {
	if !canShareTotal(d, s, main, total) {
		mr, err := Execute(ctx, q, d, s, main)
		if err != nil {
			return nil, nil, err
		}
		tr, err := Execute(ctx, q, d, s, total)
		if err != nil {
			return nil, nil, err
		}
		return mr, tr, nil
	}
	if err := validate(main); err != nil {
		return nil, nil, fmt.Errorf("invalid plan: %w", err)
	}
	g := newGen(d, s, main)
	if g.derivedErr != nil {
		return nil, nil, g.derivedErr
	}
	groups, tg, err := g.runGroupsTotal(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	mr := &query.Result{Groups: groups}
	tr := &query.Result{Groups: []query.Group{tg}}
	limited := len(main.Havings) > 0 || (main.Limit > 0 && len(groups) >= main.Limit)
	if main.Granularity == 0 {
		return mr, tr, nil
	}
	if !limited {
		// Every group is shown: one scan gives both series. Without groups
		// no event matched and both series are empty.
		if len(groups) > 0 {
			if mr.Series, tr.Series, err = g.runSeriesTotal(ctx, q, groups); err != nil {
				return nil, nil, err
			}
		}
		return mr, tr, nil
	}
	if len(groups) > 0 {
		if mr.Series, err = g.runSeries(ctx, q, groups, g.topFilter(groups)); err != nil {
			return nil, nil, err
		}
	}
	tgen := newGen(d, s, total)
	if tgen.derivedErr != nil {
		return nil, nil, tgen.derivedErr
	}
	if tr.Series, err = tgen.runSeries(ctx, q, tr.Groups, nil); err != nil {
		return nil, nil, err
	}
	return mr, tr, nil
}

// canShareTotal reports whether main's scans can also compute total.
func canShareTotal(d Dialect, s *Schema, main, total *query.Plan) bool {
	if _, ok := d.(GroupingSetser); !ok || main == nil || total == nil {
		return false
	}
	if main.Raw() || len(main.Breakdowns) == 0 || total.Limit != 1 {
		return false
	}
	want := *main
	want.Breakdowns, want.Havings, want.Orders, want.Limit = nil, nil, nil, 1
	if !reflect.DeepEqual(&want, total) {
		return false
	}
	g := &gen{d: d, s: s, p: main}
	if !main.Unweighted {
		for i := range s.Parts {
			if s.Parts[i].Sampled {
				g.weighted = true
				break
			}
		}
	}
	for _, a := range main.Aggregates {
		if g.kind(a) != kindSimple {
			return false
		}
	}
	return true
}

// groupedTotal writes the aggregate query of a plan whose aggregates are all
// simple, grouped by the keys ([tb,] k…) and also by the time bucket alone
// (the total): columns [tb,] k…, a…, gt, where gt is non-zero on total rows.
func (g *gen) groupedTotal(b *buf, series int64) {
	ks := g.keys(series)
	bks := ks
	if series > 0 {
		bks = ks[1:]
	}
	b.s("SELECT ")
	selectKeys(b, ks, true)
	for i, a := range g.p.Aggregates {
		b.s(", ")
		g.simple(b, a)
		b.s(" AS a", inum(int64(i)))
	}
	exprs := func(ks []keyed) string {
		var parts []string
		for _, k := range ks {
			parts = append(parts, k.expr)
		}
		return strings.Join(parts, ", ")
	}
	b.s(", GROUPING(", exprs(bks), ") AS gt FROM ")
	g.source(b, false)
	g.where(b)
	b.s(" GROUP BY GROUPING SETS ((", exprs(ks), "), (")
	if series > 0 {
		b.s(ks[0].expr)
	}
	b.s("))")
}

// outCols lists the result columns [tb,] k…, a….
func (g *gen) outCols(series int64) string {
	var parts []string
	for _, k := range g.keys(series) {
		parts = append(parts, k.alias)
	}
	for i := range g.p.Aggregates {
		parts = append(parts, "a"+inum(int64(i)))
	}
	return strings.Join(parts, ", ")
}

// runGroupsTotal is runGroups that also returns the total group (over all
// events, ignoring havings and the limit).
func (g *gen) runGroupsTotal(ctx context.Context, q Querier) ([]query.Group, query.Group, error) {
	var b buf
	b.s("SELECT ", g.outCols(0), ", gt FROM (")
	g.groupedTotal(&b, 0)
	b.s(") AS r")
	if len(g.p.Havings) > 0 {
		b.s(" WHERE gt <> 0 OR (")
		for i, h := range g.p.Havings {
			if i > 0 {
				b.s(" AND ")
			}
			b.s("a", inum(int64(h.Agg)), " ", cmpOps[h.Op], " ")
			b.a(h.Value)
		}
		b.s(")")
	}
	// The total row first, then the groups in order.
	b.s(" ORDER BY gt DESC")
	if terms := g.orderTerms(); len(terms) > 0 {
		b.s(", ", strings.Join(terms, ", "))
	}
	if g.p.Limit > 0 {
		b.s(" LIMIT ", inum(int64(g.p.Limit)+1))
	}
	var groups []query.Group
	var total *query.Group
	err := g.scanTotal(ctx, q, &b, func(keys []event.Value, vals []query.AggValue, _ int64, isTotal bool) {
		if isTotal {
			total = &query.Group{Key: []event.Value{}, Values: vals}
			return
		}
		groups = append(groups, query.Group{Key: keys, Values: vals})
	}, false)
	if err != nil {
		return nil, query.Group{}, err
	}
	if total == nil {
		// No event matched (the empty grouping set has no row then on some
		// engines): what the total plan gives over no rows.
		total = &query.Group{Key: []event.Value{}, Values: g.emptyValues()}
	}
	return groups, *total, nil
}

// emptyValues are the aggregates over no rows: zero for counts, null
// otherwise.
func (g *gen) emptyValues() []query.AggValue {
	av := make([]query.AggValue, len(g.p.Aggregates))
	for i, a := range g.p.Aggregates {
		switch a.Op {
		case query.AggCount, query.AggCountDistinct, query.AggConcurrency, query.AggHeatmap:
		default:
			av[i] = query.AggValue{Null: true}
		}
	}
	return av
}

// runSeriesTotal is runSeries over every group (no top filter) that also
// returns the total's series.
func (g *gen) runSeriesTotal(ctx context.Context, q Querier, groups []query.Group) ([]query.SeriesPoint, []query.SeriesPoint, error) {
	gran := int64(g.p.Granularity)
	var b buf
	b.s("SELECT ", g.outCols(gran), ", gt FROM (")
	g.groupedTotal(&b, gran)
	b.s(") AS r ORDER BY 1")
	var pts, tpts []query.SeriesPoint
	err := g.scanTotal(ctx, q, &b, func(keys []event.Value, vals []query.AggValue, tb int64, isTotal bool) {
		t := time.Unix(0, tb).UTC()
		if isTotal {
			tpts = append(tpts, query.SeriesPoint{Time: t, Key: []event.Value{}, Values: vals})
			return
		}
		pts = append(pts, query.SeriesPoint{Time: t, Key: keys, Values: vals})
	}, true)
	if err != nil {
		return nil, nil, err
	}
	rank := map[string]int{}
	for i, gr := range groups {
		rank[keyString(gr.Key)] = i
	}
	out := pts[:0]
	for _, pt := range pts {
		if _, ok := rank[keyString(pt.Key)]; ok {
			out = append(out, pt)
		}
	}
	sortSeries(out, rank)
	sortSeries(tpts, map[string]int{"": 0})
	return out, tpts, nil
}

// scanTotal is scan for rows with a trailing gt column.
func (g *gen) scanTotal(ctx context.Context, q Querier, b *buf, fn func([]event.Value, []query.AggValue, int64, bool), series bool) error {
	nk := len(g.p.Breakdowns)
	var gt sql.NullInt64
	return g.scanExtra(ctx, q, b, func(keys []event.Value, vals []query.AggValue, tb int64) {
		fn(keys, vals, tb, gt.Valid && gt.Int64 != 0)
	}, nk, series, &gt)
}
