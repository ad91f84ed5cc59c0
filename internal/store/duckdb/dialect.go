package duckdb

import (
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// dialect is DuckDB's SQL for package sqlgen.
type dialect struct{}

var _ sqlgen.Dialect = dialect{}

func (dialect) QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func (dialect) TypeName(t event.Type) string { return sqlType(t) }

func (dialect) TimeNanos(col string) string { return col }

func (dialect) TimeArg(t time.Time) any { return nanos(t) }

func (dialect) ToFloat(expr string) string { return "CAST(" + expr + " AS DOUBLE)" }

func (dialect) ToText(expr string, _ event.Type) string { return "CAST(" + expr + " AS VARCHAR)" }

func (dialect) StartsWith(s, prefix string) string { return "starts_with(" + s + ", " + prefix + ")" }

func (dialect) EndsWith(s, suffix string) string { return "ends_with(" + s + ", " + suffix + ")" }

func (dialect) Contains(s, sub string) string { return "contains(" + s + ", " + sub + ")" }

// Quantile uses quantile_disc, whose index is max(1, n − ⌊n − p·n⌋) − 1:
// the nearest-rank definition sqlgen documents.
func (dialect) Quantile(expr string, p float64) string {
	return "quantile_disc(" + expr + ", " + fnum(p) + ")"
}

// WeightedQuantile: DuckDB has no weighted quantile aggregate; sqlgen falls
// back to window functions.
func (dialect) WeightedQuantile(string, string, float64) (string, bool) { return "", false }

func (dialect) CountDistinct(expr string) string { return "count(DISTINCT " + expr + ")" }

func (dialect) NullSafeEqual(a, b string) string { return "(" + a + " IS NOT DISTINCT FROM " + b + ")" }

func (dialect) ExpandRange(from, to string, step int64) string {
	s := inum(step)
	return "unnest(range(" + from + ", " + to + " + " + s + ", " + s + "))"
}

// sqlType is the DuckDB type of a physical column of type t.
func sqlType(t event.Type) string {
	switch t {
	case event.TypeInt:
		return "BIGINT"
	case event.TypeFloat:
		return "DOUBLE"
	case event.TypeBool:
		return "BOOLEAN"
	}
	return "VARCHAR"
}

// GroupingSets says DuckDB has GROUP BY GROUPING SETS and GROUPING()
// (sqlgen.GroupingSetser): totals come from the groups' scan.
func (dialect) GroupingSets() {}
