package storetest

import (
	"math"
	"sort"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// The reference evaluator: the documented query semantics, computed in Go.

// numOf returns the numeric value of v, if it is a number.
func numOf(v event.Value) (float64, bool) {
	if v.Type().Numeric() {
		return v.Float(), true
	}
	return 0, false
}

// eqMatch reports whether a present value v equals the filter value fv under
// the typed comparison rules.
func cmpMatch(v, fv event.Value, op query.FilterOp) bool {
	switch fv.Type() {
	case event.TypeInt, event.TypeFloat:
		x, ok := numOf(v)
		if !ok {
			return false
		}
		return cmpF(x, fv.Float(), op)
	case event.TypeBool:
		if v.Type() != event.TypeBool {
			return false
		}
		a, b := 0.0, 0.0
		if v.Bool() {
			a = 1
		}
		if fv.Bool() {
			b = 1
		}
		return cmpF(a, b, op)
	}
	return cmpS(v.Text(), fv.Text(), op)
}

func cmpF(a, b float64, op query.FilterOp) bool {
	switch op {
	case query.OpEq:
		return a == b
	case query.OpGt:
		return a > b
	case query.OpGe:
		return a >= b
	case query.OpLt:
		return a < b
	case query.OpLe:
		return a <= b
	}
	return false
}

func cmpS(a, b string, op query.FilterOp) bool {
	switch op {
	case query.OpEq:
		return a == b
	case query.OpGt:
		return a > b
	case query.OpGe:
		return a >= b
	case query.OpLt:
		return a < b
	case query.OpLe:
		return a <= b
	}
	return false
}

func matchFilter(e *event.Event, f query.Filter) bool {
	v, ok := e.Get(f.Column)
	switch f.Op {
	case query.OpExists:
		return ok
	case query.OpNotExists:
		return !ok
	}
	if !ok {
		return false
	}
	switch f.Op {
	case query.OpNe:
		return !cmpMatch(v, f.Value, query.OpEq)
	case query.OpStartsWith:
		return strings.HasPrefix(v.Text(), f.Value.Text())
	case query.OpNotStartsWith:
		return !strings.HasPrefix(v.Text(), f.Value.Text())
	case query.OpEndsWith:
		return strings.HasSuffix(v.Text(), f.Value.Text())
	case query.OpNotEndsWith:
		return !strings.HasSuffix(v.Text(), f.Value.Text())
	case query.OpContains:
		return strings.Contains(v.Text(), f.Value.Text())
	case query.OpNotContains:
		return !strings.Contains(v.Text(), f.Value.Text())
	case query.OpIn, query.OpNotIn:
		in := false
		for _, fv := range f.Values {
			if cmpMatch(v, fv, query.OpEq) {
				in = true
			}
		}
		return in == (f.Op == query.OpIn)
	}
	return cmpMatch(v, f.Value, f.Op)
}

func matches(e *event.Event, p *query.Plan) bool {
	if e.Time.Before(p.Start) || !e.Time.Before(p.End) {
		return false
	}
	return matchAll(e, p.Filters, p.Or)
}

// matchAll reports whether e matches filters combined with AND (OR when or);
// no filters match every event.
func matchAll(e *event.Event, filters []query.Filter, or bool) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		m := matchFilter(e, f)
		if or && m {
			return true
		}
		if !or && !m {
			return false
		}
	}
	return !or
}

// refGroup is a group computed by the reference.
type refGroup struct {
	key    []event.Value
	events []*event.Event
}

func refGroups(evs []event.Event, p *query.Plan) map[string]*refGroup {
	out := map[string]*refGroup{}
	for i := range evs {
		e := &evs[i]
		if !matches(e, p) {
			continue
		}
		key := make([]event.Value, len(p.Breakdowns))
		for j, b := range p.Breakdowns {
			key[j], _ = e.Get(b)
		}
		k := keyString(key)
		g := out[k]
		if g == nil {
			g = &refGroup{key: key}
			out[k] = g
		}
		g.events = append(g.events, e)
	}
	if len(p.Breakdowns) == 0 && len(out) == 0 {
		out[""] = &refGroup{key: []event.Value{}}
	}
	return out
}

func keyString(k []event.Value) string {
	var sb strings.Builder
	for _, v := range k {
		sb.WriteString(v.Type().String())
		sb.WriteByte(':')
		sb.WriteString(v.Text())
		sb.WriteByte(0)
	}
	return sb.String()
}

// refAgg computes one aggregate over a group's events.
func refAgg(evs []*event.Event, a query.Aggregate, unweighted bool) query.AggValue {
	if a.Where != nil && len(a.Where.Filters) > 0 {
		var kept []*event.Event
		for _, e := range evs {
			if matchAll(e, a.Where.Filters, a.Where.Or) {
				kept = append(kept, e)
			}
		}
		evs = kept
	}
	w := func(e *event.Event) float64 {
		if unweighted || e.SampleRate <= 0 {
			return 1
		}
		return float64(e.SampleRate)
	}
	switch a.Op {
	case query.AggCount:
		n := 0.0
		for _, e := range evs {
			n += w(e)
		}
		return query.AggValue{Number: n}
	case query.AggCountDistinct:
		seen := map[string]bool{}
		for _, e := range evs {
			if v, ok := e.Get(a.Column); ok {
				seen[v.Type().String()+v.Text()] = true
			}
		}
		return query.AggValue{Number: float64(len(seen))}
	}
	type vw struct{ v, w float64 }
	var xs []vw
	for _, e := range evs {
		if v, ok := e.Get(a.Column); ok {
			if x, ok := numOf(v); ok {
				xs = append(xs, vw{x, w(e)})
			}
		}
	}
	if len(xs) == 0 {
		return query.AggValue{Null: true}
	}
	switch a.Op {
	case query.AggSum, query.AggAvg:
		s, sw := 0.0, 0.0
		for _, x := range xs {
			s += x.v * x.w
			sw += x.w
		}
		if a.Op == query.AggAvg {
			s /= sw
		}
		return query.AggValue{Number: s}
	case query.AggMin, query.AggMax:
		m := xs[0].v
		for _, x := range xs {
			if (a.Op == query.AggMin && x.v < m) || (a.Op == query.AggMax && x.v > m) {
				m = x.v
			}
		}
		return query.AggValue{Number: m}
	case query.AggPercentile:
		sort.Slice(xs, func(i, j int) bool { return xs[i].v < xs[j].v })
		W := 0.0
		for _, x := range xs {
			W += x.w
		}
		thr := math.Max(1, W-math.Floor(W-W*a.P))
		c := 0.0
		for _, x := range xs {
			c += x.w
			if c >= thr {
				return query.AggValue{Number: x.v}
			}
		}
		return query.AggValue{Number: xs[len(xs)-1].v}
	}
	return query.AggValue{Null: true}
}

func closeEnough(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}
