package cloudwatchlogs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// row is one record flowing through an Insights query.
type row map[string]any

// tsv is a time value (epoch ms), rendered as Insights renders @timestamp.
type tsv int64

func (t tsv) String() string { return time.UnixMilli(int64(t)).UTC().Format("2006-01-02 15:04:05.000") }

func render(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case tsv:
		return x.String()
	}
	return fmt.Sprint(v)
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case tsv:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case nil:
		return false
	case string:
		return x != ""
	case float64:
		return x != 0
	}
	return true
}

func compare(a, b any) (int, bool) {
	if a == nil || b == nil {
		return 0, false
	}
	_, as := a.(string)
	_, bs := b.(string)
	if as && bs {
		return strings.Compare(a.(string), b.(string)), true
	}
	fa, ok1 := num(a)
	fb, ok2 := num(b)
	if ok1 && ok2 {
		switch {
		case fa < fb:
			return -1, true
		case fa > fb:
			return 1, true
		}
		return 0, true
	}
	return strings.Compare(render(a), render(b)), true
}

var scalarFuncs = map[string]func(args []any) any{
	"abs":   func(a []any) any { return math1(a, math.Abs) },
	"ceil":  func(a []any) any { return math1(a, math.Ceil) },
	"floor": func(a []any) any { return math1(a, math.Floor) },
	"sqrt":  func(a []any) any { return math1(a, math.Sqrt) },
	"log":   func(a []any) any { return math1(a, math.Log) },
	"greatest": func(a []any) any {
		var best any
		for _, x := range a {
			if c, ok := compare(x, best); best == nil || ok && c > 0 {
				best = x
			}
		}
		return best
	},
	"least": func(a []any) any {
		var best any
		for _, x := range a {
			if c, ok := compare(x, best); best == nil || ok && c < 0 {
				best = x
			}
		}
		return best
	},
	"ispresent": func(a []any) any { return len(a) == 1 && a[0] != nil },
	"isempty":   func(a []any) any { return len(a) == 1 && (a[0] == nil || a[0] == "") },
	"isblank": func(a []any) any {
		return len(a) == 1 && (a[0] == nil || strings.TrimSpace(render(a[0])) == "")
	},
	"coalesce": func(a []any) any {
		for _, x := range a {
			if x != nil {
				return x
			}
		}
		return nil
	},
	"concat": func(a []any) any {
		var b strings.Builder
		for _, x := range a {
			b.WriteString(render(x))
		}
		return b.String()
	},
	"strlen":  func(a []any) any { return str1(a, func(s string) any { return float64(len([]rune(s))) }) },
	"toupper": func(a []any) any { return str1(a, func(s string) any { return strings.ToUpper(s) }) },
	"tolower": func(a []any) any { return str1(a, func(s string) any { return strings.ToLower(s) }) },
	"trim":    func(a []any) any { return str1(a, func(s string) any { return strings.TrimSpace(s) }) },
	"ltrim":   func(a []any) any { return str1(a, func(s string) any { return strings.TrimLeft(s, " \t") }) },
	"rtrim":   func(a []any) any { return str1(a, func(s string) any { return strings.TrimRight(s, " \t") }) },
	"strcontains": func(a []any) any {
		if len(a) != 2 || a[0] == nil {
			return nil
		}
		return strings.Contains(render(a[0]), render(a[1]))
	},
	"replace": func(a []any) any {
		if len(a) != 3 || a[0] == nil {
			return nil
		}
		return strings.ReplaceAll(render(a[0]), render(a[1]), render(a[2]))
	},
	"substr": func(a []any) any {
		if len(a) < 2 || a[0] == nil {
			return nil
		}
		r := []rune(render(a[0]))
		s, _ := num(a[1])
		start := max(0, min(int(s), len(r)))
		end := len(r)
		if len(a) > 2 {
			n, _ := num(a[2])
			end = max(start, min(start+int(n), len(r)))
		}
		return string(r[start:end])
	},
	"tomillis": func(a []any) any {
		if len(a) == 1 {
			if t, ok := a[0].(tsv); ok {
				return float64(t)
			}
		}
		return nil
	},
	"frommillis": func(a []any) any {
		if len(a) == 1 {
			if f, ok := num(a[0]); ok {
				return tsv(int64(f))
			}
		}
		return nil
	},
}

func math1(a []any, f func(float64) float64) any {
	if len(a) != 1 {
		return nil
	}
	x, ok := num(a[0])
	if !ok {
		return nil
	}
	return f(x)
}

func str1(a []any, f func(string) any) any {
	if len(a) != 1 || a[0] == nil {
		return nil
	}
	return f(render(a[0]))
}

func (e *iqExpr) eval(r row) any {
	switch e.op {
	case "field":
		return r[e.name]
	case "lit":
		return e.lit
	case "call":
		if e.name == "bin" {
			t, ok := r["@timestamp"].(tsv)
			if !ok {
				return nil
			}
			w := e.bin.Milliseconds()
			return tsv(int64(t) - mod(int64(t), w))
		}
		args := make([]any, len(e.args))
		for i, a := range e.args {
			args[i] = a.eval(r)
		}
		if f := scalarFuncs[e.name]; f != nil {
			return f(args)
		}
		return nil
	case "agg":
		return r[aggKey(e)]
	case "and":
		return truthy(e.args[0].eval(r)) && truthy(e.args[1].eval(r))
	case "or":
		return truthy(e.args[0].eval(r)) || truthy(e.args[1].eval(r))
	case "not":
		return !truthy(e.args[0].eval(r))
	case "neg":
		if f, ok := num(e.args[0].eval(r)); ok {
			return -f
		}
		return nil
	case "like":
		v := e.args[0].eval(r)
		if v == nil {
			return false
		}
		if e.re != nil {
			return e.re.MatchString(render(v))
		}
		return strings.Contains(render(v), e.lit.(string))
	case "in":
		v := e.args[0].eval(r)
		found := false
		for _, x := range e.list {
			if c, ok := compare(v, x); ok && c == 0 {
				found = true
				break
			}
		}
		if v == nil {
			return false
		}
		return found != e.negIn
	case "=", "!=", "<", "<=", ">", ">=":
		c, ok := compare(e.args[0].eval(r), e.args[1].eval(r))
		if !ok {
			return false
		}
		switch e.op {
		case "=":
			return c == 0
		case "!=":
			return c != 0
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		}
		return c >= 0
	case "+", "-", "*", "/", "%":
		a, ok1 := num(e.args[0].eval(r))
		b, ok2 := num(e.args[1].eval(r))
		if !ok1 || !ok2 {
			return nil
		}
		switch e.op {
		case "+":
			return a + b
		case "-":
			return a - b
		case "*":
			return a * b
		case "/":
			if b == 0 {
				return nil
			}
			return a / b
		}
		if b == 0 {
			return nil
		}
		return math.Mod(a, b)
	}
	return nil
}

func mod(a, b int64) int64 {
	if b <= 0 {
		return 0
	}
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

func aggKey(e *iqExpr) string { return fmt.Sprintf("\x00agg%p", e) }

// ---- aggregation in Go ----

type aggState struct {
	n       float64
	sum     float64
	sumsq   float64
	min     any
	max     any
	vals    []float64
	set     map[string]struct{}
	first   any
	firstTs int64
	last    any
	lastTs  int64
}

func (e *iqExpr) aggs(out *[]*iqExpr) {
	if e == nil {
		return
	}
	if e.op == "agg" {
		*out = append(*out, e)
		return
	}
	for _, a := range e.args {
		a.aggs(out)
	}
}

func (s *aggState) add(e *iqExpr, r row) {
	if e.name == "count" && len(e.args) == 0 {
		s.n++
		return
	}
	v := e.args[0].eval(r)
	if v == nil {
		return
	}
	ts := int64(0)
	if t, ok := r["@timestamp"].(tsv); ok {
		ts = int64(t)
	}
	switch e.name {
	case "count":
		s.n++
	case "count_distinct":
		if s.set == nil {
			s.set = map[string]struct{}{}
		}
		s.set[render(v)] = struct{}{}
	case "earliest":
		if s.first == nil || ts < s.firstTs {
			s.first, s.firstTs = v, ts
		}
	case "latest":
		if s.last == nil || ts >= s.lastTs {
			s.last, s.lastTs = v, ts
		}
	case "min":
		if c, ok := compare(v, s.min); s.min == nil || ok && c < 0 {
			s.min = v
		}
	case "max":
		if c, ok := compare(v, s.max); s.max == nil || ok && c > 0 {
			s.max = v
		}
	default:
		f, ok := num(v)
		if !ok {
			return
		}
		s.n++
		s.sum += f
		s.sumsq += f * f
		if e.name == "pct" {
			s.vals = append(s.vals, f)
		}
	}
}

func (s *aggState) result(e *iqExpr) any {
	switch e.name {
	case "count":
		return s.n
	case "count_distinct":
		return float64(len(s.set))
	case "earliest":
		return s.first
	case "latest":
		return s.last
	case "min":
		return s.min
	case "max":
		return s.max
	case "sum":
		if s.n == 0 {
			return nil
		}
		return s.sum
	case "avg":
		if s.n == 0 {
			return nil
		}
		return s.sum / s.n
	case "stddev":
		if s.n < 2 {
			return nil
		}
		m := s.sum / s.n
		return math.Sqrt(max(0, (s.sumsq-s.n*m*m)/(s.n-1)))
	case "pct":
		if len(s.vals) == 0 {
			return nil
		}
		sort.Float64s(s.vals)
		p := e.args[1].lit.(float64) / 100
		i := int(math.Ceil(p*float64(len(s.vals)))) - 1
		return s.vals[max(0, min(i, len(s.vals)-1))]
	}
	return nil
}

// ---- running a query ----

// insightsRun is one query's evaluation.
type insightsRun struct {
	a        *API
	env      event.EnvID
	groups   []*groupView
	startMs  int64
	endMs    int64
	limit    int
	q        *iqQuery
	scanned  float64
	matched  float64
	bytes    float64
	account  string
	created  map[string]map[string]int64 // dataset → stream → created
	groupOf  map[string]string           // dataset → group name
	datasets []string
}

// maxGoScan bounds the events a query evaluated in Go reads.
const maxGoScan = 5_000_000

func (ir *insightsRun) run(ctx context.Context) ([][]resultField, error) {
	if rows, ok, err := ir.pushed(ctx); ok || err != nil {
		return rows, err
	}
	return ir.inGo(ctx)
}

type resultField struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// storedField reports whether an Insights field name is a stored column.
func storedField(n string) bool {
	switch n {
	case "@log", "@ptr", "@timestamp":
		return false
	}
	return true
}

// pushFilter turns a conjunction of simple comparisons of stored fields with
// literals into store filters; ok is false if any part is not such.
func pushFilter(e *iqExpr, defined map[string]bool, out *[]query.Filter) bool {
	switch e.op {
	case "and":
		return pushFilter(e.args[0], defined, out) && pushFilter(e.args[1], defined, out)
	case "=", "!=", "<", "<=", ">", ">=":
		f, l := e.args[0], e.args[1]
		op := query.FilterOp(e.op)
		if f.op == "lit" && l.op == "field" {
			f, l = l, f
			op = map[query.FilterOp]query.FilterOp{"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
		}
		if f.op != "field" || l.op != "lit" || defined[f.name] || !storedField(f.name) {
			return false
		}
		var v event.Value
		switch x := l.lit.(type) {
		case string:
			if op != query.OpEq && op != query.OpNe {
				return false
			}
			v = event.String(x)
		case float64:
			v = event.Float(x)
		default:
			return false
		}
		*out = append(*out, query.Filter{Column: f.name, Op: op, Value: v})
		return true
	case "like":
		f := e.args[0]
		s, isStr := e.lit.(string)
		if f.op != "field" || defined[f.name] || !storedField(f.name) || !isStr || e.re != nil {
			return false
		}
		*out = append(*out, query.Filter{Column: f.name, Op: query.OpContains, Value: event.String(s)})
		return true
	case "in":
		f := e.args[0]
		if f.op != "field" || defined[f.name] || !storedField(f.name) || e.negIn || len(e.list) == 0 {
			return false
		}
		vals := make([]event.Value, 0, len(e.list))
		for _, x := range e.list {
			s, ok := x.(string)
			if !ok {
				return false
			}
			vals = append(vals, event.String(s))
		}
		*out = append(*out, query.Filter{Column: f.name, Op: query.OpIn, Values: vals})
		return true
	}
	return false
}

// pushed runs queries of the shape [filter …] | stats aggs by bin(), fields
// [| sort] [| limit] entirely in the store, through one Plan.
func (ir *insightsRun) pushed(ctx context.Context) ([][]resultField, bool, error) {
	var filters []query.Filter
	var stats *iqCmd
	var post []iqCmd
	for i := range ir.q.cmds {
		c := &ir.q.cmds[i]
		switch {
		case stats == nil && c.kind == cmdFilter:
			if !pushFilter(c.filter, nil, &filters) {
				return nil, false, nil
			}
		case stats == nil && c.kind == cmdStats:
			stats = c
		case stats != nil && (c.kind == cmdSort || c.kind == cmdLimit):
			post = append(post, *c)
		default:
			return nil, false, nil
		}
	}
	if stats == nil {
		return nil, false, nil
	}
	p := &query.Plan{Datasets: ir.datasets, Start: ms(ir.startMs), End: ms(ir.endMs), Unweighted: true}
	p.Filters = append(filters, query.Filter{Column: FieldEventID, Op: query.OpExists})
	binIdx := -1
	for i, b := range stats.by {
		switch {
		case b.e.op == "call" && b.e.name == "bin" && binIdx < 0:
			binIdx = i
			p.Granularity = b.e.bin
		case b.e.op == "field" && storedField(b.e.name):
			p.Breakdowns = append(p.Breakdowns, b.e.name)
		default:
			return nil, false, nil
		}
	}
	for _, a := range stats.fields {
		e := a.e
		if e.op != "agg" {
			return nil, false, nil
		}
		var ag query.Aggregate
		col := ""
		if len(e.args) > 0 {
			if e.args[0].op != "field" || !storedField(e.args[0].name) {
				return nil, false, nil
			}
			col = e.args[0].name
		}
		switch e.name {
		case "count":
			ag = query.Aggregate{Op: query.AggCount}
			if col != "" {
				ag.Where = &query.AggFilter{Filters: []query.Filter{{Column: col, Op: query.OpExists}}}
			}
		case "sum":
			ag = query.Aggregate{Op: query.AggSum, Column: col}
		case "avg":
			ag = query.Aggregate{Op: query.AggAvg, Column: col}
		case "min":
			ag = query.Aggregate{Op: query.AggMin, Column: col}
		case "max":
			ag = query.Aggregate{Op: query.AggMax, Column: col}
		case "count_distinct":
			ag = query.Aggregate{Op: query.AggCountDistinct, Column: col}
		case "pct":
			ag = query.Aggregate{Op: query.AggPercentile, Column: col, P: e.args[1].lit.(float64) / 100}
		default:
			return nil, false, nil
		}
		p.Aggregates = append(p.Aggregates, ag)
	}
	res, err := ir.a.Store.Execute(ctx, ir.env, p)
	if err != nil {
		return nil, true, err
	}
	type outRow struct {
		vals row
	}
	var rows []row
	mk := func(t *time.Time, key []event.Value, vals []query.AggValue) row {
		r := row{}
		bi := 0
		for i, b := range stats.by {
			if i == binIdx {
				r[b.name] = tsv(t.UnixMilli())
				continue
			}
			if bi < len(key) && !key[bi].IsNull() {
				r[b.name] = valueAny(key[bi])
			}
			bi++
		}
		for i, a := range stats.fields {
			if i < len(vals) && !vals[i].Null {
				r[a.name] = vals[i].Number
			} else if a.e.name == "count" {
				r[a.name] = 0.0
			}
		}
		return r
	}
	if binIdx >= 0 {
		for _, pt := range res.Series {
			t := pt.Time
			rows = append(rows, mk(&t, pt.Key, pt.Values))
		}
	} else {
		for _, g := range res.Groups {
			rows = append(rows, mk(nil, g.Key, g.Values))
		}
	}
	if binIdx >= 0 && len(post) == 0 {
		// Insights lists time bins newest first.
		name := stats.by[binIdx].name
		sort.SliceStable(rows, func(i, j int) bool { return rows[i][name].(tsv) > rows[j][name].(tsv) })
	}
	var cnt float64
	for _, g := range res.Groups {
		for i, a := range stats.fields {
			if a.e.name == "count" && len(a.e.args) == 0 && i < len(g.Values) {
				cnt += g.Values[i].Number
			}
		}
	}
	ir.matched, ir.scanned = cnt, cnt
	names := make([]string, 0, len(stats.by)+len(stats.fields))
	for _, b := range stats.by {
		names = append(names, b.name)
	}
	for _, a := range stats.fields {
		names = append(names, a.name)
	}
	rows = applyPost(rows, post, ir.limit)
	return toResults(rows, names), true, nil
}

func valueAny(v event.Value) any {
	switch v.Type() {
	case event.TypeString:
		return v.Str()
	case event.TypeInt, event.TypeFloat:
		return v.Float()
	case event.TypeBool:
		return v.Bool()
	}
	return nil
}

func applyPost(rows []row, post []iqCmd, limit int) []row {
	for _, c := range post {
		switch c.kind {
		case cmdSort:
			keys := c.sorts
			sort.SliceStable(rows, func(i, j int) bool {
				for _, k := range keys {
					a, b := k.e.eval(rows[i]), k.e.eval(rows[j])
					if a == nil && b == nil {
						continue
					}
					if a == nil {
						return false
					}
					if b == nil {
						return true
					}
					cmp, _ := compare(a, b)
					if cmp != 0 {
						return (cmp < 0) != k.desc
					}
				}
				return false
			})
		case cmdLimit:
			if len(rows) > c.limit {
				rows = rows[:c.limit]
			}
		}
	}
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
	}
	return rows
}

func toResults(rows []row, names []string) [][]resultField {
	out := make([][]resultField, 0, len(rows))
	for _, r := range rows {
		fs := make([]resultField, 0, len(names))
		for _, n := range names {
			if v, ok := r[n]; ok && v != nil {
				fs = append(fs, resultField{Field: n, Value: render(v)})
			}
		}
		out = append(out, fs)
	}
	return out
}

// inGo evaluates the query over the events, read oldest first in bounded
// windows; leading filters that are simple comparisons are pushed down.
func (ir *insightsRun) inGo(ctx context.Context) ([][]resultField, error) {
	var pushdown []query.Filter
	defined := map[string]bool{}
	for _, c := range ir.q.cmds {
		if c.kind == cmdFilter {
			var fs []query.Filter
			if pushFilter(c.filter, defined, &fs) {
				pushdown = append(pushdown, fs...)
			}
			continue
		}
		if c.kind == cmdStats {
			break
		}
		for _, f := range c.fields {
			if !(f.e.op == "field" && f.e.name == f.name) {
				defined[f.name] = true
			}
		}
		for _, t := range c.targets {
			defined[t] = true
		}
	}
	// Split the pipeline at the first stats.
	pre := ir.q.cmds
	var stats *iqCmd
	var after []iqCmd
	for i := range ir.q.cmds {
		if ir.q.cmds[i].kind == cmdStats {
			pre, stats, after = ir.q.cmds[:i], &ir.q.cmds[i], ir.q.cmds[i+1:]
			break
		}
	}
	var fieldsSel []namedExpr
	var rows []row
	type group struct {
		key    []any
		states []aggState
	}
	var aggExprs []*iqExpr
	groups := map[string]*group{}
	var order []string
	if stats != nil {
		for _, a := range stats.fields {
			a.e.aggs(&aggExprs)
		}
	}
	// A raw query without sort and stats stops at its limit.
	wantRows := 0
	if stats == nil {
		sorted := false
		for _, c := range ir.q.cmds {
			if c.kind == cmdSort {
				sorted = true
			}
		}
		if !sorted {
			wantRows = ir.limit
			for _, c := range ir.q.cmds {
				if c.kind == cmdLimit {
					wantRows = c.limit
				}
			}
		}
	}
	process := func(r row) bool {
		for _, c := range pre {
			switch c.kind {
			case cmdFilter:
				if !truthy(c.filter.eval(r)) {
					return true
				}
			case cmdFields, cmdDisplay:
				for _, f := range c.fields {
					if !(f.e.op == "field" && f.e.name == f.name) {
						r[f.name] = f.e.eval(r)
					}
				}
				if c.kind == cmdDisplay || c.kind == cmdFields {
					fieldsSel = append(fieldsSel[:0], c.fields...)
				}
			case cmdParse:
				src := render(c.src.eval(r))
				re := c.re
				if re == nil {
					re = c.glob
				}
				m := re.FindStringSubmatch(src)
				if m == nil {
					continue
				}
				if c.re != nil {
					for i, n := range re.SubexpNames() {
						if n != "" && i < len(m) {
							r[n] = m[i]
						}
					}
				} else {
					for i, t := range c.targets {
						r[t] = m[i+1]
					}
				}
			case cmdSort, cmdLimit:
			}
		}
		ir.matched++
		if stats == nil {
			rows = append(rows, r)
			return wantRows == 0 || len(rows) < wantRows
		}
		key := make([]any, len(stats.by))
		var kb strings.Builder
		for i, b := range stats.by {
			key[i] = b.e.eval(r)
			kb.WriteString(render(key[i]))
			kb.WriteByte(0)
		}
		g := groups[kb.String()]
		if g == nil {
			g = &group{key: key, states: make([]aggState, len(aggExprs))}
			groups[kb.String()] = g
			order = append(order, kb.String())
		}
		for i, e := range aggExprs {
			g.states[i].add(e, r)
		}
		return true
	}
	for _, ds := range ir.datasets {
		sc := &scan{a: ir.a, env: ir.env, dataset: ds, startMs: ir.startMs, endMs: ir.endMs, filters: pushdown}
		cursor := ""
		created := ir.created[ds]
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			evs, scanned, done, err := sc.ascend(ctx, cursor, maxFetch)
			if err != nil {
				return nil, err
			}
			more := true
			for i := range evs {
				ev := &evs[i]
				if cr, ok := created[ev.Stream]; !ok || ev.Ingestion < cr {
					continue
				}
				ir.scanned++
				ir.bytes += float64(len(ev.Message))
				r := make(row, len(ev.Fields)+3)
				for _, f := range ev.Fields {
					r[f.Key] = valueAny(f.Value)
				}
				r["@timestamp"] = tsv(ev.Timestamp)
				r["@ingestionTime"] = tsv(ev.Ingestion)
				r["@log"] = ir.account + ":" + ir.groupOf[ds]
				r["@ptr"] = ev.ID
				if !process(r) {
					more = false
					break
				}
			}
			cursor = scanned
			if done || !more || ir.scanned >= maxGoScan {
				break
			}
		}
	}
	var names []string
	if stats != nil {
		rows = rows[:0]
		for _, k := range order {
			g := groups[k]
			r := row{}
			for i, e := range aggExprs {
				r[aggKey(e)] = g.states[i].result(e)
			}
			for i, b := range stats.by {
				r[b.name] = g.key[i]
			}
			for _, a := range stats.fields {
				r[a.name] = a.e.eval(r)
			}
			rows = append(rows, r)
		}
		for _, b := range stats.by {
			names = append(names, b.name)
		}
		for _, a := range stats.fields {
			names = append(names, a.name)
		}
		var post []iqCmd
		for _, c := range after {
			switch c.kind {
			case cmdSort, cmdLimit:
				post = append(post, c)
			case cmdFilter:
				keep := rows[:0]
				for _, r := range rows {
					if truthy(c.filter.eval(r)) {
						keep = append(keep, r)
					}
				}
				rows = keep
			case cmdFields, cmdDisplay:
				for _, r := range rows {
					for _, f := range c.fields {
						r[f.name] = f.e.eval(r)
					}
				}
				if c.kind == cmdDisplay {
					names = names[:0]
					for _, f := range c.fields {
						names = append(names, f.name)
					}
				}
			}
		}
		if len(post) == 0 {
			for i, b := range stats.by {
				if b.e.op == "call" && b.e.name == "bin" {
					name := stats.by[i].name
					sort.SliceStable(rows, func(x, y int) bool {
						a, _ := rows[x][name].(tsv)
						b, _ := rows[y][name].(tsv)
						return a > b
					})
				}
			}
		}
		return toResults(applyPost(rows, post, ir.limit), names), nil
	}
	var post []iqCmd
	for _, c := range ir.q.cmds {
		if c.kind == cmdSort || c.kind == cmdLimit {
			post = append(post, c)
		}
	}
	rows = applyPost(rows, post, ir.limit)
	if len(fieldsSel) > 0 {
		for _, f := range fieldsSel {
			names = append(names, f.name)
		}
	} else {
		names = []string{"@timestamp", "@message", "@logStream", "@log"}
	}
	if !contains2(names, "@ptr") {
		names = append(names, "@ptr")
	}
	return toResults(rows, names), nil
}

func contains2(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- the query table and operations ----

type queryInfo struct {
	ID         string
	Query      string
	Group      string
	Env        event.EnvID
	Status     string
	CreateTime int64
	Done       time.Time
	Results    [][]resultField
	Stats      map[string]float64
	cancel     context.CancelFunc
}

type queryTable struct {
	mu sync.Mutex
	m  map[string]*queryInfo
}

func newQueryTable() *queryTable { return &queryTable{m: map[string]*queryInfo{}} }

// queryKeep is how long finished queries' results stay available.
const queryKeep = time.Hour

func (t *queryTable) put(q *queryInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, x := range t.m {
		if !x.Done.IsZero() && time.Since(x.Done) > queryKeep {
			delete(t.m, id)
		}
	}
	t.m[q.ID] = q
}

func (t *queryTable) get(env event.EnvID, id string) *queryInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.m[id]
	if q == nil || q.Env != env {
		return nil
	}
	cp := *q
	return &cp
}

type startQueryInput struct {
	QueryLanguage       *string  `json:"queryLanguage"`
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupNames       []string `json:"logGroupNames"`
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	QueryString         *string  `json:"queryString"`
	Limit               *int     `json:"limit"`
}

func (a *API) startQuery(c *call) (any, *apiError) {
	var in startQueryInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if in.QueryLanguage != nil && *in.QueryLanguage != "CWLI" {
		return nil, invalidParam("Only the CWLI query language is supported.")
	}
	if in.StartTime == nil {
		return nil, nullMember("startTime")
	}
	if in.EndTime == nil {
		return nil, nullMember("endTime")
	}
	if in.QueryString == nil {
		return nil, nullMember("queryString")
	}
	if *in.EndTime < *in.StartTime {
		return nil, invalidParam("End time should not be before the start time")
	}
	limit := 1000
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 10000 {
			return nil, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000", *in.Limit)
		}
		limit = *in.Limit
	}
	var names []string
	if in.LogGroupName != nil {
		names = append(names, *in.LogGroupName)
	}
	names = append(names, in.LogGroupNames...)
	for _, id := range in.LogGroupIdentifiers {
		names = append(names, groupNameFromARN(id))
	}
	if len(names) == 0 {
		return nil, invalidParam("Log group name or log group identifiers must be specified.")
	}
	q, err := ParseInsights(*in.QueryString)
	if err != nil {
		return nil, &apiError{400, "MalformedQueryException", err.Error()}
	}
	ir := &insightsRun{a: a, env: c.envID(), q: q, limit: limit, account: c.account(),
		startMs: *in.StartTime * 1000, endMs: (*in.EndTime + 1) * 1000,
		created: map[string]map[string]int64{}, groupOf: map[string]string{}}
	for _, n := range names {
		g, err := a.reg.group(c.ctx, c.envID(), n)
		if err != nil {
			return nil, a.internal(c, "start query", err)
		}
		if g == nil {
			return nil, &apiError{400, "ResourceNotFoundException", fmt.Sprintf(
				"Log group '%s' does not exist for account ID '%s' (Service: AWSLogs; Status Code: 400; Error Code: ResourceNotFoundException; Request ID: %s; Proxy: null)",
				n, c.account(), a.requestID())}
		}
		ir.groups = append(ir.groups, g)
		ir.datasets = append(ir.datasets, g.Dataset)
		cr := map[string]int64{}
		for _, st := range g.Streams {
			cr[st.Name] = st.CreatedMs
		}
		ir.created[g.Dataset] = cr
		ir.groupOf[g.Dataset] = g.Name
	}
	var idb [16]byte
	_, _ = rand.Read(idb[:])
	h := hex.EncodeToString(idb[:])
	id := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 15*time.Minute)
	info := &queryInfo{ID: id, Query: *in.QueryString, Group: names[0], Env: c.envID(), Status: "Running",
		CreateTime: a.Now().UnixMilli(), cancel: cancel}
	a.queries.put(info)
	go func() {
		defer cancel()
		res, err := ir.run(ctx)
		a.queries.mu.Lock()
		defer a.queries.mu.Unlock()
		info.Done = time.Now()
		info.Stats = map[string]float64{"recordsMatched": ir.matched, "recordsScanned": ir.scanned, "bytesScanned": ir.bytes}
		switch {
		case info.Status == "Cancelled":
		case err != nil && ctx.Err() == context.DeadlineExceeded:
			info.Status = "Timeout"
		case err != nil:
			a.Log.Error("cloudwatch logs: insights query", "query", info.Query, "err", err)
			info.Status = "Failed"
		default:
			info.Status = "Complete"
			info.Results = res
		}
	}()
	return struct {
		QueryID string `json:"queryId"`
	}{id}, nil
}

type queryIDInput struct {
	QueryID  *string `json:"queryId"`
	MaxItems *int    `json:"maxItems"`
}

func (a *API) getQueryResults(c *call) (any, *apiError) {
	var in queryIDInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if in.QueryID == nil {
		return nil, nullMember("queryId")
	}
	q := a.queries.get(c.envID(), *in.QueryID)
	if q == nil {
		return nil, &apiError{400, "ResourceNotFoundException", "Query does not exist."}
	}
	stats := q.Stats
	if stats == nil {
		stats = map[string]float64{"recordsMatched": 0, "recordsScanned": 0, "bytesScanned": 0}
	}
	res := q.Results
	if res == nil {
		res = [][]resultField{}
	}
	return struct {
		QueryLanguage string             `json:"queryLanguage"`
		Results       [][]resultField    `json:"results"`
		Statistics    map[string]float64 `json:"statistics"`
		Status        string             `json:"status"`
	}{"CWLI", res, stats, q.Status}, nil
}

func (a *API) stopQuery(c *call) (any, *apiError) {
	var in queryIDInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	if in.QueryID == nil {
		return nil, nullMember("queryId")
	}
	a.queries.mu.Lock()
	q := a.queries.m[*in.QueryID]
	ok := q != nil && q.Env == c.envID() && q.Status == "Running"
	if ok {
		q.Status = "Cancelled"
		q.cancel()
	}
	a.queries.mu.Unlock()
	if q == nil || q.Env != c.envID() {
		return nil, &apiError{400, "ResourceNotFoundException", "Query does not exist."}
	}
	return struct {
		Success bool `json:"success"`
	}{ok}, nil
}

func (a *API) describeQueries(c *call) (any, *apiError) {
	var in struct {
		LogGroupName *string `json:"logGroupName"`
		Status       *string `json:"status"`
		MaxResults   *int    `json:"maxResults"`
		NextToken    *string `json:"nextToken"`
	}
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	type qi struct {
		QueryLanguage string `json:"queryLanguage"`
		QueryID       string `json:"queryId"`
		QueryString   string `json:"queryString"`
		Status        string `json:"status"`
		CreateTime    int64  `json:"createTime"`
		LogGroupName  string `json:"logGroupName"`
	}
	out := struct {
		Queries []qi `json:"queries"`
	}{Queries: []qi{}}
	a.queries.mu.Lock()
	for _, q := range a.queries.m {
		if q.Env != c.envID() || (in.LogGroupName != nil && q.Group != *in.LogGroupName) || (in.Status != nil && q.Status != *in.Status) {
			continue
		}
		out.Queries = append(out.Queries, qi{"CWLI", q.ID, q.Query, q.Status, q.CreateTime, q.Group})
	}
	a.queries.mu.Unlock()
	sort.Slice(out.Queries, func(i, j int) bool { return out.Queries[i].CreateTime > out.Queries[j].CreateTime })
	if in.MaxResults != nil && *in.MaxResults > 0 && len(out.Queries) > *in.MaxResults {
		out.Queries = out.Queries[:*in.MaxResults]
	}
	return out, nil
}

func (a *API) getLogGroupFields(c *call) (any, *apiError) {
	var in struct {
		LogGroupName       *string `json:"logGroupName"`
		LogGroupIdentifier *string `json:"logGroupIdentifier"`
		Time               *int64  `json:"time"`
	}
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	name, e := groupFromIdentifier(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	g, err := a.reg.group(c.ctx, c.envID(), name)
	if err != nil {
		return nil, a.internal(c, "get log group fields", err)
	}
	if g == nil {
		return nil, errGroupNotFound()
	}
	cols, err := a.Store.Columns(c.ctx, c.envID(), g.Dataset)
	if err != nil {
		return nil, a.internal(c, "get log group fields", err)
	}
	type field struct {
		Name    string `json:"name"`
		Percent int    `json:"percent"`
	}
	out := struct {
		LogGroupFields []field `json:"logGroupFields"`
	}{LogGroupFields: []field{}}
	for _, col := range cols {
		if col.Name == FieldEventID || col.Name == FieldSignalType {
			continue
		}
		out.LogGroupFields = append(out.LogGroupFields, field{Name: col.Name, Percent: 100})
	}
	return out, nil
}
