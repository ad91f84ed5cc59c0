package query_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

// TestBubbleUpAgainstIndependentCounts plants slow events of one customer in
// a ten-minute window, runs BubbleUp on the box around them over the
// embedded store, and checks every count and score against numbers computed
// here from the generated events.
func TestBubbleUpAgainstIndependentCounts(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(duckdb.Options{Dir: t.TempDir(), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const env = event.EnvID(1)
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	end := start.Add(2 * time.Hour)
	selStart, selEnd := start.Add(60*time.Minute), start.Add(70*time.Minute)
	const selMin, selMax = 400.0, 1000.0

	rng := rand.New(rand.NewPCG(7, 9))
	endpoints := []string{"/a", "/b", "/c"}
	regions := []string{"us", "eu"}
	customers := []string{"c1", "c2", "c3", "c4", "acme"}
	var evs []event.Event
	for i := 0; i < 6000; i++ {
		ts := start.Add(time.Duration(rng.Int64N(int64(2 * time.Hour))))
		cust := customers[rng.IntN(4)]
		dur := 5 + rng.Float64()*40
		if rng.IntN(50) == 0 {
			cust = "acme" // some acme traffic everywhere, fast
		}
		if !ts.Before(selStart) && ts.Before(selEnd) && rng.IntN(3) == 0 {
			cust, dur = "acme", 450+rng.Float64()*500 // the planted cause
		}
		sr := int64(1)
		if i%7 == 0 {
			sr = 3
		}
		evs = append(evs, event.Event{Time: ts, Dataset: "shop", SampleRate: sr, Fields: []event.Field{
			{Key: "endpoint", Value: event.String(endpoints[rng.IntN(3)])},
			{Key: "region", Value: event.String(regions[rng.IntN(2)])},
			{Key: "customer", Value: event.String(cust)},
			{Key: "request_id", Value: event.String(fmt.Sprintf("req-%d", i))},
			{Key: "duration_ms", Value: event.Float(dur)},
		}})
	}
	if err := st.Write(ctx, event.Batch{Env: env, Events: evs}); err != nil {
		t.Fatal(err)
	}

	// Independent counts.
	type counts map[string]float64
	want := map[string][2]counts{}
	var selTotal, baseTotal float64
	for _, col := range []string{"endpoint", "region", "customer"} {
		want[col] = [2]counts{{}, {}}
	}
	for _, e := range evs {
		d, _ := e.Get("duration_ms")
		in := !e.Time.Before(selStart) && e.Time.Before(selEnd) && d.Float() >= selMin && d.Float() <= selMax
		side := 1
		if in {
			side = 0
			selTotal += float64(e.SampleRate)
		} else {
			baseTotal += float64(e.SampleRate)
		}
		for col := range want {
			v, _ := e.Get(col)
			want[col][side][v.Str()] += float64(e.SampleRate)
		}
	}
	score := func(c [2]counts) float64 {
		keys := map[string]bool{}
		for k := range c[0] {
			keys[k] = true
		}
		for k := range c[1] {
			keys[k] = true
		}
		var d float64
		for k := range keys {
			d += math.Abs(c[0][k]/selTotal - c[1][k]/baseTotal)
		}
		return d / 2
	}

	eng := query.NewEngine(st, honeycomb.NewQueryCatalog(st))
	st0, en0, gran := start.Unix(), end.Unix(), int64(60)
	spec := &query.Spec{StartTime: &st0, EndTime: &en0, Granularity: &gran}
	began := time.Now()
	res, err := eng.BubbleUp(ctx, env, []string{"shop"}, query.BubbleUpRequest{
		Spec: spec, Column: "duration_ms",
		// A box not on bucket edges is widened to whole buckets.
		Selection: query.BubbleUpSelection{Start: selStart.Add(20 * time.Second), End: selEnd.Add(-5 * time.Second), Min: selMin, Max: selMax},
	}, query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bubbleup over %d events took %v", len(evs), time.Since(began))
	if !res.SelectionStart.Equal(selStart) || !res.SelectionEnd.Equal(selEnd) {
		t.Fatalf("selection snapped to %v..%v, want %v..%v", res.SelectionStart, res.SelectionEnd, selStart, selEnd)
	}
	if res.SelectionCount != selTotal || res.BaselineCount != baseTotal {
		t.Fatalf("totals: got selection %v baseline %v, want %v %v", res.SelectionCount, res.BaselineCount, selTotal, baseTotal)
	}
	if len(res.Columns) != 4 { // endpoint, region, customer, request_id
		t.Fatalf("columns: %+v", res.Columns)
	}
	if res.Columns[0].Column != "customer" {
		t.Fatalf("top column %q, want customer; %+v", res.Columns[0].Column, res.Columns)
	}
	for _, c := range res.Columns {
		if c.Column == "request_id" {
			if c.Score > 1e-9 || len(c.Values) != 0 {
				t.Errorf("request_id (unique values) scored %v with %d values", c.Score, len(c.Values))
			}
			continue
		}
		w := want[c.Column]
		if math.Abs(c.Score-score(w)) > 1e-9 {
			t.Errorf("%s: score %v, want %v", c.Column, c.Score, score(w))
		}
		if c.SelectionOther != 0 || c.BaselineOther != 0 {
			t.Errorf("%s: other %v/%v, want 0 (all values fit in the top)", c.Column, c.SelectionOther, c.BaselineOther)
		}
		for _, v := range c.Values {
			k := v.Value.Str()
			if v.Selection != w[0][k] || v.Baseline != w[1][k] {
				t.Errorf("%s=%s: selection %v baseline %v, want %v %v", c.Column, k, v.Selection, v.Baseline, w[0][k], w[1][k])
			}
		}
	}
	if res.Columns[0].Values[0].Value.Str() != "acme" {
		t.Errorf("top customer value %v, want acme", res.Columns[0].Values[0].Value)
	}
	t.Logf("scores: %s %.3f, %s %.3f, %s %.3f", res.Columns[0].Column, res.Columns[0].Score, res.Columns[1].Column, res.Columns[1].Score, res.Columns[2].Column, res.Columns[2].Score)
}
