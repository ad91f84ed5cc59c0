package query

import (
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// AggOp is an aggregate a store computes. The engine lowers every Honeycomb
// calculation into these (RATE_* become SUM/AVG/MAX series, P95 becomes
// AggPercentile with P=0.95).
type AggOp uint8

// The aggregates a store must compute.
const (
	AggCount         AggOp = iota + 1 // sample-rate weighted row count
	AggSum                            // sample-rate weighted sum
	AggAvg                            // sample-rate weighted mean
	AggMin                            // minimum
	AggMax                            // maximum
	AggCountDistinct                  // exact distinct values, not weighted
	AggPercentile                     // exact percentile, P in [0,1]
	AggHeatmap                        // histogram of a numeric column
	AggConcurrency                    // spans in progress (needs duration_ms)
)

// Aggregate is one aggregate over one column (none for AggCount and
// AggConcurrency).
type Aggregate struct {
	Op     AggOp
	Column string
	// P is the percentile in [0,1] for AggPercentile.
	P float64
	// Where, when not nil, restricts the events this aggregate alone reads,
	// on top of Plan.Filters (Honeycomb's per-calculation filters). Stores
	// must honour it: an aggregate with Where only counts events that match
	// both Plan.Filters (combined per Plan.Or) and Where (combined per
	// Where.Or). It is a pointer so that Aggregate stays comparable.
	Where *AggFilter
}

// AggFilter is the filter of one aggregate.
type AggFilter struct {
	Filters []Filter
	// Or combines Filters with OR instead of AND.
	Or bool
}

// FilterOp is a filter operator, spelled as in Honeycomb's query spec.
type FilterOp string

// The filter operators of Honeycomb's query specification.
const (
	OpEq            FilterOp = "="
	OpNe            FilterOp = "!="
	OpGt            FilterOp = ">"
	OpGe            FilterOp = ">="
	OpLt            FilterOp = "<"
	OpLe            FilterOp = "<="
	OpStartsWith    FilterOp = "starts-with"
	OpNotStartsWith FilterOp = "does-not-start-with"
	OpEndsWith      FilterOp = "ends-with"
	OpNotEndsWith   FilterOp = "does-not-end-with"
	OpExists        FilterOp = "exists"
	OpNotExists     FilterOp = "does-not-exist"
	OpContains      FilterOp = "contains"
	OpNotContains   FilterOp = "does-not-contain"
	OpIn            FilterOp = "in"
	OpNotIn         FilterOp = "not-in"
)

// Filter restricts the events a query reads. Value is a scalar for the
// comparison and string operators, a list for in/not-in, and unused for
// exists/does-not-exist. Values were already coerced by the engine to the
// column's type.
type Filter struct {
	Column string
	Op     FilterOp
	Value  event.Value
	Values []event.Value
}

// Having keeps only groups whose aggregate Agg (an index into
// Plan.Aggregates) compares to Value with Op (=, !=, >, >=, <, <=).
type Having struct {
	Agg   int
	Op    FilterOp
	Value float64
}

// Order sorts groups: by an aggregate (Agg ≥ 0, an index into
// Plan.Aggregates) or by a breakdown column (Agg < 0, Column set).
type Order struct {
	Agg        int
	Column     string
	Descending bool
}

// Plan is a validated, protocol-free query that a store executes. Column names
// are logical names as clients wrote them ("duration_ms",
// "trace.trace_id"); the store maps them to its physical layout.
type Plan struct {
	// Datasets are the dataset slugs to read; empty means every dataset of the
	// environment (Honeycomb's __all__).
	Datasets []string
	// Start is inclusive, End exclusive.
	Start, End time.Time

	Aggregates []Aggregate
	Filters    []Filter
	// Or combines filters with OR instead of AND.
	Or         bool
	Breakdowns []string
	Havings    []Having
	Orders     []Order
	// Limit is the largest number of groups (or raw events) returned.
	Limit int
	// Granularity, when non-zero, asks for a time series with buckets of this
	// width aligned to multiples of it since the Unix epoch.
	Granularity time.Duration
	// Unweighted turns off sample-rate correction (Honeycomb's usage_mode).
	Unweighted bool
	// HeatmapBuckets is the number of value buckets for AggHeatmap.
	HeatmapBuckets int
	// Derived holds the derived columns (Honeycomb's calculated fields) the
	// plan reads, by alias: any column name in the plan that is a key here
	// is the value of its expression over the event's columns, not a stored
	// column (see EvalDerived for the semantics stores must reproduce).
	Derived map[string]DerivedColumn `json:",omitempty"`
}

// Raw reports whether the plan asks for raw events (no aggregates).
func (p *Plan) Raw() bool { return len(p.Aggregates) == 0 }

// Result is what a store returns for a Plan.
type Result struct {
	// Groups are the groups over the whole range, after havings, ordered and
	// limited. For a plan without breakdowns there is exactly one group (with
	// no key), even when no event matched, unless a having rejects it: then
	// there is none, and no series (as Honeycomb answers an empty result).
	Groups []Group
	// Series holds one point per bucket and group when Plan.Granularity is
	// set: only for the groups in Groups, buckets with no events omitted.
	Series []SeriesPoint
	// Events are the raw events of a raw plan, newest first.
	Events []RawEvent
}

// Group is one breakdown group and its aggregates.
type Group struct {
	// Key holds one value per breakdown, in Plan.Breakdowns order; a null
	// Value where the event lacked the column.
	Key []event.Value
	// Values hold one value per Plan.Aggregates entry.
	Values []AggValue
}

// AggValue is the value of one aggregate: a number (Null when no event
// contributed), or a histogram for AggHeatmap.
type AggValue struct {
	Null    bool
	Number  float64
	Heatmap *Histogram
}

// Histogram is a heatmap cell column: counts of values in equal-width buckets
// between Min and Max.
type Histogram struct {
	Min, Max float64
	Counts   []float64
}

// SeriesPoint is one group's aggregates in one time bucket.
type SeriesPoint struct {
	Time   time.Time
	Key    []event.Value
	Values []AggValue
}

// RawEvent is one event returned as is.
type RawEvent struct {
	Time       time.Time
	Dataset    string
	SampleRate int64
	Fields     []event.Field
}
