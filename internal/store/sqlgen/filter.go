package sqlgen

import (
	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// operand returns the expression a value of type t is compared with, and the
// parameter to bind for v.
func (g *gen) operand(c *lcol, v event.Value) (string, any) {
	switch v.Type() {
	case event.TypeInt:
		if c.has(event.TypeInt) && !c.has(event.TypeFloat) {
			return g.numeric(c, false), v.Int()
		}
		return g.numeric(c, true), v.Float()
	case event.TypeFloat:
		return g.numeric(c, true), v.Float()
	case event.TypeBool:
		if c.has(event.TypeBool) {
			return g.alias(c, event.TypeBool), v.Bool()
		}
		return "CAST(NULL AS " + g.d.TypeName(event.TypeBool) + ")", v.Bool()
	}
	return g.text(c), v.Text()
}

// filter writes one filter as a predicate that is TRUE only for matching
// events (FALSE or NULL otherwise; filters are combined only with AND/OR, so
// NULL acts as FALSE).
func (g *gen) filter(b *buf, f *query.Filter) {
	c := g.use(f.Column)
	switch f.Op {
	case query.OpExists:
		b.s(g.exists(c))
		return
	case query.OpNotExists:
		b.s("NOT ", g.exists(c))
		return
	case query.OpIn, query.OpNotIn:
		g.in(b, c, f)
		return
	}
	if f.Value.IsNull() {
		switch f.Op {
		case query.OpEq:
			b.s("NOT ", g.exists(c))
		case query.OpNe:
			b.s(g.exists(c))
		default:
			b.s("1 = 0")
		}
		return
	}
	if op, ok := cmpOps[f.Op]; ok {
		lhs, arg := g.operand(c, f.Value)
		if f.Op == query.OpNe {
			// Present and not equal (also when the value has another type).
			b.s("(", g.exists(c), " AND (", lhs, " IS NULL OR ", lhs, " <> ")
			b.a(arg)
			b.s("))")
			return
		}
		b.s(lhs, " ", op, " ")
		b.a(arg)
		return
	}
	t := g.text(c)
	var fn func(string, string) string
	neg := false
	switch f.Op {
	case query.OpStartsWith:
		fn = g.d.StartsWith
	case query.OpNotStartsWith:
		fn, neg = g.d.StartsWith, true
	case query.OpEndsWith:
		fn = g.d.EndsWith
	case query.OpNotEndsWith:
		fn, neg = g.d.EndsWith, true
	case query.OpContains:
		fn = g.d.Contains
	case query.OpNotContains:
		fn, neg = g.d.Contains, true
	default:
		b.s("1 = 0")
		return
	}
	// The dialect's function gets a placeholder; bind after writing.
	if neg {
		b.s("(", t, " IS NOT NULL AND NOT ")
	}
	b.s(fn(t, "?"))
	b.args = append(b.args, ValidUTF8(f.Value.Text()))
	if neg {
		b.s(")")
	}
}

// in writes in / not-in: the list is split by value kind, each kind compared
// with the matching expression of the column.
func (g *gen) in(b *buf, c *lcol, f *query.Filter) {
	var strs, ints, floats, bools []any
	intOnly := c.has(event.TypeInt) && !c.has(event.TypeFloat)
	for _, v := range f.Values {
		switch v.Type() {
		case event.TypeString:
			strs = append(strs, v.Str())
		case event.TypeInt:
			if intOnly {
				ints = append(ints, v.Int())
			} else {
				floats = append(floats, v.Float())
			}
		case event.TypeFloat:
			floats = append(floats, v.Float())
		case event.TypeBool:
			bools = append(bools, v.Bool())
		}
	}
	type group struct {
		expr string
		vals []any
	}
	var groups []group
	if len(strs) > 0 {
		groups = append(groups, group{g.text(c), strs})
	}
	if len(ints) > 0 {
		groups = append(groups, group{g.numeric(c, false), ints})
	}
	if len(floats) > 0 {
		groups = append(groups, group{g.numeric(c, true), floats})
	}
	if len(bools) > 0 && c.has(event.TypeBool) {
		groups = append(groups, group{g.alias(c, event.TypeBool), bools})
	}
	if f.Op == query.OpNotIn {
		b.s("(", g.exists(c), " AND NOT (")
	} else {
		b.s("(")
	}
	if len(groups) == 0 {
		b.s("1 = 0")
	}
	for i, gr := range groups {
		if i > 0 {
			b.s(" OR ")
		}
		b.s("COALESCE(", gr.expr, " IN (")
		for j, v := range gr.vals {
			if j > 0 {
				b.s(", ")
			}
			b.a(v)
		}
		b.s("), 1 = 0)")
	}
	if f.Op == query.OpNotIn {
		b.s("))")
	} else {
		b.s(")")
	}
}
