package sqlgen

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// Querier runs SQL; *sql.DB and *sql.Conn satisfy it.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Execute runs p over the data s describes and returns its result.
func Execute(ctx context.Context, q Querier, d Dialect, s *Schema, p *query.Plan) (*query.Result, error) {
	if err := validate(p); err != nil {
		return nil, fmt.Errorf("invalid plan: %w", err)
	}
	if p.Raw() {
		ev, err := Raw(ctx, q, d, s, p, false)
		if err != nil {
			return nil, err
		}
		return &query.Result{Events: ev}, nil
	}
	g := newGen(d, s, p)
	if g.derivedErr != nil {
		return nil, g.derivedErr
	}
	res := &query.Result{}
	groups, limited, err := g.runGroups(ctx, q)
	if err != nil {
		return nil, err
	}
	res.Groups = groups
	var top func(*buf)
	if limited && len(p.Breakdowns) > 0 {
		top = g.topFilter(groups)
	}
	if p.Granularity > 0 && len(groups) > 0 {
		if res.Series, err = g.runSeries(ctx, q, groups, top); err != nil {
			return nil, err
		}
	}
	for i, a := range p.Aggregates {
		if a.Op == query.AggHeatmap {
			if err := g.runHeatmap(ctx, q, i, res, top); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// runGroups runs the whole-range aggregate query with havings, orders and
// limit; limited reports whether groups may have been left out.
func (g *gen) runGroups(ctx context.Context, q Querier) (groups []query.Group, limited bool, err error) {
	var b buf
	b.s("SELECT * FROM (")
	g.grouped(&b, 0, nil)
	b.s(") AS r")
	for i, h := range g.p.Havings {
		if i == 0 {
			b.s(" WHERE ")
		} else {
			b.s(" AND ")
		}
		b.s("a", inum(int64(h.Agg)), " ", cmpOps[h.Op], " ")
		b.a(h.Value)
	}
	g.orderBy(&b)
	if g.p.Limit > 0 {
		b.s(" LIMIT ", inum(int64(g.p.Limit)))
	}
	nk := len(g.p.Breakdowns)
	err = g.scan(ctx, q, &b, func(keys []event.Value, vals []query.AggValue, _ int64) {
		groups = append(groups, query.Group{Key: keys, Values: vals})
	}, nk, false)
	if err != nil {
		return nil, false, err
	}
	limited = len(g.p.Havings) > 0 || (g.p.Limit > 0 && len(groups) >= g.p.Limit)
	return groups, limited, nil
}

// orderBy writes the groups' order: the plan's orders, else the first
// non-heatmap aggregate descending; breakdown keys ascending break ties.
func (g *gen) orderBy(b *buf) {
	if terms := g.orderTerms(); len(terms) > 0 {
		b.s(" ORDER BY ", strings.Join(terms, ", "))
	}
}

// orderTerms are the terms of orderBy.
func (g *gen) orderTerms() []string {
	var terms []string
	for _, o := range g.p.Orders {
		dir := " ASC NULLS LAST"
		if o.Descending {
			dir = " DESC NULLS LAST"
		}
		if o.Agg >= 0 {
			if g.p.Aggregates[o.Agg].Op != query.AggHeatmap {
				terms = append(terms, "a"+inum(int64(o.Agg))+dir)
			}
			continue
		}
		for i, name := range g.p.Breakdowns {
			if name == o.Column {
				terms = append(terms, "k"+inum(int64(i))+dir)
				break
			}
		}
	}
	if len(g.p.Orders) == 0 {
		for i, a := range g.p.Aggregates {
			if a.Op != query.AggHeatmap {
				terms = append(terms, "a"+inum(int64(i))+" DESC NULLS LAST")
				break
			}
		}
	}
	for i := range g.p.Breakdowns {
		terms = append(terms, "k"+inum(int64(i))+" ASC NULLS LAST")
	}
	return terms
}

// topFilter is a predicate keeping only events of the given groups.
func (g *gen) topFilter(groups []query.Group) func(*buf) {
	ks := g.keys(0)
	return func(b *buf) {
		if len(groups) == 0 {
			b.s("1 = 0")
			return
		}
		if len(ks) == 1 {
			var vals []any
			hasNull := false
			for _, gr := range groups {
				if gr.Key[0].IsNull() {
					hasNull = true
				} else {
					vals = append(vals, gr.Key[0].Any())
				}
			}
			n := 0
			if len(vals) > 0 {
				b.s(ks[0].expr, " IN (")
				for i, v := range vals {
					if i > 0 {
						b.s(", ")
					}
					b.a(v)
				}
				b.s(")")
				n++
			}
			if hasNull {
				if n > 0 {
					b.s(" OR ")
				}
				b.s(ks[0].expr, " IS NULL")
			}
			return
		}
		for i, gr := range groups {
			if i > 0 {
				b.s(" OR ")
			}
			b.s("(")
			for j, k := range ks {
				if j > 0 {
					b.s(" AND ")
				}
				if gr.Key[j].IsNull() {
					b.s(k.expr, " IS NULL")
				} else {
					b.s(k.expr, " = ")
					b.a(gr.Key[j].Any())
				}
			}
			b.s(")")
		}
	}
}

// runSeries runs the per-bucket aggregates of the given groups.
func (g *gen) runSeries(ctx context.Context, q Querier, groups []query.Group, top func(*buf)) ([]query.SeriesPoint, error) {
	var b buf
	gran := int64(g.p.Granularity)
	g.grouped(&b, gran, top)
	b.s(" ORDER BY 1")
	var pts []query.SeriesPoint
	err := g.scan(ctx, q, &b, func(keys []event.Value, vals []query.AggValue, tb int64) {
		pts = append(pts, query.SeriesPoint{Time: time.Unix(0, tb).UTC(), Key: keys, Values: vals})
	}, len(g.p.Breakdowns), true)
	if err != nil {
		return nil, err
	}
	// Keep the order of groups within a bucket stable: by group rank.
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
	return out, nil
}

// scan runs b's query and calls fn per row. Rows hold [tb,] nk keys and one
// float per aggregate.
func (g *gen) scan(ctx context.Context, q Querier, b *buf, fn func([]event.Value, []query.AggValue, int64), nk int, series bool) error {
	return g.scanExtra(ctx, q, b, fn, nk, series)
}

// scanExtra is scan for rows with further columns after the aggregates,
// scanned into extra before each call of fn.
func (g *gen) scanExtra(ctx context.Context, q Querier, b *buf, fn func([]event.Value, []query.AggValue, int64), nk int, series bool, extra ...any) error {
	rows, err := q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return fmt.Errorf("run query: %w", err)
	}
	defer rows.Close()
	na := len(g.p.Aggregates)
	off := 0
	if series {
		off = 1
	}
	dest := make([]any, off+nk+na, off+nk+na+len(extra))
	var tb sql.NullInt64
	keys := make([]any, nk)
	vals := make([]sql.NullFloat64, na)
	if series {
		dest[0] = &tb
	}
	for i := range keys {
		dest[off+i] = &keys[i]
	}
	for i := range vals {
		dest[off+nk+i] = &vals[i]
	}
	dest = append(dest, extra...)
	if na == 0 {
		// Grouped queries always have at least one aggregate; raw plans
		// never come here.
		return nil
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan result: %w", err)
		}
		kv := make([]event.Value, nk)
		for i, k := range keys {
			kv[i] = g.keyValue(i, k)
		}
		av := make([]query.AggValue, na)
		for i, v := range vals {
			if g.p.Aggregates[i].Op == query.AggHeatmap {
				continue
			}
			switch {
			case v.Valid:
				av[i] = query.AggValue{Number: v.Float64}
			case g.p.Aggregates[i].Op == query.AggCount, g.p.Aggregates[i].Op == query.AggCountDistinct,
				g.p.Aggregates[i].Op == query.AggConcurrency:
				av[i] = query.AggValue{}
			default:
				av[i] = query.AggValue{Null: true}
			}
		}
		fn(kv, av, tb.Int64)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read result: %w", err)
	}
	return nil
}

// toValue converts a scanned key into a Value.
func toValue(x any) event.Value {
	switch t := x.(type) {
	case nil:
		return event.Value{}
	case []byte:
		return event.String(string(t))
	case string:
		return event.String(t)
	case float32:
		return event.Float(float64(t))
	}
	if v, ok := event.FromAny(x); ok {
		return v
	}
	return event.String(fmt.Sprint(x))
}

// keyValue converts the scanned value of breakdown i into a Value. A
// breakdown over a column holding only booleans stays boolean on engines
// without a boolean type (ClickHouse before 22 returns UInt8).
func (g *gen) keyValue(i int, x any) event.Value {
	if c := g.cols[g.p.Breakdowns[i]]; c != nil && c.count() == 1 && c.has(event.TypeBool) {
		return typed(x, event.TypeBool)
	}
	return toValue(x)
}

// keyString is a map key for a group key.
func keyString(k []event.Value) string {
	var sb strings.Builder
	for _, v := range k {
		sb.WriteByte(byte('0' + v.Type()))
		s := v.Text()
		sb.WriteString(fmt.Sprint(len(s)))
		sb.WriteByte(':')
		sb.WriteString(s)
	}
	return sb.String()
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// queryRow runs b's query and scans its single row into dest.
func queryRow(ctx context.Context, q Querier, b *buf, dest ...any) error {
	rows, err := q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}
