package query

import (
	"math"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Output is a query's result in Honeycomb's shape: the "data" object of
// GET /1/query_results/{dataset}/{id}. Each Data map holds the breakdown
// values under their column names and the calculation values under their
// labels ("COUNT", "P95(duration_ms)", or the calculation's name).
//
// Values are float64 numbers, JSON null when no event contributed (AVG, MIN,
// MAX, percentiles and RATE_* of an empty group; COUNT and SUM of an empty
// group are 0) or when the number is not finite, and *Heatmap for HEATMAP. A
// breakdown value is a string, int64, float64, bool, or null for events
// without the column.
type Output struct {
	// Series has one point per time bucket and group, ordered by time and
	// then by the groups' order in Results. Buckets where a group had no
	// events are left out. Nil when the series is disabled.
	Series []Point `json:"series,omitempty"`
	// Results are the groups over the whole range, ordered and limited.
	Results []Row `json:"results"`
	// TotalByAggregate holds each calculation over every matching event,
	// regardless of breakdowns and limit.
	TotalByAggregate map[string]any `json:"total_by_aggregate,omitempty"`
	// TotalByAggregateSeries is TotalByAggregate per time bucket.
	TotalByAggregateSeries []Point `json:"total_by_aggregate_series,omitempty"`
	// OtherByAggregate holds, for the additive calculations (COUNT and SUM),
	// the part of the total that falls in groups cut by the limit. It is left
	// out when the query has havings.
	OtherByAggregate map[string]any `json:"other_by_aggregate,omitempty"`
	// Events are the raw events of a query without calculations, newest
	// first (waggle's extension).
	Events []Event `json:"events,omitempty"`

	// Breakdowns and Labels give the column order for presentation:
	// breakdowns, then calculations.
	Breakdowns []string `json:"-"`
	Labels     []string `json:"-"`
	// Start and End are the resolved time range; Granularity the series
	// bucket width (zero for raw events).
	Start       time.Time     `json:"-"`
	End         time.Time     `json:"-"`
	Granularity time.Duration `json:"-"`
}

// Point is one time bucket of a series; Time is the bucket's start.
type Point struct {
	Time time.Time      `json:"time"`
	Data map[string]any `json:"data"`
}

// Row is one group of the results.
type Row struct {
	Data map[string]any `json:"data"`
}

// Event is one raw event.
type Event struct {
	Time       time.Time      `json:"time"`
	Dataset    string         `json:"dataset,omitempty"`
	SampleRate int64          `json:"samplerate"`
	Data       map[string]any `json:"data"`
}

// Heatmap is the value of a HEATMAP calculation: the distribution of the
// column's values in equal-width buckets from Min to Max. Counts are
// sample-rate weighted unless the query is in usage mode.
//
//	{"min": 0, "max": 500, "count": 1234,
//	 "buckets": [{"lower": 0, "upper": 10, "count": 17}, …]}
//
// Each bucket holds values v with lower <= v < upper; the last one also
// holds v == max.
type Heatmap struct {
	Min     float64         `json:"min"`
	Max     float64         `json:"max"`
	Count   float64         `json:"count"`
	Buckets []HeatmapBucket `json:"buckets"`
}

// HeatmapBucket is one bucket of a Heatmap.
type HeatmapBucket struct {
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	Count float64 `json:"count"`
}

// heatmapOf converts a store histogram; nil when there is none.
func heatmapOf(h *Histogram) *Heatmap {
	if h == nil || !finite(h.Min) || !finite(h.Max) {
		return nil
	}
	out := &Heatmap{Min: h.Min, Max: h.Max, Buckets: make([]HeatmapBucket, 0, len(h.Counts))}
	n := float64(len(h.Counts))
	width := (h.Max - h.Min) / n
	for i, c := range h.Counts {
		if !finite(c) {
			c = 0
		}
		lower := h.Min + float64(i)*width
		upper := h.Min + float64(i+1)*width
		if i == len(h.Counts)-1 {
			upper = h.Max
		}
		out.Buckets = append(out.Buckets, HeatmapBucket{Lower: lower, Upper: upper, Count: c})
		out.Count += c
	}
	return out
}

// finite reports whether f is neither NaN nor infinite.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// number returns f, or nil when it is not finite, for JSON.
func number(f float64) any {
	if !finite(f) {
		return nil
	}
	return f
}

// aggValue renders one store aggregate value.
func aggValue(v AggValue) any {
	if v.Heatmap != nil {
		if h := heatmapOf(v.Heatmap); h != nil {
			return h
		}
		return nil
	}
	if v.Null {
		return nil
	}
	return number(v.Number)
}

// valueAny renders an event value for JSON; non-finite floats become null.
func valueAny(v event.Value) any {
	if v.Type() == event.TypeFloat && !finite(v.Float()) {
		return nil
	}
	return v.Any()
}
