package query

import "strings"

// CalcOp is a Honeycomb calculation operator ("COUNT", "P95", "RATE_SUM"…).
type CalcOp string

// The calculation operators of Honeycomb's query specification.
const (
	CalcCount         CalcOp = "COUNT"
	CalcConcurrency   CalcOp = "CONCURRENCY"
	CalcSum           CalcOp = "SUM"
	CalcAvg           CalcOp = "AVG"
	CalcMin           CalcOp = "MIN"
	CalcMax           CalcOp = "MAX"
	CalcCountDistinct CalcOp = "COUNT_DISTINCT"
	CalcHeatmap       CalcOp = "HEATMAP"
	CalcRateSum       CalcOp = "RATE_SUM"
	CalcRateAvg       CalcOp = "RATE_AVG"
	CalcRateMax       CalcOp = "RATE_MAX"
	CalcP001          CalcOp = "P001"
	CalcP01           CalcOp = "P01"
	CalcP05           CalcOp = "P05"
	CalcP10           CalcOp = "P10"
	CalcP20           CalcOp = "P20"
	CalcP25           CalcOp = "P25"
	CalcP50           CalcOp = "P50"
	CalcP75           CalcOp = "P75"
	CalcP80           CalcOp = "P80"
	CalcP90           CalcOp = "P90"
	CalcP95           CalcOp = "P95"
	CalcP99           CalcOp = "P99"
	CalcP999          CalcOp = "P999"
)

// percentiles maps each percentile op to its quantile in [0,1].
var percentiles = map[CalcOp]float64{
	CalcP001: 0.001, CalcP01: 0.01, CalcP05: 0.05, CalcP10: 0.10, CalcP20: 0.20,
	CalcP25: 0.25, CalcP50: 0.50, CalcP75: 0.75, CalcP80: 0.80, CalcP90: 0.90,
	CalcP95: 0.95, CalcP99: 0.99, CalcP999: 0.999,
}

// CalcOps lists every calculation operator waggle accepts, in a stable order.
var CalcOps = []CalcOp{
	CalcCount, CalcConcurrency, CalcSum, CalcAvg, CalcMin, CalcMax, CalcCountDistinct,
	CalcHeatmap, CalcRateSum, CalcRateAvg, CalcRateMax,
	CalcP001, CalcP01, CalcP05, CalcP10, CalcP20, CalcP25, CalcP50, CalcP75, CalcP80,
	CalcP90, CalcP95, CalcP99, CalcP999,
}

// ParseCalcOp parses an operator case-insensitively.
func ParseCalcOp(s string) (CalcOp, bool) {
	if len(s) > 32 {
		return "", false
	}
	op := CalcOp(strings.ToUpper(strings.TrimSpace(s)))
	for _, known := range CalcOps {
		if op == known {
			return op, true
		}
	}
	return "", false
}

// TakesColumn reports whether the operator needs a column (all but COUNT and
// CONCURRENCY).
func (op CalcOp) TakesColumn() bool { return op != CalcCount && op != CalcConcurrency }

// Numeric reports whether the operator needs a numeric column: everything
// except COUNT, CONCURRENCY and COUNT_DISTINCT.
func (op CalcOp) Numeric() bool {
	return op.TakesColumn() && op != CalcCountDistinct
}

// Rate reports whether op is one of RATE_SUM, RATE_AVG, RATE_MAX.
func (op CalcOp) Rate() bool { return op == CalcRateSum || op == CalcRateAvg || op == CalcRateMax }

// Percentile returns the quantile of a percentile operator.
func (op CalcOp) Percentile() (float64, bool) {
	p, ok := percentiles[op]
	return p, ok
}

// aggregate returns the store aggregate that computes op over column. RATE_*
// lower to the aggregate whose change over time they measure.
func (op CalcOp) aggregate(column string) Aggregate {
	switch op {
	case CalcCount:
		return Aggregate{Op: AggCount}
	case CalcConcurrency:
		return Aggregate{Op: AggConcurrency}
	case CalcSum, CalcRateSum:
		return Aggregate{Op: AggSum, Column: column}
	case CalcAvg, CalcRateAvg:
		return Aggregate{Op: AggAvg, Column: column}
	case CalcMin:
		return Aggregate{Op: AggMin, Column: column}
	case CalcMax, CalcRateMax:
		return Aggregate{Op: AggMax, Column: column}
	case CalcCountDistinct:
		return Aggregate{Op: AggCountDistinct, Column: column}
	case CalcHeatmap:
		return Aggregate{Op: AggHeatmap, Column: column}
	}
	p, _ := op.Percentile()
	return Aggregate{Op: AggPercentile, Column: column, P: p}
}

// Label returns the result key Honeycomb uses for a calculation: its name if
// set, else "COUNT", "CONCURRENCY" or "OP(column)".
func Label(op CalcOp, column, name string) string {
	if name != "" {
		return name
	}
	if !op.TakesColumn() {
		return string(op)
	}
	return string(op) + "(" + column + ")"
}

// filterOps lists every filter operator, for validation.
var filterOps = []FilterOp{
	OpEq, OpNe, OpGt, OpGe, OpLt, OpLe, OpStartsWith, OpNotStartsWith, OpEndsWith,
	OpNotEndsWith, OpExists, OpNotExists, OpContains, OpNotContains, OpIn, OpNotIn,
}

// ParseFilterOp parses a filter operator case-insensitively.
func ParseFilterOp(s string) (FilterOp, bool) {
	if len(s) > 32 {
		return "", false
	}
	op := FilterOp(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range filterOps {
		if op == known {
			return op, true
		}
	}
	return "", false
}

// FilterOps returns every filter operator in a stable order.
func FilterOps() []FilterOp { return append([]FilterOp(nil), filterOps...) }

// comparison reports whether op is one of = != > >= < <=.
func (op FilterOp) comparison() bool {
	switch op {
	case OpEq, OpNe, OpGt, OpGe, OpLt, OpLe:
		return true
	}
	return false
}

// ordering reports whether op is one of > >= < <=.
func (op FilterOp) ordering() bool {
	switch op {
	case OpGt, OpGe, OpLt, OpLe:
		return true
	}
	return false
}

// stringOp reports whether op only applies to strings.
func (op FilterOp) stringOp() bool {
	switch op {
	case OpStartsWith, OpNotStartsWith, OpEndsWith, OpNotEndsWith, OpContains, OpNotContains:
		return true
	}
	return false
}

// list reports whether op takes a list of values.
func (op FilterOp) list() bool { return op == OpIn || op == OpNotIn }

// unary reports whether op takes no value.
func (op FilterOp) unary() bool { return op == OpExists || op == OpNotExists }

// compare applies a comparison operator to a three-way comparison result.
func (op FilterOp) compare(c int) bool {
	switch op {
	case OpEq:
		return c == 0
	case OpNe:
		return c != 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	}
	return false
}
