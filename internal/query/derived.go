package query

import (
	"context"
	"fmt"

	"github.com/waggle-hq/waggle/internal/event"
)

// DerivedColumn is a derived column a plan reads: its checked expression
// and the expression's type.
type DerivedColumn struct {
	Alias      string
	Expression string
	Expr       *Expr
	Type       event.Type
}

// DerivedDefinition is a saved derived column as its source gives it.
type DerivedDefinition struct {
	Alias      string
	Expression string
}

// DerivedSource supplies the derived columns a query may read.
type DerivedSource interface {
	// DerivedColumns returns the derived columns visible to a query over
	// datasets (slugs): those of each dataset and the environment-wide ones
	// ("__all__"); with no datasets (a query over __all__) only the
	// environment-wide ones.
	DerivedColumns(ctx context.Context, env event.EnvID, datasets []string) ([]DerivedDefinition, error)
}

// WithDerivedColumns makes the engine resolve derived columns from src:
// a query then names a derived column by its alias like a column, in
// calculations, filters, breakdowns, orders and havings.
func WithDerivedColumns(src DerivedSource) EngineOption {
	return func(e *Engine) { e.derived = src }
}

// ResolveDerived parses and type-checks a derived column's expression
// against cols (strict: unknown columns are errors) and returns it.
func ResolveDerived(alias, expression string, cols map[string]ColumnInfo, strict bool) (DerivedColumn, error) {
	x, err := ParseDerived(expression)
	if err != nil {
		return DerivedColumn{}, err
	}
	if err := CheckDerived(x, cols, strict); err != nil {
		return DerivedColumn{}, err
	}
	t := x.Type
	if t == event.TypeNull {
		t = event.TypeString
	}
	return DerivedColumn{Alias: alias, Expression: expression, Expr: x, Type: t}, nil
}

// withDerived adds the derived columns visible to the query to cols (a
// fresh map). A saved expression that no longer checks against the columns
// is left out (a query naming it gets "unknown column"). A derived column
// shadows a stored column of the same name.
func (e *Engine) withDerived(ctx context.Context, env event.EnvID, slugs, datasets []string, cols map[string]ColumnInfo) (map[string]ColumnInfo, error) {
	if e.derived == nil {
		return cols, nil
	}
	if len(datasets) > 0 && len(slugs) == 0 {
		slugs = nil // __all__
	}
	defs, err := e.derived.DerivedColumns(ctx, env, slugs)
	if err != nil {
		return nil, fmt.Errorf("load derived columns: %w", err)
	}
	if len(defs) == 0 {
		return cols, nil
	}
	out := make(map[string]ColumnInfo, len(cols)+len(defs))
	for k, v := range cols {
		out[k] = v
	}
	for _, d := range defs {
		dc, err := ResolveDerived(d.Alias, d.Expression, cols, false)
		if err != nil {
			e.log.DebugContext(ctx, "derived column left out", "alias", d.Alias, "err", err)
			continue
		}
		out[d.Alias] = ColumnInfo{Type: dc.Type, Derived: &dc}
	}
	return out, nil
}

// attachDerived records in the compiled plans the derived columns they read.
func attachDerived(c *compiled, cols map[string]ColumnInfo) {
	p := c.plan
	m := map[string]DerivedColumn{}
	add := func(name string) {
		if info, ok := cols[name]; ok && info.Derived != nil {
			m[name] = *info.Derived
		}
	}
	for _, f := range p.Filters {
		add(f.Column)
	}
	for _, b := range p.Breakdowns {
		add(b)
	}
	for _, a := range p.Aggregates {
		add(a.Column)
		if a.Where != nil {
			for _, f := range a.Where.Filters {
				add(f.Column)
			}
		}
	}
	for _, o := range p.Orders {
		add(o.Column)
	}
	if len(m) == 0 {
		return
	}
	p.Derived = m
	if c.total != nil {
		c.total.Derived = m
	}
}
