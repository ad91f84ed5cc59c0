package clickhouse

import (
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// dialect is ClickHouse's SQL for package sqlgen. It uses only functions
// that ClickHouse 18.16 has and current releases keep: no window functions
// (the weighted percentile is quantileExactWeighted), no Bool type (booleans
// are UInt8), no range(from, to, step), no FILTER clause (the -If
// combinators instead), and lower-case greatest/least.
type dialect struct{}

var (
	_ sqlgen.Dialect      = dialect{}
	_ sqlgen.ColumnReader = dialect{}
	_ sqlgen.MinMaxer     = dialect{}
	_ sqlgen.SingleJoiner = dialect{}
)

// QuoteIdent quotes with backticks; ClickHouse unescapes backslashes inside.
func (dialect) QuoteIdent(name string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(name) + "`"
}

// TypeName: every physical column a query reads may be absent, so every
// type is Nullable.
func (dialect) TypeName(t event.Type) string { return "Nullable(" + chType(t) + ")" }

func chType(t event.Type) string {
	switch t {
	case event.TypeInt:
		return "Int64"
	case event.TypeFloat:
		return "Float64"
	case event.TypeBool:
		return "UInt8"
	}
	return "String"
}

func (dialect) TimeNanos(col string) string { return col }

func (dialect) TimeArg(t time.Time) any { return nanos(t) }

// ToFloat uses toFloat64, which keeps NULL (CAST to Float64 would not).
func (dialect) ToFloat(expr string) string { return "toFloat64(" + expr + ")" }

// ToText renders booleans as true/false like DuckDB; toString renders
// numbers without a trailing ".0".
func (dialect) ToText(expr string, t event.Type) string {
	switch t {
	case event.TypeString:
		return expr
	case event.TypeBool:
		return "multiIf(isNull(" + expr + "), NULL, " + expr + " != 0, 'true', 'false')"
	}
	return "toString(" + expr + ")"
}

func (dialect) StartsWith(s, prefix string) string { return "startsWith(" + s + ", " + prefix + ")" }

func (dialect) EndsWith(s, suffix string) string { return "endsWith(" + s + ", " + suffix + ")" }

// Contains is a case-sensitive byte search (position is 1-based, 0 when
// absent; an empty needle is found at 1).
func (dialect) Contains(s, sub string) string { return "(position(" + s + ", " + sub + ") > 0)" }

// Quantile is quantileExactWeighted with unit weights: it returns the first
// value, in order, whose cumulative weight reaches p·n, i.e. rank ⌈p·n⌉ (at
// least 1): the nearest rank sqlgen documents. quantileExact would not do:
// it returns the element at index ⌊p·n⌋, one rank too high when p·n is whole.
func (dialect) Quantile(expr string, p float64) string {
	return "quantileExactWeighted(" + fnum(p) + ")(" + expr + ", toUInt64(1))"
}

// WeightedQuantile: quantileExactWeighted returns the smallest value whose
// cumulative weight reaches ⌈p·W⌉ = max(1, W − ⌊W − p·W⌋) for integer W.
func (dialect) WeightedQuantile(expr, weight string, p float64) (string, bool) {
	return "quantileExactWeighted(" + fnum(p) + ")(" + expr + ", toUInt64(" + weight + "))", true
}

func (dialect) CountDistinct(expr string) string { return "uniqExact(" + expr + ")" }

// NullSafeEqual is written as a conjunction of plain equalities because a
// JOIN ON in ClickHouse accepts nothing else.
func (dialect) NullSafeEqual(a, b string) string {
	return "isNull(" + a + ") = isNull(" + b + ") AND assumeNotNull(" + a + ") = assumeNotNull(" + b + ")"
}

// AggregateIf restricts agg to the rows matching cond by making its first
// argument NULL elsewhere: f(x, …) becomes f(if(cond, x, NULL), …), which
// the aggregate skips, so that over no matching row it gives NULL as DuckDB
// does (the -If combinators over Nullable arguments give 0 or nan on
// 18.16); count(*) becomes countIf(cond). A NULL cond counts as false.
func (dialect) AggregateIf(agg, cond string) string {
	c := "ifNull(" + cond + ", 0)"
	if agg == "count(*)" {
		return "countIf(" + c + ")"
	}
	if !strings.HasSuffix(agg, ")") {
		return agg
	}
	// The argument list is the last parenthesised group.
	depth, open := 0, -1
	for i := len(agg) - 1; i >= 0; i-- {
		switch agg[i] {
		case ')':
			depth++
		case '(':
			depth--
		}
		if depth == 0 {
			open = i
			break
		}
	}
	if open < 0 {
		return agg
	}
	args := agg[open+1 : len(agg)-1]
	first, rest := args, ""
	depth = 0
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				first, rest = args[:i], args[i:]
				i = len(args)
			}
		}
	}
	return agg[:open+1] + "if(" + c + ", " + first + ", NULL)" + rest + ")"
}

// ExpandRange: ClickHouse 18.16's range takes one argument.
func (dialect) ExpandRange(from, to string, step int64) string {
	s := strconv.FormatInt(step, 10)
	f, t := "assumeNotNull("+from+")", "assumeNotNull("+to+")"
	return "arrayJoin(arrayMap(i -> " + f + " + toInt64(i) * " + s + ", range(toUInt64(intDiv(" + t + " - " + f + ", " + s + ") + 1))))"
}

// SingleJoin: ClickHouse 18.16 allows one JOIN per SELECT.
func (dialect) SingleJoin() {}

func (dialect) Greatest(a, b string) string { return "greatest(" + a + ", " + b + ")" }

func (dialect) Least(a, b string) string { return "least(" + a + ", " + b + ")" }

// ReadColumn reads a physical column. Typed columns are named plainly;
// sparse columns are named "#<type letter><column id>" and read from the
// parallel key/value arrays of their type (NULL where the key is absent).
func (d dialect) ReadColumn(name string, t event.Type) string {
	if !strings.HasPrefix(name, "#") || len(name) < 3 {
		return d.QuoteIdent(name)
	}
	id, err := strconv.ParseInt(name[2:], 10, 64)
	if err != nil {
		return d.QuoteIdent(name)
	}
	keys, vals := arrayColumns(t)
	idx := "indexOf(" + keys + ", " + strconv.FormatInt(id, 10) + ")"
	return "if(" + idx + " = 0, NULL, " + vals + "[" + idx + "])"
}

// sparseName is the physical name of column id's values of type t.
func sparseName(id int64, t event.Type) string {
	return "#" + typeLetter(t) + strconv.FormatInt(id, 10)
}

func typeLetter(t event.Type) string {
	switch t {
	case event.TypeInt:
		return "i"
	case event.TypeFloat:
		return "f"
	case event.TypeBool:
		return "b"
	}
	return "s"
}

// arrayColumns names the key and value arrays of type t.
func arrayColumns(t event.Type) (keys, vals string) {
	l := typeLetter(t)
	return l + "_keys", l + "_values"
}

func fnum(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

func inum(i int64) string { return strconv.FormatInt(i, 10) }
