package query

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// BubbleUp compares the events of a selection (a box on a heatmap: a time
// range × a range of the heatmap column's values) with the baseline (every
// other event the query reads), column by column, and ranks the columns by
// how differently their values are distributed in the two.
//
// Per candidate column it runs one Plan over the query's window: breakdown
// by the column, a time series at the heatmap's granularity, and two
// sample-rate weighted COUNTs, the second with a per-aggregate filter that
// is the selection's value range. Summing the filtered count over the
// selection's time buckets gives the selection's count of each value; the
// unfiltered count minus that is the baseline's. So each column costs one
// scan of the window, whatever the store, and the numbers are exact for the
// top values (ordered by how often they fall in the selection's value
// range), with the rest reported as "other".
//
// The score of a column is the total variation distance between the two
// distributions over its top values plus "other": ½ Σ |p_sel(v) − p_base(v)|,
// 0 when the selection looks like the baseline, 1 when they share no value.
// Values seen once, or less often in the whole window than 5 % of the
// selection's events, are counted as "other", so an id column scores near 0.

// BubbleUpRequest is what to compare.
type BubbleUpRequest struct {
	// Spec supplies the window (time_range/start_time/end_time), the
	// granularity and the filters; its calculations and breakdowns are
	// ignored.
	Spec *Spec
	// Column is the heatmap's numeric column.
	Column string
	// Selection is the box: [Start, End) in time (snapped outwards to the
	// granularity's buckets, as a heatmap's cells are) and [Min, Max] in
	// Column's values.
	Selection BubbleUpSelection
	// Columns, when set, restricts the comparison to these columns.
	Columns []string
	// TopValues is how many values per column to report (default 10, at
	// most 50).
	TopValues int
}

// BubbleUpSelection is a heatmap region.
type BubbleUpSelection struct {
	Start, End time.Time
	Min, Max   float64
}

// BubbleUpResult is the comparison, columns ranked by score.
type BubbleUpResult struct {
	Start, End         time.Time
	SelectionStart     time.Time
	SelectionEnd       time.Time
	Granularity        time.Duration
	SelectionCount     float64
	BaselineCount      float64
	Columns            []BubbleUpColumn
	ColumnsConsidered  int
	ColumnsLeftOut     []string
	TookPerColumnMaxMs float64
}

// BubbleUpColumn is one column's comparison.
type BubbleUpColumn struct {
	Column string
	// Score is the total variation distance in [0, 1].
	Score float64
	// Values are the top values, by selection count then baseline count.
	Values []BubbleUpValue
	// SelectionOther and BaselineOther count the events with other values.
	SelectionOther, BaselineOther float64
}

// BubbleUpValue is one value's counts; Value is Null for events without
// the column.
type BubbleUpValue struct {
	Value             event.Value
	Selection         float64
	Baseline          float64
	SelectionFraction float64
	BaselineFraction  float64
}

// bubbleUpMaxColumns bounds the columns compared in one request.
const bubbleUpMaxColumns = 120

// bubbleUpParallel is how many column plans run at once.
const bubbleUpParallel = 2

// bubbleUpSkip reports whether a column is structural and never worth
// comparing (ids unique per span or trace).
func bubbleUpSkip(name string) bool {
	switch name {
	case "trace.trace_id", "trace.span_id", "trace.parent_id", "trace.link.trace_id", "trace.link.span_id":
		return true
	}
	return false
}

// BubbleUp runs a BubbleUp comparison over datasets of env.
func (e *Engine) BubbleUp(ctx context.Context, env event.EnvID, datasets []string, req BubbleUpRequest, opts Options) (*BubbleUpResult, error) {
	if req.Spec == nil {
		return nil, errorf("", "query spec is empty")
	}
	if req.Column == "" {
		return nil, errorf("column", "a heatmap column is required")
	}
	if !(req.Selection.End.After(req.Selection.Start)) {
		return nil, errorf("selection", "selection end must be after its start")
	}
	if math.IsNaN(req.Selection.Min) || math.IsNaN(req.Selection.Max) || req.Selection.Max < req.Selection.Min {
		return nil, errorf("selection", "selection max must not be below its min")
	}
	top := req.TopValues
	if top <= 0 {
		top = 10
	}
	top = min(top, 50)
	// Compile the spec as a HEATMAP of the column, which validates the
	// column, the filters and the window.
	spec := *req.Spec
	spec.Calculations = []Calculation{{Op: string(CalcHeatmap), Column: req.Column}}
	spec.Breakdowns, spec.Orders, spec.Havings, spec.Limit = nil, nil, nil, nil
	c, err := e.compile(ctx, env, datasets, &spec, opts)
	if err != nil {
		return nil, err
	}
	names, _, _ := resolveDatasets(datasets)
	cols, err := e.cat.Columns(ctx, env, names)
	if err != nil {
		return nil, fmt.Errorf("load columns: %w", err)
	}
	if af, ok := e.exec.(AggregateFilterer); !ok || !af.AggregateFilters() {
		return nil, errorf("", "this store cannot compute BubbleUp (no per-aggregate filters)")
	}
	g := c.granularity
	base := c.plan
	selStart := floorTo(req.Selection.Start, g)
	selEnd := ceilTo(req.Selection.End, g)
	res := &BubbleUpResult{Start: base.Start, End: base.End, Granularity: g, SelectionStart: selStart, SelectionEnd: selEnd}

	sel := &AggFilter{Filters: []Filter{
		{Column: req.Column, Op: OpGe, Value: event.Float(req.Selection.Min)},
		{Column: req.Column, Op: OpLe, Value: event.Float(req.Selection.Max)},
	}}
	// minSupport is the weighted count a value needs in the window to be
	// listed: more than once, and more than 5 % of the selection's events
	// (so that a sampled event of a unique id, weighing its sample rate,
	// does not pass for a pattern). Rarer values count as "other".
	var minSupport float64
	plan := func(breakdown string) *Plan {
		p := &Plan{
			Datasets:    base.Datasets,
			Start:       base.Start,
			End:         base.End,
			Filters:     base.Filters,
			Or:          base.Or,
			Unweighted:  base.Unweighted,
			Granularity: g,
			Aggregates:  []Aggregate{{Op: AggCount}, {Op: AggCount, Where: sel}},
			Limit:       1,
		}
		if breakdown != "" {
			p.Breakdowns = []string{breakdown}
			p.Havings = []Having{{Agg: 0, Op: OpGt, Value: minSupport}}
			p.Orders = []Order{{Agg: 1, Descending: true}, {Agg: 0, Descending: true}}
			p.Limit = top
		}
		return p
	}
	inSel := func(t time.Time) bool { return !t.Before(selStart) && t.Before(selEnd) }
	// selCounts sums the filtered count over the selection's buckets, per
	// group key.
	selCounts := func(r *Result) map[string]float64 {
		m := map[string]float64{}
		for _, pt := range r.Series {
			if inSel(pt.Time) {
				if v := valAt(pt.Values, 1); !v.Null {
					m[keyString(pt.Key)] += v.Number
				}
			}
		}
		return m
	}

	totals, err := e.execute(ctx, env, plan(""))
	if err != nil {
		return nil, err
	}
	var all float64
	if len(totals.Groups) > 0 {
		if v := valAt(totals.Groups[0].Values, 0); !v.Null {
			all = v.Number
		}
	}
	for _, n := range selCounts(totals) {
		res.SelectionCount += n
	}
	res.BaselineCount = math.Max(0, all-res.SelectionCount)
	minSupport = math.Max(1, 0.05*res.SelectionCount)

	var candidates []string
	if len(req.Columns) > 0 {
		for i, name := range req.Columns {
			if _, ok := cols[name]; !ok {
				return nil, errorf(fieldf("columns", i), "unknown column %q", truncate(name))
			}
			candidates = append(candidates, name)
		}
	} else {
		for name, ci := range cols {
			// Floats are measures with mostly distinct values: comparing
			// them value by value says nothing.
			if name == req.Column || bubbleUpSkip(name) || ci.Type == event.TypeFloat {
				continue
			}
			candidates = append(candidates, name)
		}
		sort.Strings(candidates)
	}
	if len(candidates) > bubbleUpMaxColumns {
		res.ColumnsLeftOut = candidates[bubbleUpMaxColumns:]
		candidates = candidates[:bubbleUpMaxColumns]
	}
	res.ColumnsConsidered = len(candidates)
	if res.SelectionCount == 0 {
		return res, nil
	}

	out := make([]BubbleUpColumn, len(candidates))
	errs := make([]error, len(candidates))
	took := make([]time.Duration, len(candidates))
	var wg sync.WaitGroup
	gate := make(chan struct{}, bubbleUpParallel)
	for i, name := range candidates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gate <- struct{}{}
			defer func() { <-gate }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			began := time.Now()
			r, err := e.execute(ctx, env, plan(name))
			took[i] = time.Since(began)
			if err != nil {
				errs[i] = err
				return
			}
			out[i] = bubbleUpColumn(name, r, selCounts(r), res.SelectionCount, res.BaselineCount)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, err
		}
		res.TookPerColumnMaxMs = math.Max(res.TookPerColumnMaxMs, float64(took[i])/float64(time.Millisecond))
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Score != out[b].Score {
			return out[a].Score > out[b].Score
		}
		return out[a].Column < out[b].Column
	})
	res.Columns = out
	return res, nil
}

// bubbleUpColumn scores one column from its grouped result.
func bubbleUpColumn(name string, r *Result, sel map[string]float64, selTotal, baseTotal float64) BubbleUpColumn {
	col := BubbleUpColumn{Column: name}
	var sumSel, sumBase, dist float64
	for _, g := range r.Groups {
		var all float64
		if v := valAt(g.Values, 0); !v.Null {
			all = v.Number
		}
		var key event.Value
		if len(g.Key) > 0 {
			key = g.Key[0]
		}
		s := sel[keyString(g.Key)]
		b := math.Max(0, all-s)
		v := BubbleUpValue{Value: key, Selection: s, Baseline: b}
		if selTotal > 0 {
			v.SelectionFraction = s / selTotal
		}
		if baseTotal > 0 {
			v.BaselineFraction = b / baseTotal
		}
		sumSel += s
		sumBase += b
		dist += math.Abs(v.SelectionFraction - v.BaselineFraction)
		col.Values = append(col.Values, v)
	}
	col.SelectionOther = math.Max(0, selTotal-sumSel)
	col.BaselineOther = math.Max(0, baseTotal-sumBase)
	var po, pb float64
	if selTotal > 0 {
		po = col.SelectionOther / selTotal
	}
	if baseTotal > 0 {
		pb = col.BaselineOther / baseTotal
	}
	dist += math.Abs(po - pb)
	col.Score = math.Min(1, dist/2)
	// Report values by selection count, then baseline count, then text.
	sort.SliceStable(col.Values, func(a, b int) bool {
		va, vb := col.Values[a], col.Values[b]
		if va.Selection != vb.Selection {
			return va.Selection > vb.Selection
		}
		if va.Baseline != vb.Baseline {
			return va.Baseline > vb.Baseline
		}
		return strings.Compare(va.Value.Text(), vb.Value.Text()) < 0
	})
	return col
}

func floorTo(t time.Time, g time.Duration) time.Time {
	if g <= 0 {
		return t
	}
	ns := t.UnixNano()
	r := ns % int64(g)
	if r < 0 {
		r += int64(g)
	}
	return time.Unix(0, ns-r).UTC()
}

func ceilTo(t time.Time, g time.Duration) time.Time {
	f := floorTo(t, g)
	if f.Equal(t) {
		return f
	}
	return f.Add(g)
}
