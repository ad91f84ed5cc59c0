package sqlgen

import (
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Dialect is what differs between SQL engines. Expressions are SQL fragments
// built by this package from quoted identifiers, other expressions and "?"
// placeholders; a Dialect only wraps them.
type Dialect interface {
	// QuoteIdent quotes an identifier so that any string is safe.
	QuoteIdent(name string) string
	// TypeName is the SQL type of a physical column of type t.
	TypeName(t event.Type) string
	// TimeNanos converts the physical time column col to int64 nanoseconds
	// since the Unix epoch.
	TimeNanos(col string) string
	// TimeArg is the parameter compared with the physical time column.
	TimeArg(t time.Time) any
	// ToFloat casts a numeric expression to a 64-bit float.
	ToFloat(expr string) string
	// ToText renders an expression of physical type t as text.
	ToText(expr string, t event.Type) string
	// StartsWith, EndsWith and Contains are case-sensitive string tests.
	StartsWith(s, prefix string) string
	EndsWith(s, suffix string) string
	Contains(s, sub string) string
	// Quantile is the exact discrete quantile aggregate returning the value
	// of rank max(1, n − ⌊n − p·n⌋) (nearest rank).
	Quantile(expr string, p float64) string
	// WeightedQuantile is the aggregate returning the smallest value whose
	// cumulative weight reaches max(1, W − ⌊W − p·W⌋), if the engine has one
	// (ClickHouse: quantileExactWeighted). ok false makes the generator use
	// window functions instead.
	WeightedQuantile(expr, weight string, p float64) (sql string, ok bool)
	// CountDistinct is the exact distinct count aggregate.
	CountDistinct(expr string) string
	// NullSafeEqual is true when a and b are equal or both NULL.
	NullSafeEqual(a, b string) string
	// AggregateIf restricts the aggregate call agg to the rows where the
	// boolean expression cond is TRUE (a per-calculation filter). agg is an
	// aggregate function call as this package builds it — sum(x), count(*),
	// min(x), max(x), avg(x) — or as the dialect's Quantile, WeightedQuantile
	// and CountDistinct return it. cond may hold "?" placeholders and must
	// appear exactly once in the result, after any placeholder of agg (agg
	// has none). Standard SQL (DuckDB, PostgreSQL, and ClickHouse too) is
	// "agg FILTER (WHERE cond)"; ClickHouse may instead rewrite agg with its
	// -If combinator (sumIf(x, cond), quantileExactLowIf(p)(x, cond)).
	// Over no matching rows the result is what agg gives over no rows: 0
	// for counts, NULL otherwise.
	AggregateIf(agg, cond string) string
	// ExpandRange is a set-returning expression yielding from, from+step, …
	// up to and including to, one row each.
	ExpandRange(from, to string, step int64) string
}

// ColumnReader is optionally implemented by a Dialect whose physical
// columns are not all plain table columns (ClickHouse keeps sparse columns
// in parallel key/value arrays). ReadColumn returns the expression reading
// the physical column name (as a Schema names it) of type t, NULL where an
// event lacks it. Without it a physical column is read as QuoteIdent(name).
type ColumnReader interface {
	ReadColumn(name string, t event.Type) string
}

// MinMaxer is optionally implemented by a Dialect whose scalar greatest and
// least functions are not spelled GREATEST and LEAST.
type MinMaxer interface {
	Greatest(a, b string) string
	Least(a, b string) string
}

// readColumn is the expression reading physical column name of type t.
func readColumn(d Dialect, name string, t event.Type) string {
	if r, ok := d.(ColumnReader); ok {
		return r.ReadColumn(name, t)
	}
	return d.QuoteIdent(name)
}

func greatest(d Dialect, a, b string) string {
	if m, ok := d.(MinMaxer); ok {
		return m.Greatest(a, b)
	}
	return "GREATEST(" + a + ", " + b + ")"
}

func least(d Dialect, a, b string) string {
	if m, ok := d.(MinMaxer); ok {
		return m.Least(a, b)
	}
	return "LEAST(" + a + ", " + b + ")"
}

// SingleJoiner is optionally implemented by a Dialect whose engine allows
// at most one JOIN per SELECT (ClickHouse before 19.x): the generator then
// nests every join in its own subquery.
type SingleJoiner interface {
	SingleJoin()
}

func singleJoin(d Dialect) bool {
	_, ok := d.(SingleJoiner)
	return ok
}
