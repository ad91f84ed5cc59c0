package sqlgen

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// DurationColumn is the column CONCURRENCY reads span durations from.
const DurationColumn = "duration_ms"

// DefaultHeatmapBuckets is the number of heatmap value buckets when the plan
// does not say.
const DefaultHeatmapBuckets = 50

// buf accumulates SQL text and its arguments in textual order.
type buf struct {
	sb   strings.Builder
	args []any
}

func (b *buf) s(parts ...string) {
	for _, p := range parts {
		b.sb.WriteString(p)
	}
}

// a writes a placeholder bound to v.
func (b *buf) a(v any) {
	b.sb.WriteByte('?')
	if s, ok := v.(string); ok {
		v = ValidUTF8(s)
	}
	b.args = append(b.args, v)
}

// ValidUTF8 returns s with every byte that is not part of a valid UTF-8
// sequence replaced by U+FFFD. Stores apply it to the strings they keep
// (engines reject invalid UTF-8) and the generator to string parameters, so
// that filters match the stored text.
func ValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string([]rune(s))
}

func (b *buf) String() string { return b.sb.String() }

// lcol is a logical column a plan reads.
type lcol struct {
	idx   int
	name  string
	types [len(physTypes)]bool // indexed like physTypes
	// derived is set for a derived column (derived.go): computed over the
	// source from deps (the stored columns it reads) as sql.
	derived *query.DerivedColumn
	deps    map[string]*lcol
	sql     string
}

func (c *lcol) has(t event.Type) bool {
	for i, pt := range physTypes {
		if pt == t {
			return c.types[i]
		}
	}
	return false
}

func (c *lcol) count() int {
	n := 0
	for _, ok := range c.types {
		if ok {
			n++
		}
	}
	return n
}

func typeSuffix(t event.Type) string {
	switch t {
	case event.TypeString:
		return "s"
	case event.TypeInt:
		return "i"
	case event.TypeFloat:
		return "f"
	case event.TypeBool:
		return "b"
	}
	return "n"
}

// gen builds the SQL of one plan.
type gen struct {
	d        Dialect
	s        *Schema
	p        *query.Plan
	cols     map[string]*lcol
	ordered  []*lcol
	weighted bool
	raw      bool
	// derivedErr is why a derived column did not compile (derived.go).
	derivedErr error
}

func newGen(d Dialect, s *Schema, p *query.Plan) *gen {
	g := &gen{d: d, s: s, p: p, cols: map[string]*lcol{}}
	if !p.Unweighted {
		for i := range s.Parts {
			if s.Parts[i].Sampled {
				g.weighted = true
				break
			}
		}
	}
	g.collect()
	return g
}

// use registers a logical column and returns it.
func (g *gen) use(name string) *lcol {
	if c, ok := g.cols[name]; ok {
		return c
	}
	if d, ok := g.derivedOf(name); ok {
		return g.useDerived(name, d)
	}
	c := &lcol{idx: len(g.ordered), name: name}
	for i := range g.s.Parts {
		ph := g.s.Parts[i].Columns[name]
		for j, t := range physTypes {
			if ph.Get(t) != "" {
				c.types[j] = true
			}
		}
	}
	g.cols[name] = c
	g.ordered = append(g.ordered, c)
	return c
}

// collect registers every column the plan reads, before any SQL is written
// (the source projects exactly the registered columns).
func (g *gen) collect() {
	for _, f := range g.p.Filters {
		g.use(f.Column)
	}
	for _, b := range g.p.Breakdowns {
		g.use(b)
	}
	for _, a := range g.p.Aggregates {
		if a.Where != nil {
			for _, f := range a.Where.Filters {
				g.use(f.Column)
			}
		}
		switch a.Op {
		case query.AggCount:
		case query.AggConcurrency:
			g.use(DurationColumn)
		default:
			g.use(a.Column)
		}
	}
}

// useAll registers every column of every part (raw events).
func (g *gen) useAll() {
	var names []string
	seen := map[string]bool{}
	for i := range g.s.Parts {
		for n := range g.s.Parts[i].Columns {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		g.use(n)
	}
}

// alias is the name of column c's physical column of type t in the source.
func (g *gen) alias(c *lcol, t event.Type) string {
	return g.d.QuoteIdent("f" + strconv.Itoa(c.idx) + typeSuffix(t))
}

// numeric is c's value as a number (integers and floats coalesced), or NULL.
// A column with only integers stays integer unless asFloat.
func (g *gen) numeric(c *lcol, asFloat bool) string {
	hi, hf := c.has(event.TypeInt), c.has(event.TypeFloat)
	switch {
	case hi && hf:
		return "COALESCE(" + g.alias(c, event.TypeFloat) + ", " + g.d.ToFloat(g.alias(c, event.TypeInt)) + ")"
	case hf:
		return g.alias(c, event.TypeFloat)
	case hi:
		if asFloat {
			return g.d.ToFloat(g.alias(c, event.TypeInt))
		}
		return g.alias(c, event.TypeInt)
	}
	return "CAST(NULL AS " + g.d.TypeName(event.TypeFloat) + ")"
}

// text is c's value rendered as text, or NULL.
func (g *gen) text(c *lcol) string {
	var parts []string
	for i, t := range physTypes {
		if !c.types[i] {
			continue
		}
		if t == event.TypeString {
			parts = append(parts, g.alias(c, t))
		} else {
			parts = append(parts, g.d.ToText(g.alias(c, t), t))
		}
	}
	switch len(parts) {
	case 0:
		return "CAST(NULL AS " + g.d.TypeName(event.TypeString) + ")"
	case 1:
		return parts[0]
	}
	return "COALESCE(" + strings.Join(parts, ", ") + ")"
}

// key is c's value as a breakdown key: the physical column itself when there
// is one type, the text rendering otherwise.
func (g *gen) key(c *lcol) string {
	if c.count() == 1 {
		for i, t := range physTypes {
			if c.types[i] {
				return g.alias(c, t)
			}
		}
	}
	return g.text(c)
}

// exists is true when the event has c.
func (g *gen) exists(c *lcol) string {
	var parts []string
	for i, t := range physTypes {
		if c.types[i] {
			parts = append(parts, g.alias(c, t)+" IS NOT NULL")
		}
	}
	switch len(parts) {
	case 0:
		return "1 = 0"
	case 1:
		return parts[0]
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// window is the plan's time range narrowed by a part.
func window(p *query.Plan, pt *Part) (time.Time, time.Time) {
	start, end := p.Start, p.End
	if !pt.Start.IsZero() && pt.Start.After(start) {
		start = pt.Start
	}
	if !pt.End.IsZero() && pt.End.Before(end) {
		end = pt.End
	}
	return start, end
}

// source writes the row source: every part's rows in the plan's time range
// with columns ts (int64 ns), sr, ds (when withDataset) and the physical
// columns of the used logical columns, as a parenthesised subquery aliased e.
func (g *gen) source(b *buf, withDataset bool) {
	derived := g.hasDerived()
	if derived {
		b.s("(SELECT *")
		g.derivedSelect(b)
		b.s(" FROM ")
	}
	b.s("(")
	q := g.d.QuoteIdent
	n := 0
	for i := range g.s.Parts {
		pt := &g.s.Parts[i]
		start, end := window(g.p, pt)
		if !start.Before(end) {
			continue
		}
		if n > 0 {
			b.s(" UNION ALL ")
		}
		n++
		b.s("SELECT ", g.d.TimeNanos(q(g.s.Time)), " AS ts, ", q(g.s.SampleRate), " AS sr")
		if withDataset {
			b.s(", ")
			b.a(pt.Dataset)
			b.s(" AS ds")
		}
		for _, c := range g.ordered {
			if c.derived != nil {
				continue
			}
			ph := pt.Columns[c.name]
			for j, t := range physTypes {
				if !c.types[j] {
					continue
				}
				if name := ph.Get(t); name != "" {
					b.s(", ", readColumn(g.d, name, t), " AS ", g.alias(c, t))
				} else {
					b.s(", CAST(NULL AS ", g.d.TypeName(t), ") AS ", g.alias(c, t))
				}
			}
		}
		b.s(" FROM ", pt.From, " WHERE ", q(g.s.Time), " >= ")
		b.a(g.d.TimeArg(start))
		b.s(" AND ", q(g.s.Time), " < ")
		b.a(g.d.TimeArg(end))
		if pt.Where != "" {
			b.s(" AND (", pt.Where, ")")
			b.args = append(b.args, pt.Args...)
		}
	}
	if n == 0 {
		// No rows: a typed empty relation.
		b.s("SELECT CAST(NULL AS ", g.d.TypeName(event.TypeInt), ") AS ts, CAST(NULL AS ", g.d.TypeName(event.TypeInt), ") AS sr")
		if withDataset {
			b.s(", CAST(NULL AS ", g.d.TypeName(event.TypeString), ") AS ds")
		}
		for _, c := range g.ordered {
			if c.derived != nil {
				continue
			}
			for j, t := range physTypes {
				if c.types[j] {
					b.s(", CAST(NULL AS ", g.d.TypeName(t), ") AS ", g.alias(c, t))
				}
			}
		}
		b.s(" WHERE 1 = 0")
	}
	if derived {
		b.s(") AS e0) AS e")
		return
	}
	b.s(") AS e")
}

// where writes the plan's filters and any extra predicates as a WHERE
// clause (nothing when there are none).
func (g *gen) where(b *buf, extra ...func(*buf)) {
	n := 0
	if len(g.p.Filters) > 0 {
		b.s(" WHERE (")
		for i := range g.p.Filters {
			if i > 0 {
				if g.p.Or {
					b.s(" OR ")
				} else {
					b.s(" AND ")
				}
			}
			g.filter(b, &g.p.Filters[i])
		}
		b.s(")")
		n++
	}
	for _, e := range extra {
		if e == nil {
			continue
		}
		if n == 0 {
			b.s(" WHERE ")
		} else {
			b.s(" AND ")
		}
		n++
		b.s("(")
		e(b)
		b.s(")")
	}
}

// fnum formats a float for SQL. Only finite numbers computed or validated by
// this package are formatted.
func fnum(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

func inum(i int64) string { return strconv.FormatInt(i, 10) }

// bucketStart is the start of the g-wide bucket holding the int64 ns
// expression x (floor, also for times before the epoch).
func bucketStart(x string, g int64) string {
	gs := inum(g)
	return "(" + x + " - (((" + x + " % " + gs + ") + " + gs + ") % " + gs + "))"
}

// validate rejects plans whose numbers cannot be used.
func validate(p *query.Plan) error {
	for i, a := range p.Aggregates {
		switch a.Op {
		case query.AggCount, query.AggSum, query.AggAvg, query.AggMin, query.AggMax,
			query.AggCountDistinct, query.AggHeatmap, query.AggConcurrency:
		case query.AggPercentile:
			if !(a.P >= 0 && a.P <= 1) {
				return fmt.Errorf("aggregate %d: percentile %v out of [0,1]", i, a.P)
			}
		default:
			return fmt.Errorf("aggregate %d: unknown op %d", i, a.Op)
		}
	}
	for _, h := range p.Havings {
		if h.Agg < 0 || h.Agg >= len(p.Aggregates) {
			return fmt.Errorf("having refers to aggregate %d of %d", h.Agg, len(p.Aggregates))
		}
		if _, ok := cmpOps[h.Op]; !ok {
			return fmt.Errorf("having operator %q", h.Op)
		}
	}
	for _, o := range p.Orders {
		if o.Agg >= len(p.Aggregates) {
			return fmt.Errorf("order refers to aggregate %d of %d", o.Agg, len(p.Aggregates))
		}
	}
	if p.Granularity < 0 {
		return fmt.Errorf("negative granularity %v", p.Granularity)
	}
	if p.Limit < 0 {
		return fmt.Errorf("negative limit %d", p.Limit)
	}
	if !p.Start.Before(p.End) {
		return fmt.Errorf("empty time range %v to %v", p.Start, p.End)
	}
	return nil
}

var cmpOps = map[query.FilterOp]string{
	query.OpEq: "=", query.OpNe: "<>", query.OpGt: ">", query.OpGe: ">=", query.OpLt: "<", query.OpLe: "<=",
}
