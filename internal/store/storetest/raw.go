package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// testRawSparse checks raw events over datasets with many sparse columns,
// several days and datasets, against the reference: the newest matching
// events, each with exactly its own fields.
func testRawSparse(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	t0 := base()
	var all []event.Event
	n := 0
	for day := range 3 {
		for _, ds := range []string{"sparse-a", "sparse-b"} {
			var evs []event.Event
			for i := range 200 {
				n++
				e := event.Event{Time: t0.Add(-time.Duration(day)*24*time.Hour - time.Duration(n)*time.Second), Dataset: ds, SampleRate: 1}
				e.Set("kind", event.String([]string{"x", "y"}[i%2]))
				// Each event has three of 400 columns per day and dataset.
				for k := range 3 {
					e.Set(fmt.Sprintf("%s.d%d.c%03d", ds, day, (i*7+k*131)%400), event.Int(int64(n*10+k)))
				}
				if i%5 == 0 {
					e.Set("rare", event.Float(float64(i)/2))
				}
				evs = append(evs, e)
			}
			write(t, s, 1, evs)
			all = append(all, evs...)
		}
	}
	for _, c := range []struct {
		name    string
		ds      []string
		filters []query.Filter
		limit   int
	}{
		{"newest", nil, nil, 10},
		{"across days", nil, nil, 700},
		{"more than there are", nil, nil, 5000},
		{"one dataset", []string{"sparse-b"}, nil, 250},
		{"filtered", nil, []query.Filter{{Column: "kind", Op: query.OpEq, Value: event.String("y")}}, 333},
		{"sparse filter", nil, []query.Filter{{Column: "rare", Op: query.OpExists}}, 50},
		{"no match", nil, []query.Filter{{Column: "kind", Op: query.OpEq, Value: event.String("z")}}, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &query.Plan{Datasets: c.ds, Start: t0.Add(-4 * 24 * time.Hour), End: t0.Add(time.Hour), Filters: c.filters, Limit: c.limit}
			r := execute(t, s, 1, p)
			var want []*event.Event
			for i := range all {
				e := &all[i]
				inDS := len(c.ds) == 0 || e.Dataset == c.ds[0]
				if inDS && matches(e, p) {
					want = append(want, e)
				}
			}
			sort.Slice(want, func(i, j int) bool { return want[i].Time.After(want[j].Time) })
			if len(want) > c.limit {
				want = want[:c.limit]
			}
			if len(r.Events) != len(want) {
				t.Fatalf("got %d events, want %d", len(r.Events), len(want))
			}
			for i, got := range r.Events {
				w := want[i]
				if !got.Time.Equal(w.Time) || got.Dataset != w.Dataset || len(got.Fields) != len(w.Fields) {
					t.Fatalf("event %d: got %v %s %d fields, want %v %s %d fields", i, got.Time, got.Dataset, len(got.Fields), w.Time, w.Dataset, len(w.Fields))
				}
				for _, f := range got.Fields {
					if v, ok := w.Get(f.Key); !ok || v != f.Value {
						t.Fatalf("event %d field %s = %v, want %v", i, f.Key, f.Value.Any(), v.Any())
					}
				}
			}
		})
	}
}
