package query

import (
	"fmt"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Options are the per-run settings of a query: those of Honeycomb's
// query_results request, and the clock.
type Options struct {
	// DisableSeries leaves out the time series and allows a limit up to
	// MaxLimitNoSeries.
	DisableSeries bool
	// DisableTotalByAggregate leaves out total_by_aggregate (and its series).
	DisableTotalByAggregate bool
	// DisableOtherByAggregate leaves out other_by_aggregate.
	DisableOtherByAggregate bool
	// Limit, when positive, replaces the spec's limit.
	Limit int
	// Now anchors relative time ranges; zero means time.Now().
	Now time.Time

	// aggregateWhere says the executor honours Aggregate.Where.
	aggregateWhere bool
}

// HeatmapBuckets is the number of value buckets of a HEATMAP.
const HeatmapBuckets = 50

// compiled is a spec checked against the catalog and lowered to plans.
type compiled struct {
	raw        bool
	breakdowns []string
	calcs      []calc
	// aggOf maps each calculation to its aggregate in plan.Aggregates.
	aggOf []int
	win   window
	// granularity is the series bucket width (even when the series is not
	// returned, RATE_* need it).
	granularity time.Duration
	// series says whether to return the series.
	series  bool
	hasRate bool
	plan    *Plan
	// total is the plan without breakdowns for total_by_aggregate; nil when
	// not needed.
	total *Plan
	// post says the engine, not the store, applies havings, orders and the
	// limit, because some refer to a RATE_* calculation.
	post    bool
	havings []resolvedHaving
	orders  []resolvedOrder
	limit   int
	other   bool
}

// compile validates spec against cols and lowers it. datasets are the slugs
// the plan reads (empty: every dataset).
func compile(spec *Spec, cols map[string]ColumnInfo, datasets []string, opts Options) (*compiled, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	win, err := spec.resolveTime(now)
	if err != nil {
		return nil, err
	}
	c := &compiled{raw: spec.Raw(), breakdowns: spec.Breakdowns, win: win}
	p := &Plan{
		Datasets:   datasets,
		Start:      win.start,
		End:        win.end,
		Unweighted: spec.UsageMode,
	}
	c.plan = p
	p.Or, _ = parseCombination("filter_combination", spec.FilterCombination)
	for i := range spec.Filters {
		f, err := lowerFilter(fieldf("filters", i), &spec.Filters[i], cols)
		if err != nil {
			return nil, err
		}
		p.Filters = append(p.Filters, f)
	}
	if err := c.setLimit(spec, opts); err != nil {
		return nil, err
	}
	if c.raw {
		return c, nil
	}
	for i, b := range spec.Breakdowns {
		if _, ok := cols[b]; !ok {
			return nil, errorf(fieldf("breakdowns", i), "unknown column %q", truncate(b))
		}
	}
	p.Breakdowns = spec.Breakdowns
	if c.calcs, err = spec.resolveCalculations(); err != nil {
		return nil, err
	}
	if err := c.lowerCalcs(cols, opts.aggregateWhere); err != nil {
		return nil, err
	}
	breakdowns := make(map[string]bool, len(spec.Breakdowns))
	for _, b := range spec.Breakdowns {
		breakdowns[b] = true
	}
	for i := range spec.Havings {
		h, _ := resolveHaving(fieldf("havings", i), &spec.Havings[i], c.calcs)
		c.havings = append(c.havings, h)
		c.post = c.post || c.calcs[h.calc].op.Rate()
	}
	for i := range spec.Orders {
		o, _ := resolveOrder(fieldf("orders", i), &spec.Orders[i], c.calcs, breakdowns)
		c.orders = append(c.orders, o)
	}
	c.orders = c.withDefaultOrders(c.orders)
	for _, o := range c.orders {
		c.post = c.post || (o.calc >= 0 && c.calcs[o.calc].op.Rate())
	}

	c.granularity = win.granularity
	if c.granularity == 0 {
		c.granularity = DefaultGranularity(win.seconds())
	}
	c.series = !opts.DisableSeries
	if c.series || c.hasRate {
		p.Granularity = c.granularity
	}
	if c.post {
		// The store cannot judge rates: it returns every group (up to the
		// largest limit) and the engine filters, sorts and cuts.
		p.Limit = MaxLimitNoSeries
	} else {
		for _, h := range c.havings {
			p.Havings = append(p.Havings, Having{Agg: c.aggOf[h.calc], Op: h.op, Value: h.value})
		}
		for _, o := range c.orders {
			if o.calc >= 0 {
				p.Orders = append(p.Orders, Order{Agg: c.aggOf[o.calc], Descending: o.descending})
			} else {
				p.Orders = append(p.Orders, Order{Agg: -1, Column: o.column, Descending: o.descending})
			}
		}
	}
	c.other = !opts.DisableOtherByAggregate && len(c.havings) == 0
	// Totals ignore havings: they come from a plan without breakdowns nor
	// havings. Without breakdowns that is the main plan unless the store
	// applies havings to it, which may leave no group (Honeycomb then
	// answers no results, but totals all the same).
	if (len(p.Breakdowns) > 0 && (!opts.DisableTotalByAggregate || c.other)) ||
		(len(p.Breakdowns) == 0 && len(p.Havings) > 0 && !opts.DisableTotalByAggregate) {
		t := *p
		t.Breakdowns, t.Havings, t.Orders, t.Limit = nil, nil, nil, 1
		c.total = &t
	}
	return c, nil
}

// setLimit resolves the effective limit: the run's, else the spec's, else
// the default; at most MaxLimit, or MaxLimitNoSeries without series.
func (c *compiled) setLimit(spec *Spec, opts Options) error {
	limit := DefaultLimit
	if c.raw {
		limit = DefaultRawLimit
	}
	if spec.Limit != nil {
		limit = *spec.Limit
	}
	if opts.Limit != 0 {
		limit = opts.Limit
	}
	max := MaxLimit
	if opts.DisableSeries {
		max = MaxLimitNoSeries
	}
	if limit < 1 || limit > max {
		return errorf("limit", "must be between 1 and %d (up to %d when the series is disabled), not %d",
			MaxLimit, MaxLimitNoSeries, limit)
	}
	c.limit = limit
	c.plan.Limit = limit
	return nil
}

// lowerCalcs checks every calculation's column and lowers it to a shared
// aggregate.
func (c *compiled) lowerCalcs(cols map[string]ColumnInfo, whereOK bool) error {
	p := c.plan
	seen := make(map[string]int, len(c.calcs))
	for _, k := range c.calcs {
		if k.op.TakesColumn() {
			col, ok := cols[k.column]
			if !ok {
				return errorf(k.field+".column", "unknown column %q", truncate(k.column))
			}
			if k.op.Numeric() && !col.Type.Numeric() {
				return errorf(k.field, "%s needs a numeric column, but %q is a %s column", k.op, truncate(k.column), typeName(col.Type))
			}
		}
		if k.op == CalcConcurrency {
			col, ok := cols[durationColumn]
			if !ok || !col.Type.Numeric() {
				return errorf(k.field, "CONCURRENCY needs a numeric %s column", durationColumn)
			}
		}
		agg := k.op.aggregate(k.column)
		if len(k.filters) > 0 {
			if !whereOK {
				return errorf(k.field+".filters", "per-calculation filters are not supported by this store yet")
			}
			where := &AggFilter{Or: k.or}
			for j := range k.filters {
				f, err := lowerFilter(fmt.Sprintf("%s.filters[%d]", k.field, j), &k.filters[j], cols)
				if err != nil {
					return err
				}
				where.Filters = append(where.Filters, f)
			}
			agg.Where = where
		}
		key := aggKey(agg)
		i, ok := seen[key]
		if !ok {
			i = len(p.Aggregates)
			p.Aggregates = append(p.Aggregates, agg)
			seen[key] = i
		}
		c.aggOf = append(c.aggOf, i)
		if agg.Op == AggHeatmap {
			p.HeatmapBuckets = HeatmapBuckets
		}
		c.hasRate = c.hasRate || k.op.Rate()
	}
	return nil
}

// durationColumn is the span duration column CONCURRENCY uses.
const durationColumn = "duration_ms"

// typeName names a column type for messages ("string" for an untyped column).
func typeName(t event.Type) string {
	if t == event.TypeNull {
		return event.TypeString.String()
	}
	return t.String()
}

// aggKey identifies an aggregate, so calculations that need the same one
// (SUM(x) and RATE_SUM(x)) share it.
func aggKey(a Aggregate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d|%q|%g", a.Op, a.Column, a.P)
	if a.Where != nil {
		fmt.Fprintf(&b, "|or=%t", a.Where.Or)
		for _, f := range a.Where.Filters {
			fmt.Fprintf(&b, "|%q%s%q%v", f.Column, f.Op, f.Value.Text(), f.Value.Type())
			for _, v := range f.Values {
				fmt.Fprintf(&b, ",%q%v", v.Text(), v.Type())
			}
		}
	}
	return b.String()
}

// withDefaultOrders completes the orders so results are deterministic: with
// no orders, the first calculation other than HEATMAP descending; then every
// breakdown not ordered yet, ascending, as tie-breakers.
func (c *compiled) withDefaultOrders(orders []resolvedOrder) []resolvedOrder {
	if len(orders) == 0 {
		for i, k := range c.calcs {
			if k.op != CalcHeatmap {
				orders = append(orders, resolvedOrder{calc: i, descending: true})
				break
			}
		}
	}
	for _, b := range c.breakdowns {
		found := false
		for _, o := range orders {
			if o.calc < 0 && o.column == b {
				found = true
				break
			}
		}
		if !found {
			orders = append(orders, resolvedOrder{calc: -1, column: b})
		}
	}
	return orders
}
