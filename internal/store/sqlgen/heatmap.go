package sqlgen

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// runHeatmap fills aggregate ai (a HEATMAP) of every group and series point:
// histograms of the column's numeric values between bounds shared by all
// groups and buckets shown.
func (g *gen) runHeatmap(ctx context.Context, q Querier, ai int, res *query.Result, top func(*buf)) error {
	a := g.p.Aggregates[ai]
	n := g.p.HeatmapBuckets
	if n <= 0 {
		n = DefaultHeatmapBuckets
	}
	x := g.numeric(g.use(a.Column), true)

	var b buf
	b.s("SELECT min(", x, "), max(", x, ") FROM ")
	g.source(&b, false)
	g.where(&b, g.aggPred(a), top)
	var lo, hi sql.NullFloat64
	if err := queryRow(ctx, q, &b, &lo, &hi); err != nil {
		return fmt.Errorf("heatmap bounds: %w", err)
	}
	newHist := func() *query.Histogram {
		return &query.Histogram{Min: lo.Float64, Max: hi.Float64, Counts: make([]float64, n)}
	}
	groupIdx := map[string]int{}
	for i := range res.Groups {
		res.Groups[i].Values[ai] = query.AggValue{Heatmap: newHist()}
		groupIdx[keyString(res.Groups[i].Key)] = i
	}
	pointIdx := map[string]int{}
	for i := range res.Series {
		res.Series[i].Values[ai] = query.AggValue{Heatmap: newHist()}
		pointIdx[fmt.Sprint(res.Series[i].Time.UnixNano())+"|"+keyString(res.Series[i].Key)] = i
	}
	if !lo.Valid || !hi.Valid {
		return nil
	}
	width := (hi.Float64 - lo.Float64) / float64(n)
	bucket := "0"
	var bargs []any
	if width > 0 && finite(width) {
		bucket = "CAST(" + least(g.d, inum(int64(n-1))+".0", greatest(g.d, "0.0", "floor(("+x+" - ?) / ?)")) + " AS " + g.d.TypeName(event.TypeInt) + ")"
		bargs = []any{lo.Float64, width}
	}
	series := g.p.Granularity > 0 && len(res.Series) > 0
	ks := g.keys(0)
	if series {
		ks = g.keys(int64(g.p.Granularity))
	}
	var c buf
	c.s("SELECT ")
	if len(ks) > 0 {
		selectKeys(&c, ks, false)
		c.s(", ")
	}
	c.s("hb, ", g.d.ToFloat("sum(w)"), " FROM (SELECT ")
	if len(ks) > 0 {
		selectKeys(&c, ks, true)
		c.s(", ")
	}
	// The bucket expression's placeholders come first in the text.
	c.s(bucket)
	c.args = append(c.args, bargs...)
	c.s(" AS hb, ", g.weight(), " AS w FROM ")
	g.source(&c, false)
	g.where(&c, func(b *buf) { b.s(x, " IS NOT NULL") }, g.aggPred(a), top)
	c.s(") AS h")
	groupBy(&c, ks, false, "hb")

	rows, err := q.QueryContext(ctx, c.String(), c.args...)
	if err != nil {
		return fmt.Errorf("heatmap: %w", err)
	}
	defer rows.Close()
	nk := len(g.p.Breakdowns)
	off := 0
	if series {
		off = 1
	}
	dest := make([]any, off+nk+2)
	var tb sql.NullInt64
	keys := make([]any, nk)
	var hb sql.NullInt64
	var w sql.NullFloat64
	if series {
		dest[0] = &tb
	}
	for i := range keys {
		dest[off+i] = &keys[i]
	}
	dest[off+nk], dest[off+nk+1] = &hb, &w
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("heatmap: scan: %w", err)
		}
		kv := make([]event.Value, nk)
		for i, k := range keys {
			kv[i] = g.keyValue(i, k)
		}
		if hb.Int64 < 0 || hb.Int64 >= int64(n) {
			continue
		}
		ks := keyString(kv)
		if series {
			if i, ok := pointIdx[fmt.Sprint(time.Unix(0, tb.Int64).UTC().UnixNano())+"|"+ks]; ok {
				res.Series[i].Values[ai].Heatmap.Counts[hb.Int64] += w.Float64
			}
			if i, ok := groupIdx[ks]; ok {
				res.Groups[i].Values[ai].Heatmap.Counts[hb.Int64] += w.Float64
			}
			continue
		}
		if i, ok := groupIdx[ks]; ok {
			res.Groups[i].Values[ai].Heatmap.Counts[hb.Int64] += w.Float64
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("heatmap: %w", err)
	}
	return nil
}
