package query

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// group is one result group being shaped.
type group struct {
	key []event.Value
	// vals holds one rendered value per calculation; nums the same as
	// numbers for havings and orders (ok false for null and heatmaps).
	vals []any
	nums []float64
	ok   []bool
	// series are the group's store points, oldest first.
	series []SeriesPoint
	// rates holds, per calculation, the rate at each series point (nil for
	// calculations that are not RATE_*).
	rates [][]any
}

// shape turns the store's results into Honeycomb's. total is the result of
// c.total, nil when there is none.
func (c *compiled) shape(main, total *Result, totals bool) *Output {
	out := &Output{
		Breakdowns:  c.breakdowns,
		Start:       c.win.start.UTC(),
		End:         c.win.end.UTC(),
		Results:     []Row{},
		Granularity: c.granularity,
	}
	if c.raw {
		out.Granularity = 0
		out.Events = shapeEvents(main.Events)
		return out
	}
	for _, k := range c.calcs {
		out.Labels = append(out.Labels, k.label)
	}
	groups := c.groups(main.Groups, main.Series)
	if c.post {
		groups = c.postProcess(groups)
	}
	for _, g := range groups {
		out.Results = append(out.Results, Row{Data: c.data(g.key, g.vals)})
	}
	if c.series {
		out.Series = c.seriesPoints(groups)
		if out.Series == nil {
			out.Series = []Point{}
		}
	}
	// The totals come from the plan without breakdowns, or from the single
	// group of a query without breakdowns.
	var tg []*group
	switch {
	case c.total != nil && total != nil:
		tg = c.groups(total.Groups, total.Series)
	case len(c.breakdowns) == 0:
		tg = groups
		if c.post {
			// Havings may have dropped the only group; totals ignore them.
			tg = c.groups(main.Groups, main.Series)
		}
	}
	if len(tg) > 0 {
		t := tg[0]
		t.key = nil
		if totals {
			out.TotalByAggregate = c.data(nil, t.vals)
			if c.series {
				out.TotalByAggregateSeries = c.seriesPoints(tg[:1])
			}
		}
		if c.other && len(c.breakdowns) > 0 {
			out.OtherByAggregate = c.otherByAggregate(t, groups)
		}
	}
	return out
}

// groups renders store groups and attaches their series.
func (c *compiled) groups(in []Group, series []SeriesPoint) []*group {
	out := make([]*group, 0, len(in))
	byKey := make(map[string]*group, len(in))
	for _, sg := range in {
		g := &group{key: fitKey(sg.Key, len(c.breakdowns))}
		out = append(out, g)
		byKey[keyString(g.key)] = g
	}
	for _, p := range series {
		if g := byKey[keyString(fitKey(p.Key, len(c.breakdowns)))]; g != nil {
			g.series = append(g.series, p)
		}
	}
	for i, sg := range in {
		g := out[i]
		slices.SortStableFunc(g.series, func(a, b SeriesPoint) int { return a.Time.Compare(b.Time) })
		g.vals = make([]any, len(c.calcs))
		g.nums = make([]float64, len(c.calcs))
		g.ok = make([]bool, len(c.calcs))
		g.rates = make([][]any, len(c.calcs))
		for k, calc := range c.calcs {
			agg := c.aggOf[k]
			if calc.op.Rate() {
				var whole any
				g.rates[k], whole = rates(g.series, agg, c.granularity)
				g.vals[k] = whole
			} else {
				g.vals[k] = aggValue(valAt(sg.Values, agg))
			}
			g.nums[k], g.ok[k] = g.vals[k].(float64)
		}
	}
	return out
}

// fitKey returns key with exactly n values, padding with nulls, so that a
// store bug never turns into a panic.
func fitKey(key []event.Value, n int) []event.Value {
	if len(key) == n {
		return key
	}
	out := make([]event.Value, n)
	copy(out, key)
	return out
}

// valAt returns vals[i], or a null value when the store returned too few.
func valAt(vals []AggValue, i int) AggValue {
	if i < 0 || i >= len(vals) {
		return AggValue{Null: true}
	}
	return vals[i]
}

// keyString identifies a group key.
func keyString(key []event.Value) string {
	var b strings.Builder
	for _, v := range key {
		s := v.Text()
		b.WriteByte(byte('0' + v.Type()))
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}

// data builds one Data map: breakdown values then calculation values.
func (c *compiled) data(key []event.Value, vals []any) map[string]any {
	m := make(map[string]any, len(key)+len(vals))
	for i, v := range key {
		m[c.breakdowns[i]] = valueAny(v)
	}
	for i, v := range vals {
		m[c.calcs[i].label] = v
	}
	return m
}

// seriesPoints renders the series of groups, ordered by time then by group.
func (c *compiled) seriesPoints(groups []*group) []Point {
	type ranked struct {
		rank int
		p    Point
	}
	var all []ranked
	for rank, g := range groups {
		for i, sp := range g.series {
			vals := make([]any, len(c.calcs))
			for k, calc := range c.calcs {
				if calc.op.Rate() {
					vals[k] = g.rates[k][i]
				} else {
					vals[k] = aggValue(valAt(sp.Values, c.aggOf[k]))
				}
			}
			all = append(all, ranked{rank, Point{Time: sp.Time.UTC(), Data: c.data(g.key, vals)}})
		}
	}
	slices.SortStableFunc(all, func(a, b ranked) int {
		if d := a.p.Time.Compare(b.p.Time); d != 0 {
			return d
		}
		return cmp.Compare(a.rank, b.rank)
	})
	out := make([]Point, len(all))
	for i := range all {
		out[i] = all[i].p
	}
	return out
}

// otherByAggregate computes, for COUNT and SUM, the total minus the shown
// groups.
func (c *compiled) otherByAggregate(total *group, shown []*group) map[string]any {
	out := map[string]any{}
	for k, calc := range c.calcs {
		if (calc.op != CalcCount && calc.op != CalcSum) || !total.ok[k] {
			continue
		}
		rest := total.nums[k]
		for _, g := range shown {
			if g.ok[k] {
				rest -= g.nums[k]
			}
		}
		// Float sums in another order leave dust; a tiny rest is zero.
		if abs(rest) <= 1e-9*abs(total.nums[k]) {
			rest = 0
		}
		out[calc.label] = rest
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// rates computes a RATE_* calculation over a group's series of its
// underlying aggregate agg (SUM, AVG or MAX per bucket):
//
//   - at a bucket b, (v[b] − v[b−1]) / granularity in seconds, where b−1 is
//     the bucket just before b; null when either has no value;
//   - over the whole range, (v[last] − v[first]) / (t[last] − t[first]) in
//     seconds, over the first and last buckets with a value; null when fewer
//     than two buckets have one.
func rates(series []SeriesPoint, agg int, g time.Duration) (perBucket []any, whole any) {
	perBucket = make([]any, len(series))
	secs := g.Seconds()
	first, last := -1, -1
	for i, p := range series {
		v := valAt(p.Values, agg)
		if v.Null || !finite(v.Number) {
			continue
		}
		if first < 0 {
			first = i
		}
		if last >= 0 && secs > 0 && p.Time.Sub(series[last].Time) == g && last == i-1 {
			prev := valAt(series[last].Values, agg)
			perBucket[i] = number((v.Number - prev.Number) / secs)
		}
		last = i
	}
	if first >= 0 && last > first {
		dt := series[last].Time.Sub(series[first].Time).Seconds()
		if dt > 0 {
			a, b := valAt(series[first].Values, agg), valAt(series[last].Values, agg)
			whole = number((b.Number - a.Number) / dt)
		}
	}
	return perBucket, whole
}

// shapeEvents renders raw events.
func shapeEvents(in []RawEvent) []Event {
	out := make([]Event, 0, len(in))
	for _, e := range in {
		data := make(map[string]any, len(e.Fields))
		for _, f := range e.Fields {
			data[f.Key] = valueAny(f.Value)
		}
		out = append(out, Event{Time: e.Time.UTC(), Dataset: e.Dataset, SampleRate: e.SampleRate, Data: data})
	}
	return out
}
