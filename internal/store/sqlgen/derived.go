package sqlgen

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// Derived columns (query.Plan.Derived) are computed over the row source: the
// source wraps the union of the parts in
//
//	(SELECT *, <expr> AS <alias of the derived column> FROM (<union>) AS e0) AS e
//
// so that filters, breakdowns and aggregates read a derived column like a
// stored column with one physical type, the expression's. The expression
// is compiled from its tree (query.Expr) with the semantics of
// query.EvalDerived; a Dialect that can compile it implements
// DerivedDialect. String literals of expressions are the only strings
// written into SQL, quoted by the dialect's StringLit.

// DerivedDialect is implemented by a Dialect that compiles derived column
// expressions. Every argument is an SQL expression; re and format are
// string literals as StringLit writes them.
type DerivedDialect interface {
	// StringLit quotes s as a string literal (s is valid UTF-8).
	StringLit(s string) string
	// BoolLit is the boolean literal b (of the type TypeName(TypeBool)).
	BoolLit(b bool) string
	// IntLit is the 64-bit integer literal i.
	IntLit(i int64) string
	// FloatLit is the 64-bit float literal f (finite).
	FloatLit(f float64) string
	// Trunc rounds a float toward zero, Floor down (both stay floats).
	Trunc(x string) string
	Floor(x string) string
	// FloatToInt converts a float with no fraction, |x| < 2^63, to int64.
	FloatToInt(x string) string
	// BoolToInt converts a boolean to 1 or 0.
	BoolToInt(x string) string
	// ParseInt and ParseFloat parse text already known to match
	// ^[-+]?[0-9]+$ (ParseInt) or a decimal number (ParseFloat); NULL if
	// out of range.
	ParseInt(s string) string
	ParseFloat(s string) string
	// Lower lower-cases text (Unicode).
	Lower(s string) string
	// Length counts characters (code points), or bytes.
	Length(s string, bytes bool) string
	// Concat concatenates non-null texts (at least one).
	Concat(parts []string) string
	// RegMatch is true when the RE2 pattern re matches somewhere in s.
	RegMatch(s, re string) string
	// RegValue is the first match of re in s, its first group when group,
	// "" when none.
	RegValue(s, re string, group bool) string
	// RegCount is the number of non-overlapping matches of re in s.
	RegCount(s, re string) string
	// Log10 is the base-10 logarithm of a positive float.
	Log10(x string) string
	// ParseTime parses an RFC 3339 time to int64 Unix seconds, NULL when
	// it cannot.
	ParseTime(s string) string
	// FormatTime renders int64 Unix seconds in [0, 2^32) in UTC with the
	// strftime conversions %Y %m %d %H %M %S %y %j %%.
	FormatTime(format, secs string) string
}

// maxDerivedSQL bounds the SQL of one derived expression (some functions
// repeat their arguments).
const maxDerivedSQL = 1 << 20

// derivedOf returns the derived column name reads, if it is one.
func (g *gen) derivedOf(name string) (query.DerivedColumn, bool) {
	d, ok := g.p.Derived[name]
	return d, ok && d.Expr != nil
}

// useStored registers a stored column read by a derived expression. When a
// derived column shadows the name, the stored one is kept under another key.
func (g *gen) useStored(name string) *lcol {
	key := name
	if _, ok := g.derivedOf(name); ok {
		key = "\x00" + name
	}
	if c, ok := g.cols[key]; ok {
		return c
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
	g.cols[key] = c
	g.ordered = append(g.ordered, c)
	return c
}

// useDerived registers derived column d (after the stored columns it reads).
func (g *gen) useDerived(name string, d query.DerivedColumn) *lcol {
	deps := map[string]*lcol{}
	for _, col := range d.Expr.Columns() {
		deps[col] = g.useStored(col)
	}
	c := &lcol{idx: len(g.ordered), name: name, derived: &d, deps: deps}
	for j, t := range physTypes {
		if t == d.Type {
			c.types[j] = true
		}
	}
	if d.Type == event.TypeNull {
		c.types[0] = true // string
	}
	g.cols[name] = c
	g.ordered = append(g.ordered, c)
	sql, err := g.compileDerived(c)
	if err != nil && g.derivedErr == nil {
		g.derivedErr = err
	}
	c.sql = sql
	return c
}

// hasDerived reports whether the source computes derived columns.
func (g *gen) hasDerived() bool {
	for _, c := range g.ordered {
		if c.derived != nil {
			return true
		}
	}
	return false
}

// derivedSelect writes ", <expr> AS <alias>" for every derived column.
func (g *gen) derivedSelect(b *buf) {
	for _, c := range g.ordered {
		if c.derived == nil {
			continue
		}
		t := c.derived.Type
		if t == event.TypeNull {
			t = event.TypeString
		}
		sql := c.sql
		if sql == "" {
			// Did not compile (g.derivedErr says why; Execute reports it).
			sql = "CAST(NULL AS " + g.d.TypeName(t) + ")"
		}
		b.s(", ", sql, " AS ", g.alias(c, t))
	}
}

// compileDerived compiles a derived column's expression.
func (g *gen) compileDerived(c *lcol) (string, error) {
	dd, ok := g.d.(DerivedDialect)
	if !ok {
		return "", fmt.Errorf("derived column %q: this store cannot compute derived columns", c.name)
	}
	x := &dcomp{g: g, d: dd, deps: c.deps}
	s := x.expr(c.derived.Expr)
	if x.err != nil {
		return "", fmt.Errorf("derived column %q: %w", c.name, x.err)
	}
	if c.derived.Expr.Type == event.TypeNull {
		s = "CAST(NULL AS " + g.d.TypeName(event.TypeString) + ")"
	}
	return s, nil
}

// dcomp compiles one expression.
type dcomp struct {
	g    *gen
	d    DerivedDialect
	deps map[string]*lcol
	err  error
	size int
}

func (x *dcomp) null(t event.Type) string {
	if t == event.TypeNull {
		t = event.TypeString
	}
	return "CAST(NULL AS " + x.g.d.TypeName(t) + ")"
}

func (x *dcomp) boolLit(b bool) string { return x.d.BoolLit(b) }

// as converts SQL s of static type from to type to.
func (x *dcomp) as(s string, from, to event.Type) string {
	switch {
	case from == to:
		return s
	case from == event.TypeNull:
		return x.null(to)
	case to == event.TypeFloat && from == event.TypeInt:
		return x.g.d.ToFloat(s)
	case to == event.TypeString:
		return x.g.d.ToText(s, from)
	}
	return x.null(to)
}

// truthy is the expression's truthiness, never NULL.
func (x *dcomp) truthy(e *query.Expr) string {
	s := x.expr(e)
	f := x.boolLit(false)
	switch e.Type {
	case event.TypeBool:
		return "COALESCE(" + s + ", " + f + ")"
	case event.TypeInt, event.TypeFloat:
		return "COALESCE(" + s + " <> 0, " + f + ")"
	case event.TypeString:
		return "COALESCE(" + s + " = 'true', " + f + ")"
	}
	return f
}

// num is a math operand coerced to type t (int or float): null → 0,
// strings parsed.
func (x *dcomp) num(e *query.Expr, t event.Type) string {
	zero := x.d.IntLit(0)
	if t == event.TypeFloat {
		zero = x.d.FloatLit(0)
	}
	switch e.Type {
	case event.TypeNull:
		return zero
	case event.TypeString:
		s := x.expr(e)
		return "COALESCE(CASE WHEN " + x.d.RegMatch(s, x.d.StringLit(decimalPattern)) + " THEN " + x.d.ParseFloat(s) + " ELSE " + x.null(event.TypeFloat) + " END, " + zero + ")"
	}
	return "COALESCE(" + x.as(x.expr(e), e.Type, t) + ", " + zero + ")"
}

const (
	decimalPattern = `^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$`
	integerPattern = `^[-+]?[0-9]+$`
)

// text is e rendered as text (NULL stays NULL).
func (x *dcomp) text(e *query.Expr) string { return x.as(x.expr(e), e.Type, event.TypeString) }

func (x *dcomp) expr(e *query.Expr) string {
	if x.err != nil {
		return "NULL"
	}
	s := x.expr1(e)
	x.size += len(s)
	if x.size > maxDerivedSQL {
		x.err = fmt.Errorf("expression compiles to more than %d bytes of SQL", maxDerivedSQL)
		return "NULL"
	}
	return s
}

func (x *dcomp) expr1(e *query.Expr) string {
	g := x.g
	switch e.Kind {
	case query.ExprLiteral:
		v := e.Value
		switch v.Type() {
		case event.TypeString:
			return x.d.StringLit(v.Str())
		case event.TypeInt:
			return x.d.IntLit(v.Int())
		case event.TypeFloat:
			return x.d.FloatLit(v.Float())
		case event.TypeBool:
			return x.boolLit(v.Bool())
		}
		return x.null(event.TypeString)
	case query.ExprColumn:
		c := x.deps[e.Column]
		if c == nil || e.Type == event.TypeNull {
			return x.null(e.Type)
		}
		switch e.Type {
		case event.TypeString:
			return g.text(c)
		case event.TypeInt:
			if c.has(event.TypeInt) {
				return g.alias(c, event.TypeInt)
			}
		case event.TypeFloat:
			return g.numeric(c, true)
		case event.TypeBool:
			if c.has(event.TypeBool) {
				return g.alias(c, event.TypeBool)
			}
		}
		return x.null(e.Type)
	}
	a := e.Args
	t := e.Type
	var b strings.Builder
	switch e.Func {
	case "IF", "SWITCH":
		b.WriteString("(CASE")
		start, step := 0, 2
		var subject *query.Expr
		if e.Func == "SWITCH" {
			subject, start = a[0], 1
		}
		i := start
		for ; i+1 < len(a); i += step {
			b.WriteString(" WHEN ")
			if subject != nil {
				b.WriteString(x.equals(subject, a[i]))
			} else {
				b.WriteString(x.truthy(a[i]))
			}
			b.WriteString(" THEN " + x.as(x.expr(a[i+1]), a[i+1].Type, t))
		}
		if i < len(a) {
			b.WriteString(" ELSE " + x.as(x.expr(a[i]), a[i].Type, t))
		} else {
			b.WriteString(" ELSE " + x.null(t))
		}
		b.WriteString(" END)")
		return b.String()
	case "COALESCE":
		// CASE rather than COALESCE: ClickHouse 18.16's coalesce misbehaves
		// over several Nullable arguments.
		if t == event.TypeNull {
			return x.null(t)
		}
		b.WriteString("(CASE")
		for _, arg := range a {
			s := x.as(x.expr(arg), arg.Type, t)
			cond := s + " IS NOT NULL"
			if t == event.TypeString {
				cond = "COALESCE(" + s + " <> '', " + x.boolLit(false) + ")"
			}
			b.WriteString(" WHEN " + cond + " THEN " + s)
		}
		b.WriteString(" ELSE " + x.null(t) + " END)")
		return b.String()
	case "LT", "LTE", "GT", "GTE":
		if a[0].Type == event.TypeNull || a[1].Type == event.TypeNull {
			return x.boolLit(false)
		}
		ct := a[0].Type
		if ct != a[1].Type {
			ct = event.TypeFloat
		}
		op := map[string]string{"LT": " < ", "LTE": " <= ", "GT": " > ", "GTE": " >= "}[e.Func]
		return "COALESCE(" + x.as(x.expr(a[0]), a[0].Type, ct) + op + x.as(x.expr(a[1]), a[1].Type, ct) + ", " + x.boolLit(false) + ")"
	case "EQUALS":
		return x.equals(a[0], a[1])
	case "IN":
		parts := make([]string, 0, len(a)-1)
		for _, o := range a[1:] {
			parts = append(parts, x.equals(a[0], o))
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	case "EXISTS":
		if a[0].Type == event.TypeNull {
			return x.boolLit(false)
		}
		return "(" + x.expr(a[0]) + " IS NOT NULL)"
	case "NOT":
		return "(NOT " + x.truthy(a[0]) + ")"
	case "BOOL":
		return x.truthy(a[0])
	case "AND", "OR":
		parts := make([]string, len(a))
		for i, arg := range a {
			parts[i] = x.truthy(arg)
		}
		return "(" + strings.Join(parts, " "+e.Func+" ") + ")"
	case "SUM", "SUB", "MUL":
		op := map[string]string{"SUM": " + ", "SUB": " - ", "MUL": " * "}[e.Func]
		parts := make([]string, len(a))
		for i, arg := range a {
			parts[i] = x.num(arg, t)
		}
		return "(" + strings.Join(parts, op) + ")"
	case "MIN", "MAX":
		acc := x.num(a[0], t)
		for _, arg := range a[1:] {
			if e.Func == "MIN" {
				acc = least(g.d, acc, x.num(arg, t))
			} else {
				acc = greatest(g.d, acc, x.num(arg, t))
			}
		}
		return acc
	case "DIV":
		n, d := x.num(a[0], event.TypeFloat), x.num(a[1], event.TypeFloat)
		return "(CASE WHEN " + d + " = 0 THEN " + x.null(t) + " ELSE " + n + " / " + d + " END)"
	case "MOD":
		n, d := x.num(a[0], t), x.num(a[1], t)
		if t == event.TypeInt {
			// The divisor is never 0 even where the CASE does not take that
			// branch: ClickHouse evaluates every branch.
			safe := "(CASE WHEN " + d + " = 0 OR " + d + " = -1 THEN " + x.d.IntLit(1) + " ELSE " + d + " END)"
			return "(CASE WHEN " + d + " = 0 THEN " + x.null(t) + " WHEN " + d + " = -1 THEN " + x.d.IntLit(0) + " ELSE " + n + " % " + safe + " END)"
		}
		return "(CASE WHEN " + d + " = 0 THEN " + x.null(t) + " ELSE " + n + " - " + d + " * " + x.d.Trunc(n+" / "+d) + " END)"
	case "LOG10":
		v := x.num(a[0], event.TypeFloat)
		return "(CASE WHEN " + v + " > 0 THEN " + x.d.Log10(v) + " ELSE " + x.null(t) + " END)"
	case "BUCKET":
		v, size := x.num(a[0], t), x.num(a[1], t)
		if len(a) > 2 {
			v = greatest(g.d, v, x.num(a[2], t))
		}
		if len(a) > 3 {
			v = least(g.d, v, x.num(a[3], t))
		}
		if t == event.TypeInt {
			fl := x.d.FloatToInt(x.d.Floor(g.d.ToFloat(v) + " / " + g.d.ToFloat(size)))
			return "(CASE WHEN " + size + " <= 0 THEN " + x.null(t) + " ELSE " + fl + " * " + size + " END)"
		}
		return "(CASE WHEN " + size + " <= 0 THEN " + x.null(t) + " ELSE " + x.d.Floor(v+" / "+size) + " * " + size + " END)"
	case "INT":
		s := x.expr(a[0])
		switch a[0].Type {
		case event.TypeInt:
			return s
		case event.TypeFloat:
			return "(CASE WHEN abs(" + s + ") < " + x.d.FloatLit(9.2e18) + " THEN " + x.d.FloatToInt(x.d.Trunc(s)) + " ELSE " + x.null(t) + " END)"
		case event.TypeBool:
			return x.d.BoolToInt(s)
		case event.TypeString:
			return "(CASE WHEN " + x.d.RegMatch(s, x.d.StringLit(integerPattern)) + " THEN " + x.d.ParseInt(s) + " ELSE " + x.null(t) + " END)"
		}
		return x.null(t)
	case "FLOAT":
		s := x.expr(a[0])
		switch a[0].Type {
		case event.TypeInt, event.TypeFloat:
			return x.as(s, a[0].Type, t)
		case event.TypeBool:
			return g.d.ToFloat(x.d.BoolToInt(s))
		case event.TypeString:
			return "(CASE WHEN " + x.d.RegMatch(s, x.d.StringLit(decimalPattern)) + " THEN " + x.d.ParseFloat(s) + " ELSE " + x.null(t) + " END)"
		}
		return x.null(t)
	case "STRING":
		return x.text(a[0])
	case "CONCAT":
		parts := make([]string, len(a))
		for i, arg := range a {
			parts[i] = "COALESCE(" + x.text(arg) + ", '')"
		}
		return x.d.Concat(parts)
	case "STARTS_WITH", "ENDS_WITH", "CONTAINS":
		if a[0].Type == event.TypeNull || a[1].Type == event.TypeNull {
			return x.boolLit(false)
		}
		s, sub := x.text(a[0]), x.text(a[1])
		var f string
		switch e.Func {
		case "STARTS_WITH":
			f = g.d.StartsWith(s, sub)
		case "ENDS_WITH":
			f = g.d.EndsWith(s, sub)
		default:
			f = g.d.Contains(s, sub)
		}
		return "COALESCE(" + f + ", " + x.boolLit(false) + ")"
	case "TO_LOWER":
		if a[0].Type == event.TypeNull {
			return x.null(t)
		}
		return x.d.Lower(x.text(a[0]))
	case "LENGTH":
		if a[0].Type == event.TypeNull {
			return x.null(t)
		}
		return x.d.Length(x.text(a[0]), len(a) == 2 && a[1].Value.Str() == "bytes")
	case "REG_MATCH", "REG_VALUE", "REG_COUNT":
		if a[0].Type == event.TypeNull {
			if e.Func == "REG_MATCH" {
				return x.boolLit(false)
			}
			return x.null(t)
		}
		s, re := x.text(a[0]), x.d.StringLit(a[1].Value.Str())
		switch e.Func {
		case "REG_MATCH":
			return "COALESCE(" + x.d.RegMatch(s, re) + ", " + x.boolLit(false) + ")"
		case "REG_VALUE":
			return x.d.RegValue(s, re, hasGroup(a[1].Value.Str()))
		}
		return x.d.RegCount(s, re)
	case "EVENT_TIMESTAMP":
		return "(" + g.d.ToFloat("ts") + " / " + x.d.FloatLit(1e9) + ")"
	case "UNIX_TIMESTAMP":
		if a[0].Type == event.TypeNull {
			return x.null(t)
		}
		return x.d.ParseTime(x.expr(a[0]))
	case "FORMAT_TIME":
		if a[1].Type == event.TypeNull {
			return x.null(t)
		}
		v := x.as(x.expr(a[1]), a[1].Type, event.TypeFloat)
		secs := x.d.FloatToInt(x.d.Floor(v))
		return "(CASE WHEN " + v + " >= 0 AND " + v + " < " + x.d.FloatLit(4294967296) + " THEN " + x.d.FormatTime(x.d.StringLit(a[0].Value.Str()), secs) + " ELSE " + x.null(t) + " END)"
	}
	x.err = fmt.Errorf("function %s cannot be compiled", e.Func)
	return "NULL"
}

// equals is EQUALS(a, b), never NULL.
func (x *dcomp) equals(a, b *query.Expr) string {
	ta, tb := a.Type, b.Type
	class := func(t event.Type) int {
		switch t {
		case event.TypeInt, event.TypeFloat:
			return 1
		case event.TypeString:
			return 2
		case event.TypeBool:
			return 3
		}
		return 0
	}
	switch {
	case ta == event.TypeNull && tb == event.TypeNull:
		return x.boolLit(true)
	case ta == event.TypeNull:
		return "(" + x.expr(b) + " IS NULL)"
	case tb == event.TypeNull:
		return "(" + x.expr(a) + " IS NULL)"
	}
	sa, sb := x.expr(a), x.expr(b)
	both := "(" + sa + " IS NULL AND " + sb + " IS NULL)"
	if class(ta) != class(tb) {
		return both
	}
	ct := ta
	if ta != tb {
		ct = event.TypeFloat
	}
	return "COALESCE(" + x.as(sa, ta, ct) + " = " + x.as(sb, tb, ct) + ", " + both + ")"
}

// hasGroup reports whether an RE2 pattern has a capturing group.
func hasGroup(pattern string) bool {
	re, err := regexp.Compile(pattern)
	return err == nil && re.NumSubexp() > 0
}

// SQLIntLit is a plain rendering of an integer literal.
func SQLIntLit(i int64) string { return strconv.FormatInt(i, 10) }

// SQLFloatLit renders f in exponent form, which every engine reads as a
// 64-bit float (DuckDB reads 1.5 as a DECIMAL).
func SQLFloatLit(f float64) string { return strconv.FormatFloat(f, 'e', -1, 64) }
