package sqlgen

import (
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// aggKind says how an aggregate is computed.
type aggKind int

const (
	kindSimple     aggKind = iota // one aggregate expression in the grouped query
	kindWindowPct                 // weighted percentile through window functions
	kindConcurrent                // expanded over buckets, then summed
	kindHeatmap                   // separate bounds and histogram queries
)

func (g *gen) kind(a query.Aggregate) aggKind {
	switch a.Op {
	case query.AggHeatmap:
		return kindHeatmap
	case query.AggConcurrency:
		return kindConcurrent
	case query.AggPercentile:
		if g.weighted {
			if _, ok := g.d.WeightedQuantile("x", "w", a.P); !ok {
				return kindWindowPct
			}
		}
	}
	return kindSimple
}

// weight is the weight of one event in counts.
func (g *gen) weight() string {
	if g.weighted {
		return "sr"
	}
	return "1"
}

// aggCond renders a's own filter (Aggregate.Where) as a predicate with its
// arguments, or "" when it has none.
func (g *gen) aggCond(a query.Aggregate) (string, []any) {
	if a.Where == nil || len(a.Where.Filters) == 0 {
		return "", nil
	}
	var c buf
	c.s("(")
	for i := range a.Where.Filters {
		if i > 0 {
			if a.Where.Or {
				c.s(" OR ")
			} else {
				c.s(" AND ")
			}
		}
		g.filter(&c, &a.Where.Filters[i])
	}
	c.s(")")
	return c.String(), c.args
}

// aggPred returns a's own filter as an extra predicate for the subqueries
// that compute one aggregate alone (percentiles through window functions,
// CONCURRENCY, HEATMAP), or nil when it has none.
func (g *gen) aggPred(a query.Aggregate) func(*buf) {
	cond, args := g.aggCond(a)
	if cond == "" {
		return nil
	}
	return func(b *buf) {
		b.s(cond)
		b.args = append(b.args, args...)
	}
}

// simple writes the aggregate expression (a float) of a simple aggregate,
// restricted to the rows its own filter keeps.
func (g *gen) simple(b *buf, a query.Aggregate) {
	cond, cargs := g.aggCond(a)
	var args []any
	// f restricts one aggregate call to a's filter.
	f := func(call string) string {
		if cond == "" {
			return call
		}
		args = append(args, cargs...)
		return g.d.AggregateIf(call, cond)
	}
	b.s(g.simpleExpr(a, f))
	b.args = append(b.args, args...)
}

// simpleExpr is the expression of a simple aggregate; f wraps every
// aggregate call.
func (g *gen) simpleExpr(a query.Aggregate, f func(string) string) string {
	ff := g.d.ToFloat
	switch a.Op {
	case query.AggCount:
		if g.weighted {
			return "COALESCE(" + ff(f("sum(sr)")) + ", 0.0)"
		}
		return ff(f("count(*)"))
	case query.AggCountDistinct:
		return ff(f(g.d.CountDistinct(g.key(g.use(a.Column)))))
	}
	c := g.use(a.Column)
	switch a.Op {
	case query.AggSum:
		if g.weighted {
			return ff(f("sum(" + g.numeric(c, true) + " * sr)"))
		}
		return ff(f("sum(" + g.numeric(c, false) + ")"))
	case query.AggAvg:
		if g.weighted {
			x := g.numeric(c, true)
			return "(" + ff(f("sum("+x+" * sr)")) + " / " + ff(f("sum(CASE WHEN "+x+" IS NOT NULL THEN sr END)")) + ")"
		}
		return ff(f("avg(" + g.numeric(c, false) + ")"))
	case query.AggMin:
		return ff(f("min(" + g.numeric(c, false) + ")"))
	case query.AggMax:
		return ff(f("max(" + g.numeric(c, false) + ")"))
	case query.AggPercentile:
		x := g.numeric(c, false)
		if g.weighted {
			if s, ok := g.d.WeightedQuantile(g.numeric(c, true), "sr", a.P); ok {
				return ff(f(s))
			}
		}
		return ff(f(g.d.Quantile(x, a.P)))
	}
	return "CAST(NULL AS " + g.d.TypeName(event.TypeFloat) + ")"
}

// keyed is a grouping key: the expression over the source and its alias.
type keyed struct{ expr, alias string }

// keys lists the grouping keys: the time bucket when series > 0, then the
// breakdowns.
func (g *gen) keys(series int64) []keyed {
	var ks []keyed
	if series > 0 {
		ks = append(ks, keyed{bucketStart("ts", series), "tb"})
	}
	for i, name := range g.p.Breakdowns {
		ks = append(ks, keyed{g.key(g.use(name)), "k" + inum(int64(i))})
	}
	return ks
}

func selectKeys(b *buf, ks []keyed, withExpr bool) {
	for i, k := range ks {
		if i > 0 {
			b.s(", ")
		}
		if withExpr {
			b.s(k.expr, " AS ")
		}
		b.s(k.alias)
	}
}

func groupBy(b *buf, ks []keyed, useExpr bool, extra ...string) {
	n := 0
	for _, k := range ks {
		if n == 0 {
			b.s(" GROUP BY ")
		} else {
			b.s(", ")
		}
		n++
		if useExpr {
			b.s(k.expr)
		} else {
			b.s(k.alias)
		}
	}
	for _, e := range extra {
		if n == 0 {
			b.s(" GROUP BY ")
		} else {
			b.s(", ")
		}
		n++
		b.s(e)
	}
}

// windowPct writes a subquery with columns (keys…, v): the weighted
// percentile of a per group, through window functions.
func (g *gen) windowPct(b *buf, a query.Aggregate, series int64, top func(*buf)) {
	ks := g.keys(series)
	x := g.numeric(g.use(a.Column), true)
	part := ""
	if len(ks) > 0 {
		var pb buf
		pb.s("PARTITION BY ")
		selectKeys(&pb, ks, false)
		part = pb.String() + " "
	}
	b.s("SELECT ")
	if len(ks) > 0 {
		selectKeys(b, ks, false)
		b.s(", ")
	}
	b.s("min(v) AS v FROM (SELECT ")
	if len(ks) > 0 {
		selectKeys(b, ks, false)
		b.s(", ")
	}
	b.s("v, sum(w) OVER (", part, "ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cw, sum(w) OVER (", part, ") AS tw FROM (SELECT ")
	if len(ks) > 0 {
		selectKeys(b, ks, true)
		b.s(", ")
	}
	b.s(x, " AS v, sum(sr) AS w FROM ")
	g.source(b, false)
	g.where(b, func(b *buf) { b.s(x, " IS NOT NULL") }, g.aggPred(a), top)
	groupBy(b, ks, true, x)
	b.s(") AS d) AS c WHERE cw >= ", greatest(g.d, "1", "tw - floor(tw - tw * "+fnum(a.P)+")"))
	groupBy(b, ks, false)
}

// concurrencyWidth is the bucket width CONCURRENCY uses for whole groups.
func (g *gen) concurrencyWidth() int64 {
	if g.p.Granularity > 0 {
		return int64(g.p.Granularity)
	}
	w := g.p.End.Sub(g.p.Start) / 100
	w = (w + time.Second - 1).Truncate(time.Second)
	if w < time.Second {
		w = time.Second
	}
	return int64(w)
}

// concurrency writes a subquery with columns (keys…, v). For series it has a
// row per bucket tb with the weight of events in progress; otherwise v is the
// maximum over buckets of the width concurrencyWidth.
func (g *gen) concurrency(b *buf, a query.Aggregate, series int64, top func(*buf)) {
	width := series
	if width == 0 {
		width = g.concurrencyWidth()
	}
	ks := g.keys(0) // breakdowns only: the bucket comes from the expansion
	dur := g.numeric(g.use(DurationColumn), true)
	endNs := inum(g.p.End.UnixNano())
	rangeMs := fnum(float64(g.p.End.Sub(g.p.Start)) / float64(time.Millisecond))
	dns := "CAST(floor(" + least(g.d, greatest(g.d, dur, "0.0"), rangeMs) + " * 1000000.0) AS " + g.d.TypeName(event.TypeInt) + ")"
	last := greatest(g.d, "ts + "+least(g.d, dns, endNs+" - ts")+" - 1", "ts")

	outerKeys := func(b *buf) {
		if len(ks) > 0 {
			selectKeys(b, ks, false)
			b.s(", ")
		}
	}
	if series > 0 {
		b.s("SELECT b AS tb, ")
	} else {
		b.s("SELECT ")
	}
	outerKeys(b)
	if series > 0 {
		b.s("sum(w) AS v FROM (SELECT ")
	} else {
		b.s("max(c) AS v FROM (SELECT ")
		outerKeys(b)
		b.s("b, sum(w) AS c FROM (SELECT ")
	}
	outerKeys(b)
	b.s("w, ", g.d.ExpandRange("b0", "b1", width), " AS b FROM (SELECT ")
	if len(ks) > 0 {
		selectKeys(b, ks, true)
		b.s(", ")
	}
	b.s(g.weight(), " AS w, ", bucketStart("ts", width), " AS b0, ", bucketStart(last, width), " AS b1 FROM ")
	g.source(b, false)
	g.where(b, func(b *buf) { b.s(dur, " IS NOT NULL") }, g.aggPred(a), top)
	b.s(") AS s1) AS s2")
	if series > 0 {
		groupBy(b, ks, false, "b")
		return
	}
	groupBy(b, ks, false, "b")
	b.s(") AS s3")
	groupBy(b, ks, false)
}

// grouped writes the full aggregate query: columns [tb,] k…, a0…; heatmap
// aggregates are NULL placeholders.
//
// The rows are the groups (and buckets) where an event matching the plan's
// filters starts. A time series with CONCURRENCY also has rows for the
// buckets where spans are in progress but none starts: the keys are then the
// union of both, and the other aggregates are empty there.
func (g *gen) grouped(b *buf, series int64, top func(*buf)) {
	ks := g.keys(series)
	type cx struct {
		i    int
		kind aggKind
	}
	var complex []cx
	var conc []int // aggregates whose buckets extend the series
	for i, a := range g.p.Aggregates {
		switch k := g.kind(a); k {
		case kindWindowPct, kindConcurrent:
			complex = append(complex, cx{i, k})
			if k == kindConcurrent && series > 0 {
				conc = append(conc, i)
			}
		}
	}
	nested := singleJoin(g.d)
	src := "g."
	if len(conc) > 0 && !nested {
		src = "u."
	}
	b.s("SELECT ")
	for i, k := range ks {
		if i > 0 {
			b.s(", ")
		}
		b.s(src, k.alias)
	}
	for i, a := range g.p.Aggregates {
		if len(ks) > 0 || i > 0 {
			b.s(", ")
		}
		ai := "a" + inum(int64(i))
		switch k := g.kind(a); k {
		case kindSimple:
			b.s("g.", ai)
		case kindHeatmap:
			b.s("CAST(NULL AS ", g.d.TypeName(event.TypeFloat), ") AS ", ai)
		default:
			v := g.d.ToFloat("x" + inum(int64(i)) + ".v")
			if nested {
				v = g.d.ToFloat("g.v" + inum(int64(i)))
			}
			if k == kindConcurrent {
				v = "COALESCE(" + v + ", 0.0)"
			}
			b.s(v, " AS ", ai)
		}
	}
	if len(ks) == 0 && len(g.p.Aggregates) == 0 {
		b.s("1 AS one")
	}
	// inner is the grouped query of the simple aggregates.
	inner := func(b *buf) {
		b.s("(SELECT ")
		n := 0
		if len(ks) > 0 {
			selectKeys(b, ks, true)
			n++
		}
		for i, a := range g.p.Aggregates {
			if g.kind(a) != kindSimple {
				continue
			}
			if n > 0 {
				b.s(", ")
			}
			n++
			g.simple(b, a)
			b.s(" AS a", inum(int64(i)))
		}
		if n == 0 {
			b.s("count(*) AS n")
		}
		b.s(" FROM ")
		g.source(b, false)
		g.where(b, top)
		groupBy(b, ks, true)
		b.s(")")
	}
	sub := func(b *buf, c cx) {
		b.s("(")
		if c.kind == kindWindowPct {
			g.windowPct(b, g.p.Aggregates[c.i], series, top)
		} else {
			g.concurrency(b, g.p.Aggregates[c.i], series, top)
		}
		b.s(")")
	}
	b.s(" FROM ")
	if nested {
		g.nestedJoins(b, ks, conc, complexIdx(complex, func(c cx) int { return c.i }), inner,
			func(b *buf, i int) { sub(b, cx{i, g.kind(g.p.Aggregates[i])}) })
		return
	}
	if len(conc) > 0 {
		// Every (bucket, group) with an event starting or a span in progress.
		// (UNION ALL and GROUP BY: every engine spells them alike.)
		b.s("(SELECT ")
		selectKeys(b, ks, false)
		b.s(" FROM (SELECT ")
		selectKeys(b, ks, false)
		b.s(" FROM ")
		inner(b)
		b.s(" AS g0")
		for j, i := range conc {
			b.s(" UNION ALL SELECT ")
			selectKeys(b, ks, false)
			b.s(" FROM ")
			sub(b, cx{i, kindConcurrent})
			b.s(" AS c", inum(int64(j)))
		}
		b.s(") AS u0")
		groupBy(b, ks, false)
		b.s(") AS u LEFT JOIN ")
		inner(b)
		b.s(" AS g ON ")
		joinOn(b, g.d, ks, "u", "g")
	} else {
		inner(b)
		b.s(" AS g")
	}
	for _, c := range complex {
		x := "x" + inum(int64(c.i))
		b.s(" LEFT JOIN ")
		sub(b, c)
		b.s(" AS ", x, " ON ")
		joinOn(b, g.d, ks, src[:1], x)
	}
}

// joinOn writes the condition joining relations l and r on the keys.
func joinOn(b *buf, d Dialect, ks []keyed, l, r string) {
	if len(ks) == 0 {
		b.s("1 = 1")
	}
	for j, k := range ks {
		if j > 0 {
			b.s(" AND ")
		}
		b.s(d.NullSafeEqual(l+"."+k.alias, r+"."+k.alias))
	}
}

func complexIdx[T any](xs []T, f func(T) int) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// nestedJoins writes grouped's FROM for engines that allow one JOIN per
// SELECT (see SingleJoiner): every join is wrapped in a subquery that
// carries the keys (k…, tb), the simple aggregates (a…) and the complex
// aggregates joined so far (v<i>), and the result is aliased g. The rows
// and values are those of the flat form.
func (g *gen) nestedJoins(b *buf, ks []keyed, conc, complex []int, inner func(*buf), sub func(*buf, int)) {
	var simple []string
	for i, a := range g.p.Aggregates {
		if g.kind(a) == kindSimple {
			simple = append(simple, "a"+inum(int64(i)))
		}
	}
	carry := func(b *buf, keysFrom, aggsFrom string, vs []int) int {
		n := 0
		sep := func() {
			if n > 0 {
				b.s(", ")
			}
			n++
		}
		for _, k := range ks {
			sep()
			b.s(keysFrom, ".", k.alias, " AS ", k.alias)
		}
		for _, a := range simple {
			sep()
			b.s(aggsFrom, ".", a, " AS ", a)
		}
		for _, i := range vs {
			sep()
			v := "v" + inum(int64(i))
			b.s(keysFrom, ".", v, " AS ", v)
		}
		return n
	}
	cur := inner
	if len(conc) > 0 {
		cur = func(b *buf) {
			b.s("(SELECT ")
			carry(b, "u", "g", nil)
			b.s(" FROM (SELECT ")
			selectKeys(b, ks, false)
			b.s(" FROM (SELECT ")
			selectKeys(b, ks, false)
			b.s(" FROM ")
			inner(b)
			b.s(" AS g0")
			for j, i := range conc {
				b.s(" UNION ALL SELECT ")
				selectKeys(b, ks, false)
				b.s(" FROM ")
				sub(b, i)
				b.s(" AS c", inum(int64(j)))
			}
			b.s(") AS u0")
			groupBy(b, ks, false)
			b.s(") AS u LEFT JOIN ")
			inner(b)
			b.s(" AS g ON ")
			joinOn(b, g.d, ks, "u", "g")
			b.s(")")
		}
	}
	for j, i := range complex {
		prev, done := cur, complex[:j]
		cur = func(b *buf) {
			b.s("(SELECT ")
			if carry(b, "l", "l", done) > 0 {
				b.s(", ")
			}
			b.s("x.v AS v", inum(int64(i)), " FROM ")
			prev(b)
			b.s(" AS l LEFT JOIN ")
			sub(b, i)
			b.s(" AS x ON ")
			joinOn(b, g.d, ks, "l", "x")
			b.s(")")
		}
	}
	cur(b)
	b.s(" AS g")
}
