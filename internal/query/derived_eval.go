package query

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waggle-hq/waggle/internal/event"
)

// EvalDerived evaluates a checked expression (CheckDerived) over one event:
// get returns the event's value of a column (null when absent), ts is the
// event's time. It defines the language's semantics, which every store's
// compiled SQL reproduces:
//
//   - A column reads as its static type: a string column renders any value
//     as text; an integer column reads integers; a float column reads
//     integers and floats; a boolean column reads booleans. Anything else is
//     null.
//   - Truthiness (IF conditions, NOT, AND, OR, BOOL, '!'): booleans as
//     they are, numbers when not zero, strings when exactly "true"; null is
//     false. These functions never return null.
//   - LT, LTE, GT, GTE compare two numbers, or two strings byte by byte;
//     false when either side is null.
//   - EQUALS ('=') is strict: a number equals only a number of the same
//     value (1 = 1.0), a string only the same string, a boolean only the
//     same boolean; null equals only null. IN is EQUALS against each option,
//     SWITCH compares its cases with EQUALS.
//   - Math (SUM, SUB, MUL, DIV, MOD, MIN, MAX, LOG10, BUCKET and the
//     operators) reads null as 0 and parses strings as decimal numbers
//     (0 when unparseable), as Honeycomb does; integers stay integers unless
//     a float or string is involved. DIV always gives a float; a division or
//     modulo by zero, LOG10 of a number ≤ 0 and BUCKET with a size ≤ 0 give
//     null. MOD keeps the dividend's sign. Integer overflow wraps in Go and
//     may fail a query in a store.
//   - BUCKET(v, size[, min, max]) clamps v into [min, max] and returns the
//     start of its bucket: floor(v/size)·size.
//   - COALESCE returns its first argument that is neither null nor the
//     empty string. IF and SWITCH without a default give null.
//   - INT truncates floats toward zero and parses strings (null when they
//     are not integers); FLOAT parses strings; both map booleans to 1/0.
//     STRING renders as text (null stays null); CONCAT renders each
//     argument as text, null as "".
//   - STARTS_WITH, ENDS_WITH, CONTAINS work on the text of their arguments,
//     false when either is null. TO_LOWER lower-cases (Unicode), LENGTH
//     counts characters, or bytes with "bytes".
//   - REG_MATCH tests a RE2 pattern (false on null); REG_VALUE returns the
//     first capturing group of the first match (the whole match when the
//     pattern has no group), "" when nothing matches; REG_COUNT counts
//     non-overlapping matches.
//   - EVENT_TIMESTAMP is the event's time in Unix seconds (a float);
//     UNIX_TIMESTAMP parses an RFC 3339 time to Unix seconds;
//     FORMAT_TIME(format, seconds) renders a Unix time in UTC with strftime
//     conversions %Y %m %d %H %M %S %y %j %%.
//
// Float renderings as text may differ between stores for whole numbers
// ("100" or "100.0").
func EvalDerived(e *Expr, get func(column string) event.Value, ts time.Time) event.Value {
	ev := evaluator{get: get, ts: ts}
	return ev.eval(e)
}

type evaluator struct {
	get func(string) event.Value
	ts  time.Time
}

var dnull event.Value

// truthy is the language's truthiness.
func truthy(v event.Value) bool {
	switch v.Type() {
	case event.TypeBool:
		return v.Bool()
	case event.TypeInt:
		return v.Int() != 0
	case event.TypeFloat:
		return v.Float() != 0
	case event.TypeString:
		return v.Str() == "true"
	}
	return false
}

// as converts v to static type t (int → float; anything → text).
func as(v event.Value, t event.Type) event.Value {
	if v.IsNull() || v.Type() == t {
		return v
	}
	switch t {
	case event.TypeFloat:
		if v.Type() == event.TypeInt {
			return event.Float(v.Float())
		}
	case event.TypeString:
		return event.String(v.Text())
	}
	return dnull
}

// column reads a column as its static type.
func column(v event.Value, t event.Type) event.Value {
	switch t {
	case event.TypeString:
		if v.IsNull() {
			return dnull
		}
		return event.String(v.Text())
	case event.TypeInt:
		if v.Type() == event.TypeInt {
			return v
		}
	case event.TypeFloat:
		if v.Type().Numeric() {
			return event.Float(v.Float())
		}
	case event.TypeBool:
		if v.Type() == event.TypeBool {
			return v
		}
	}
	return dnull
}

// dnum coerces a math operand: null → 0, strings parsed (0 if not a number).
func dnum(v event.Value) event.Value {
	switch v.Type() {
	case event.TypeInt, event.TypeFloat:
		return v
	case event.TypeString:
		if f, ok := ParseDerivedFloat(v.Str()); ok {
			return event.Float(f)
		}
		return event.Float(0)
	}
	return event.Int(0)
}

// ParseDerivedFloat parses a string as FLOAT and math do: a decimal number
// with optional sign, fraction and exponent, nothing else.
func ParseDerivedFloat(s string) (float64, bool) {
	if !decimalRE.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0)
}

var (
	decimalRE = regexp.MustCompile(`^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
	integerRE = regexp.MustCompile(`^[-+]?[0-9]+$`)
)

// equals is EQUALS.
func equals(a, b event.Value) bool {
	switch {
	case a.IsNull() || b.IsNull():
		return a.IsNull() && b.IsNull()
	case a.Type().Numeric() && b.Type().Numeric():
		if a.Type() == event.TypeInt && b.Type() == event.TypeInt {
			return a.Int() == b.Int()
		}
		return a.Float() == b.Float()
	case a.Type() != b.Type():
		return false
	case a.Type() == event.TypeString:
		return a.Str() == b.Str()
	}
	return a.Bool() == b.Bool()
}

func (ev *evaluator) eval(e *Expr) event.Value {
	switch e.Kind {
	case ExprLiteral:
		return e.Value
	case ExprColumn:
		if e.Type == event.TypeNull {
			return dnull
		}
		return column(ev.get(e.Column), e.Type)
	}
	args := e.Args
	arg := func(i int) event.Value { return ev.eval(args[i]) }
	switch e.Func {
	case "IF":
		for i := 0; i+1 < len(args); i += 2 {
			if truthy(arg(i)) {
				return as(arg(i+1), e.Type)
			}
		}
		if len(args)%2 == 1 {
			return as(arg(len(args)-1), e.Type)
		}
		return dnull
	case "SWITCH":
		x := arg(0)
		for i := 1; i+1 < len(args); i += 2 {
			if equals(x, arg(i)) {
				return as(arg(i+1), e.Type)
			}
		}
		if len(args)%2 == 0 {
			return as(arg(len(args)-1), e.Type)
		}
		return dnull
	case "COALESCE":
		for i := range args {
			v := as(arg(i), e.Type)
			if !v.IsNull() && !(v.Type() == event.TypeString && v.Str() == "") {
				return v
			}
		}
		return dnull
	case "LT", "LTE", "GT", "GTE":
		a, b := arg(0), arg(1)
		if a.IsNull() || b.IsNull() {
			return event.Bool(false)
		}
		var c int
		switch {
		case a.Type() == event.TypeInt && b.Type() == event.TypeInt:
			c = cmpOrd(a.Int(), b.Int())
		case a.Type().Numeric() && b.Type().Numeric():
			x, y := a.Float(), b.Float()
			if x != x || y != y {
				return event.Bool(false)
			}
			c = cmpOrd(x, y)
		default:
			c = strings.Compare(a.Str(), b.Str())
		}
		switch e.Func {
		case "LT":
			return event.Bool(c < 0)
		case "LTE":
			return event.Bool(c <= 0)
		case "GT":
			return event.Bool(c > 0)
		}
		return event.Bool(c >= 0)
	case "EQUALS":
		return event.Bool(equals(arg(0), arg(1)))
	case "IN":
		x := arg(0)
		for i := 1; i < len(args); i++ {
			if equals(x, arg(i)) {
				return event.Bool(true)
			}
		}
		return event.Bool(false)
	case "EXISTS":
		return event.Bool(!arg(0).IsNull())
	case "NOT":
		return event.Bool(!truthy(arg(0)))
	case "BOOL":
		return event.Bool(truthy(arg(0)))
	case "AND":
		for i := range args {
			if !truthy(arg(i)) {
				return event.Bool(false)
			}
		}
		return event.Bool(true)
	case "OR":
		for i := range args {
			if truthy(arg(i)) {
				return event.Bool(true)
			}
		}
		return event.Bool(false)
	case "SUM", "SUB", "MUL", "MIN", "MAX":
		acc := dnum(arg(0))
		for i := 1; i < len(args); i++ {
			acc = mathOp(e.Func, acc, dnum(arg(i)), e.Type)
		}
		return as(acc, e.Type)
	case "DIV":
		a, b := dnum(arg(0)).Float(), dnum(arg(1)).Float()
		if b == 0 {
			return dnull
		}
		return event.Float(a / b)
	case "MOD":
		a, b := dnum(arg(0)), dnum(arg(1))
		if e.Type == event.TypeInt {
			if b.Int() == 0 {
				return dnull
			}
			if b.Int() == -1 {
				return event.Int(0)
			}
			return event.Int(a.Int() % b.Int())
		}
		x, y := a.Float(), b.Float()
		if y == 0 {
			return dnull
		}
		return event.Float(x - y*math.Trunc(x/y))
	case "LOG10":
		x := dnum(arg(0)).Float()
		if !(x > 0) {
			return dnull
		}
		return event.Float(math.Log10(x))
	case "BUCKET":
		v, size := dnum(arg(0)), dnum(arg(1))
		if e.Type == event.TypeInt {
			x, s := v.Int(), size.Int()
			if s <= 0 {
				return dnull
			}
			if len(args) > 2 {
				x = max(x, dnum(arg(2)).Int())
			}
			if len(args) > 3 {
				x = min(x, dnum(arg(3)).Int())
			}
			return event.Int(int64(math.Floor(float64(x)/float64(s))) * s)
		}
		x, s := v.Float(), size.Float()
		if !(s > 0) {
			return dnull
		}
		if len(args) > 2 {
			x = math.Max(x, dnum(arg(2)).Float())
		}
		if len(args) > 3 {
			x = math.Min(x, dnum(arg(3)).Float())
		}
		return event.Float(math.Floor(x/s) * s)
	case "INT":
		v := arg(0)
		switch v.Type() {
		case event.TypeInt:
			return v
		case event.TypeFloat:
			f := v.Float()
			if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 9.2e18 {
				return dnull
			}
			return event.Int(int64(f))
		case event.TypeBool:
			if v.Bool() {
				return event.Int(1)
			}
			return event.Int(0)
		case event.TypeString:
			if !integerRE.MatchString(v.Str()) {
				return dnull
			}
			i, err := strconv.ParseInt(v.Str(), 10, 64)
			if err != nil {
				return dnull
			}
			return event.Int(i)
		}
		return dnull
	case "FLOAT":
		v := arg(0)
		switch v.Type() {
		case event.TypeInt, event.TypeFloat:
			return event.Float(v.Float())
		case event.TypeBool:
			if v.Bool() {
				return event.Float(1)
			}
			return event.Float(0)
		case event.TypeString:
			if f, ok := ParseDerivedFloat(v.Str()); ok {
				return event.Float(f)
			}
		}
		return dnull
	case "STRING":
		return as(arg(0), event.TypeString)
	case "CONCAT":
		var b strings.Builder
		for i := range args {
			b.WriteString(arg(i).Text())
		}
		return event.String(b.String())
	case "STARTS_WITH", "ENDS_WITH", "CONTAINS":
		a, b := arg(0), arg(1)
		if a.IsNull() || b.IsNull() {
			return event.Bool(false)
		}
		switch e.Func {
		case "STARTS_WITH":
			return event.Bool(strings.HasPrefix(a.Text(), b.Text()))
		case "ENDS_WITH":
			return event.Bool(strings.HasSuffix(a.Text(), b.Text()))
		}
		return event.Bool(strings.Contains(a.Text(), b.Text()))
	case "TO_LOWER":
		v := arg(0)
		if v.IsNull() {
			return dnull
		}
		return event.String(strings.ToLower(v.Text()))
	case "LENGTH":
		v := arg(0)
		if v.IsNull() {
			return dnull
		}
		if len(args) == 2 && args[1].Value.Str() == "bytes" {
			return event.Int(int64(len(v.Text())))
		}
		return event.Int(int64(utf8.RuneCountInString(v.Text())))
	case "REG_MATCH", "REG_VALUE", "REG_COUNT":
		v := arg(0)
		re := regexp.MustCompile(args[1].Value.Str())
		switch e.Func {
		case "REG_MATCH":
			return event.Bool(!v.IsNull() && re.MatchString(v.Text()))
		case "REG_VALUE":
			if v.IsNull() {
				return dnull
			}
			m := re.FindStringSubmatch(v.Text())
			switch {
			case m == nil:
				return event.String("")
			case len(m) > 1:
				return event.String(m[1])
			}
			return event.String(m[0])
		}
		if v.IsNull() {
			return dnull
		}
		return event.Int(int64(len(re.FindAllStringIndex(v.Text(), -1))))
	case "EVENT_TIMESTAMP":
		return event.Float(float64(ev.ts.UnixNano()) / 1e9)
	case "UNIX_TIMESTAMP":
		v := arg(0)
		if v.IsNull() {
			return dnull
		}
		t, err := time.Parse(time.RFC3339Nano, v.Str())
		if err != nil {
			return dnull
		}
		return event.Int(t.Unix())
	case "FORMAT_TIME":
		v := arg(1)
		if v.IsNull() {
			return dnull
		}
		f := v.Float()
		if math.IsNaN(f) || f < 0 || f >= 4294967296 {
			return dnull
		}
		return event.String(FormatTime(args[0].Value.Str(), time.Unix(int64(math.Floor(f)), 0).UTC()))
	}
	return dnull
}

func cmpOrd[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mathOp combines two coerced operands; t is the result type.
func mathOp(fn string, a, b event.Value, t event.Type) event.Value {
	if t == event.TypeInt {
		x, y := a.Int(), b.Int()
		switch fn {
		case "SUM":
			return event.Int(x + y)
		case "SUB":
			return event.Int(x - y)
		case "MUL":
			return event.Int(x * y)
		case "MIN":
			return event.Int(min(x, y))
		}
		return event.Int(max(x, y))
	}
	x, y := a.Float(), b.Float()
	switch fn {
	case "SUM":
		return event.Float(x + y)
	case "SUB":
		return event.Float(x - y)
	case "MUL":
		return event.Float(x * y)
	case "MIN":
		return event.Float(math.Min(x, y))
	}
	return event.Float(math.Max(x, y))
}

// FormatTime renders t with FORMAT_TIME's strftime conversions.
func FormatTime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 >= len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'm':
			b.WriteString(pad2(int(t.Month())))
		case 'd':
			b.WriteString(pad2(t.Day()))
		case 'H':
			b.WriteString(pad2(t.Hour()))
		case 'M':
			b.WriteString(pad2(t.Minute()))
		case 'S':
			b.WriteString(pad2(t.Second()))
		case 'y':
			b.WriteString(pad2(t.Year() % 100))
		case 'j':
			d := strconv.Itoa(t.YearDay())
			b.WriteString(strings.Repeat("0", 3-len(d)) + d)
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
