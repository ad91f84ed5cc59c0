package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
)

// sortedFields returns e's fields ordered by key.
func sortedFields(fs []event.Field) []event.Field {
	out := append([]event.Field(nil), fs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func sameValue(a, b event.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == event.TypeFloat {
		return a.Float() == b.Float() || (math.IsNaN(a.Float()) && math.IsNaN(b.Float()))
	}
	return a.Any() == b.Any()
}

// checkRaw compares a raw event with the event written.
func checkRaw(t *testing.T, got query.RawEvent, want event.Event, wantDataset string) {
	t.Helper()
	if !got.Time.Equal(want.Time) || got.Dataset != wantDataset || got.SampleRate != max(want.SampleRate, 1) {
		t.Fatalf("raw event header: got %v %q %d, want %v %q %d", got.Time, got.Dataset, got.SampleRate, want.Time, wantDataset, want.SampleRate)
	}
	wf := sortedFields(want.Fields)
	if len(got.Fields) != len(wf) {
		t.Fatalf("raw event fields: got %v, want %v", got.Fields, wf)
	}
	for i := range wf {
		if got.Fields[i].Key != wf[i].Key || !sameValue(got.Fields[i].Value, wf[i].Value) {
			t.Fatalf("raw event field %d: got %s=%#v, want %s=%#v", i, got.Fields[i].Key, got.Fields[i].Value.Any(), wf[i].Key, wf[i].Value.Any())
		}
	}
}

func testRoundTrip(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	evs := genEvents(3, "RoundTrip", 200, true)
	// Awkward names and values round-trip unchanged.
	evs[0].Set(`we"ird'; DROP TABLE x; --`, event.String("v'\"\\\n\t"))
	evs[0].Set("ünï😀", event.Float(-0.0001))
	evs[0].Set("big", event.Int(math.MaxInt64))
	evs[1].Set("big", event.Int(math.MinInt64))
	evs[1].Set("empty", event.String(""))
	write(t, s, 1, evs)
	t0 := base()
	r := execute(t, s, 1, &query.Plan{Datasets: []string{"roundtrip"}, Start: t0, End: t0.Add(time.Hour)})
	if len(r.Events) != len(evs) {
		t.Fatalf("got %d raw events, want %d", len(r.Events), len(evs))
	}
	want := append([]event.Event(nil), evs...)
	sort.SliceStable(want, func(i, j int) bool { return want[i].Time.After(want[j].Time) })
	for i := range r.Events {
		if i > 0 && r.Events[i].Time.After(r.Events[i-1].Time) {
			t.Fatalf("raw events not newest first at %d", i)
		}
	}
	// Equal times may come in any order: match by time and trace id.
	byKey := map[string]event.Event{}
	for _, e := range evs {
		id, _ := e.Get("trace.trace_id")
		byKey[fmt.Sprint(e.Time.UnixNano(), id.Str(), len(e.Fields), e.SampleRate)] = e
	}
	for _, g := range r.Events {
		var id string
		for _, f := range g.Fields {
			if f.Key == "trace.trace_id" {
				id = f.Value.Str()
			}
		}
		w, ok := byKey[fmt.Sprint(g.Time.UnixNano(), id, len(g.Fields), g.SampleRate)]
		if !ok {
			t.Fatalf("raw event %v not written", g)
		}
		checkRaw(t, g, w, "RoundTrip")
	}
	// Limit.
	r = execute(t, s, 1, &query.Plan{Datasets: []string{"roundtrip"}, Start: t0, End: t0.Add(time.Hour), Limit: 7})
	if len(r.Events) != 7 || !r.Events[0].Time.Equal(want[0].Time) {
		t.Fatalf("raw limit 7: got %d events", len(r.Events))
	}
	// Filters apply to raw events.
	r = execute(t, s, 1, &query.Plan{Datasets: []string{"roundtrip"}, Start: t0, End: t0.Add(time.Hour),
		Filters: []query.Filter{{Column: `we"ird'; DROP TABLE x; --`, Op: query.OpEq, Value: event.String("v'\"\\\n\t")}}})
	if len(r.Events) != 1 {
		t.Fatalf("raw with filter: got %d events, want 1", len(r.Events))
	}
}

func testTypeMixing(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	t0 := base()
	mk := func(i int, v event.Value) event.Event {
		return event.Event{Time: t0.Add(time.Duration(i) * time.Second), Dataset: "mix", SampleRate: 1,
			Fields: []event.Field{{Key: "m", Value: v}, {Key: "n", Value: event.Int(int64(i))}}}
	}
	evs := []event.Event{mk(0, event.Int(10)), mk(1, event.Float(2.5))}
	write(t, s, 1, evs)
	colType := func(name string) event.Type {
		cols, err := s.Columns(context.Background(), 1, "mix")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			if c.Name == name {
				return c.Type
			}
		}
		t.Fatalf("no column %q", name)
		return 0
	}
	if got := colType("m"); got != event.TypeFloat {
		t.Fatalf("int then float: type %v, want float", got)
	}
	more := []event.Event{mk(2, event.String("abc")), mk(3, event.Bool(true)), mk(4, event.Int(7))}
	write(t, s, 1, more)
	evs = append(evs, more...)
	if got := colType("m"); got != event.TypeString {
		t.Fatalf("after a string: type %v, want string", got)
	}
	if got := colType("n"); got != event.TypeInt {
		t.Fatalf("n: type %v, want integer", got)
	}
	// Every value is kept with its own type.
	r := execute(t, s, 1, &query.Plan{Datasets: []string{"mix"}, Start: t0, End: t0.Add(time.Hour)})
	if len(r.Events) != len(evs) {
		t.Fatalf("got %d events", len(r.Events))
	}
	for i, g := range r.Events {
		checkRaw(t, g, evs[len(evs)-1-i], "mix")
	}
	// Numeric aggregates read the numbers; string operations see text.
	p := &query.Plan{Datasets: []string{"mix"}, Start: t0, End: t0.Add(time.Hour), Aggregates: []query.Aggregate{
		{Op: query.AggSum, Column: "m"}, {Op: query.AggMax, Column: "m"}, {Op: query.AggCount}}}
	r = execute(t, s, 1, p)
	if v := r.Groups[0].Values; v[0].Number != 19.5 || v[1].Number != 10 || v[2].Number != 5 {
		t.Fatalf("sum/max/count over mixed column: %+v", v)
	}
	for _, c := range []struct {
		f    query.Filter
		want float64
	}{
		{query.Filter{Column: "m", Op: query.OpStartsWith, Value: event.String("ab")}, 1},
		{query.Filter{Column: "m", Op: query.OpEq, Value: event.String("true")}, 1},
		{query.Filter{Column: "m", Op: query.OpEq, Value: event.String("10")}, 1},
		{query.Filter{Column: "m", Op: query.OpGe, Value: event.Int(7)}, 2},
		{query.Filter{Column: "m", Op: query.OpNe, Value: event.Int(7)}, 4},
		{query.Filter{Column: "m", Op: query.OpEq, Value: event.Bool(true)}, 1},
		{query.Filter{Column: "m", Op: query.OpExists}, 5},
	} {
		p := &query.Plan{Datasets: []string{"mix"}, Start: t0, End: t0.Add(time.Hour),
			Aggregates: []query.Aggregate{{Op: query.AggCount}}, Filters: []query.Filter{c.f}}
		if got := execute(t, s, 1, p).Groups[0].Values[0].Number; got != c.want {
			t.Errorf("filter %+v: count %v, want %v", c.f, got, c.want)
		}
	}
	// A breakdown over a mixed column groups by text.
	p = &query.Plan{Datasets: []string{"mix"}, Start: t0, End: t0.Add(time.Hour),
		Aggregates: []query.Aggregate{{Op: query.AggCount}}, Breakdowns: []string{"m"}}
	if r := execute(t, s, 1, p); len(r.Groups) != 5 || r.Groups[0].Key[0].Type() != event.TypeString {
		t.Fatalf("breakdown over mixed column: %+v", r.Groups)
	}
}

func testSeries(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	_, b := fixture(t, s, 1)
	t0 := base()
	p := &query.Plan{Datasets: []string{"svc-b"}, Start: t0, End: t0.Add(time.Hour), Granularity: 7 * time.Minute,
		Aggregates: []query.Aggregate{{Op: query.AggCount}, {Op: query.AggPercentile, Column: "duration_ms", P: 0.9}},
		Breakdowns: []string{"name"}, Limit: 3}
	r := execute(t, s, 1, p)
	if len(r.Groups) != 3 {
		t.Fatalf("got %d groups", len(r.Groups))
	}
	top := map[string]bool{}
	for _, g := range r.Groups {
		top[keyString(g.Key)] = true
	}
	// Reference buckets: aligned to multiples of the granularity since the
	// epoch, only for the top groups.
	type bk struct {
		t time.Time
		k string
	}
	buckets := map[bk][]*event.Event{}
	for i := range b {
		e := &b[i]
		name, _ := e.Get("name")
		k := keyString([]event.Value{name})
		if !top[k] {
			continue
		}
		bt := time.Unix(0, e.Time.UnixNano()-e.Time.UnixNano()%int64(p.Granularity)).UTC()
		buckets[bk{bt, k}] = append(buckets[bk{bt, k}], e)
	}
	if len(r.Series) != len(buckets) {
		t.Fatalf("got %d series points, want %d", len(r.Series), len(buckets))
	}
	for i, pt := range r.Series {
		if i > 0 && pt.Time.Before(r.Series[i-1].Time) {
			t.Fatalf("series not in time order")
		}
		evs := buckets[bk{pt.Time, keyString(pt.Key)}]
		if evs == nil {
			t.Fatalf("unexpected point %v %v", pt.Time, pt.Key)
		}
		for j, a := range p.Aggregates {
			w := refAgg(evs, a, false)
			if pt.Values[j].Null != w.Null || !closeEnough(pt.Values[j].Number, w.Number) {
				t.Errorf("point %v %v aggregate %d: got %+v want %+v", pt.Time, pt.Key, j, pt.Values[j], w)
			}
		}
	}
}

func testHeatmap(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	a, _ := fixture(t, s, 1)
	t0 := base()
	p := &query.Plan{Datasets: []string{"svc-a"}, Start: t0, End: t0.Add(time.Hour), Granularity: 15 * time.Minute,
		Aggregates: []query.Aggregate{{Op: query.AggHeatmap, Column: "duration_ms"}, {Op: query.AggCount}},
		Breakdowns: []string{"name"}, HeatmapBuckets: 10}
	r := execute(t, s, 1, p)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, e := range a {
		v, _ := e.Get("duration_ms")
		lo, hi = math.Min(lo, v.Float()), math.Max(hi, v.Float())
	}
	for _, g := range r.Groups {
		h := g.Values[0].Heatmap
		if h == nil || h.Min != lo || h.Max != hi || len(h.Counts) != 10 {
			t.Fatalf("group %v heatmap %+v, want bounds %v..%v and 10 buckets", g.Key, h, lo, hi)
		}
		want := make([]float64, 10)
		for _, e := range a {
			if n, _ := e.Get("name"); n.Str() != g.Key[0].Str() {
				continue
			}
			v, _ := e.Get("duration_ms")
			i := int(math.Floor((v.Float() - lo) / ((hi - lo) / 10)))
			want[min(max(i, 0), 9)]++
		}
		for i := range want {
			if h.Counts[i] != want[i] {
				t.Fatalf("group %v heatmap counts %v, want %v", g.Key, h.Counts, want)
			}
		}
	}
	total := 0.0
	for _, pt := range r.Series {
		if pt.Values[0].Heatmap == nil {
			t.Fatalf("series point without heatmap")
		}
		for _, c := range pt.Values[0].Heatmap.Counts {
			total += c
		}
	}
	if total != float64(len(a)) {
		t.Fatalf("series heatmaps count %v events, want %d", total, len(a))
	}
}

func testConcurrency(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	t0 := base()
	span := func(startSec, durMs float64, sr int64, kind string) event.Event {
		return event.Event{Time: t0.Add(time.Duration(startSec * float64(time.Second))), Dataset: "spans", SampleRate: sr,
			Fields: []event.Field{{Key: "duration_ms", Value: event.Float(durMs)}, {Key: "kind", Value: event.String(kind)}}}
	}
	write(t, s, 1, []event.Event{
		span(0, 25000, 1, "a"), // buckets 0,10,20
		span(5, 10000, 2, "a"), // buckets 0,10
		span(12, 1000, 1, "a"), // bucket 10
		span(30, 0, 1, "a"),    // bucket 30 (instant)
		span(31, 5000, 1, "b"), // bucket 30
		{Time: t0.Add(40 * time.Second), Dataset: "spans", SampleRate: 1}, // no duration: not counted
	})
	p := &query.Plan{Datasets: []string{"spans"}, Start: t0, End: t0.Add(time.Minute), Granularity: 10 * time.Second,
		Aggregates: []query.Aggregate{{Op: query.AggConcurrency}, {Op: query.AggCount}}}
	r := execute(t, s, 1, p)
	// Per bucket: 0s: 1+2 = 3, 10s: 1+2+1 = 4, 20s: 1, 30s: 2 (weighted).
	if got := r.Groups[0].Values[0].Number; got != 4 {
		t.Fatalf("concurrency of the whole range: %v, want 4 (max over buckets)", got)
	}
	// Bucket 20s has a span in progress but none starting: it is in the
	// series all the same, with a count of 0.
	want := map[int][2]float64{0: {3, 3}, 10: {4, 1}, 20: {1, 0}, 30: {2, 2}, 40: {0, 1}}
	if len(r.Series) != len(want) {
		t.Errorf("concurrency series has %d points, want %d: %+v", len(r.Series), len(want), r.Series)
	}
	for _, pt := range r.Series {
		sec := int(pt.Time.Sub(t0) / time.Second)
		if w, ok := want[sec]; !ok || pt.Values[0].Number != w[0] || pt.Values[1].Number != w[1] || pt.Values[1].Null {
			t.Errorf("concurrency, count at +%ds: %v, %+v, want %v", sec, pt.Values[0].Number, pt.Values[1], want[sec])
		}
	}
	// The same with a breakdown: each group gets its own in-progress buckets.
	p.Breakdowns = []string{"kind"}
	r = execute(t, s, 1, p)
	wantKind := map[string]map[int]float64{"a": {0: 3, 10: 4, 20: 1, 30: 1}, "b": {30: 1}}
	n := 0
	for _, pt := range r.Series {
		sec := int(pt.Time.Sub(t0) / time.Second)
		k := ""
		if !pt.Key[0].IsNull() {
			k = pt.Key[0].Str()
		}
		w, ok := wantKind[k][sec]
		if k == "" && sec == 40 {
			ok, w = true, 0 // the span without a kind nor a duration
		} else {
			n++
		}
		if !ok || pt.Values[0].Number != w {
			t.Errorf("concurrency of kind %q at +%ds: %v, want %v", k, sec, pt.Values[0].Number, w)
		}
	}
	if n != 5 {
		t.Errorf("concurrency by kind: %d points with a kind, want 5: %+v", n, r.Series)
	}
	p.Breakdowns = []string{"kind"}
	p.Granularity = 0
	p.End = t0.Add(100 * time.Second) // default buckets: 1 s
	r = execute(t, s, 1, p)
	for _, g := range r.Groups {
		w := map[string]float64{"a": 4, "b": 1}[g.Key[0].Str()]
		if g.Values[0].Number != w {
			t.Errorf("concurrency of kind %v: %v, want %v", g.Key[0].Str(), g.Values[0].Number, w)
		}
	}
}

func testTrace(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	t0 := base()
	id := "0af7651916cd43dd8448eb211c80319c"
	ev := func(ds string, sec int, tid string) event.Event {
		return event.Event{Time: t0.Add(time.Duration(sec) * time.Second), Dataset: ds, SampleRate: 1,
			Fields: []event.Field{{Key: "trace.trace_id", Value: event.String(tid)}, {Key: "sec", Value: event.Int(int64(sec))}}}
	}
	write(t, s, 1, []event.Event{ev("frontend", 5, id), ev("frontend", 1, id), ev("backend", 3, "other")})
	write(t, s, 1, []event.Event{ev("backend", 2, id), ev("db", 4, id)})
	// Another day, and another environment with the same trace id.
	write(t, s, 1, []event.Event{{Time: t0.Add(-25 * time.Hour), Dataset: "db", SampleRate: 1,
		Fields: []event.Field{{Key: "trace.trace_id", Value: event.String(id)}, {Key: "sec", Value: event.Int(-1)}}}})
	write(t, s, 2, []event.Event{ev("frontend", 6, id)})
	got, err := s.Trace(context.Background(), 1, id)
	if err != nil {
		t.Fatal(err)
	}
	var secs []int64
	var dss []string
	for _, e := range got {
		for _, f := range e.Fields {
			if f.Key == "sec" {
				secs = append(secs, f.Value.Int())
			}
		}
		dss = append(dss, e.Dataset)
	}
	if fmt.Sprint(secs) != "[-1 1 2 4 5]" || fmt.Sprint(dss) != "[db frontend backend db frontend]" {
		t.Fatalf("trace: secs %v datasets %v", secs, dss)
	}
	if got, err := s.Trace(context.Background(), 1, "nope"); err != nil || len(got) != 0 {
		t.Fatalf("unknown trace: %v %v", got, err)
	}
}

func testEnvironments(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	t0 := base()
	write(t, s, 1, []event.Event{{Time: t0, Dataset: "shared", SampleRate: 1, Fields: []event.Field{{Key: "a", Value: event.Int(1)}}}})
	write(t, s, 2, []event.Event{{Time: t0, Dataset: "Shared", SampleRate: 1, Fields: []event.Field{{Key: "b", Value: event.Int(2)}}},
		{Time: t0, Dataset: "only-b", SampleRate: 1, Fields: []event.Field{{Key: "b", Value: event.Int(3)}}}})
	ctx := context.Background()
	ds, _ := s.Datasets(ctx, 1)
	if len(ds) != 1 || ds[0].Name != "shared" {
		t.Fatalf("env 1 datasets: %+v", ds)
	}
	if _, err := s.Dataset(ctx, 1, "only-b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("env 1 sees env 2's dataset: %v", err)
	}
	cols, _ := s.Columns(ctx, 1, "shared")
	if len(cols) != 1 || cols[0].Name != "a" {
		t.Fatalf("env 1 columns: %+v", cols)
	}
	r := execute(t, s, 1, &query.Plan{Start: t0, End: t0.Add(time.Hour), Aggregates: []query.Aggregate{{Op: query.AggCount}}})
	if r.Groups[0].Values[0].Number != 1 {
		t.Fatalf("env 1 counts %v events", r.Groups[0].Values[0].Number)
	}
	if _, err := s.Execute(ctx, 1, &query.Plan{Datasets: []string{"only-b"}, Start: t0, End: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("env 1 queries env 2's dataset: %v", err)
	}
	r = execute(t, s, 2, &query.Plan{Start: t0, End: t0.Add(time.Hour)})
	if len(r.Events) != 2 {
		t.Fatalf("env 2 raw events: %d", len(r.Events))
	}
	if err := s.DeleteDataset(ctx, 2, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dataset(ctx, 1, "shared"); err != nil {
		t.Fatalf("deleting env 2's dataset removed env 1's: %v", err)
	}
}

func testRetention(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := context.Background()
	now := time.Now().UTC()
	if _, _, err := s.CreateDataset(ctx, 1, store.DatasetInfo{Name: "short", Retention: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	for _, age := range []time.Duration{0, 24 * time.Hour, 5 * 24 * time.Hour, 30 * 24 * time.Hour, 70 * 24 * time.Hour} {
		for _, ds := range []string{"short", "long"} {
			evs = append(evs, event.Event{Time: now.Add(-age), Dataset: ds, SampleRate: 1,
				Fields: []event.Field{{Key: "age_days", Value: event.Int(int64(age / (24 * time.Hour)))}}})
		}
	}
	write(t, s, 1, evs)
	if err := s.EnforceRetention(ctx, now); err != nil {
		t.Fatal(err)
	}
	ages := func(ds string) []int64 {
		r := execute(t, s, 1, &query.Plan{Datasets: []string{ds}, Start: now.Add(-100 * 24 * time.Hour), End: now.Add(time.Hour)})
		var out []int64
		for _, e := range r.Events {
			out = append(out, e.Fields[0].Value.Int())
		}
		return out
	}
	// Retention works by whole UTC days: an event is deleted once its day
	// ended more than the window ago.
	if got := fmt.Sprint(ages("short")); got != "[0 1]" {
		t.Errorf("short retention keeps ages %s, want [0 1]", got)
	}
	if got := fmt.Sprint(ages("long")); got != "[0 1 5 30]" {
		t.Errorf("default retention keeps ages %s, want [0 1 5 30]", got)
	}
}

func testMetadata(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := context.Background()
	d, created, err := s.CreateDataset(ctx, 1, store.DatasetInfo{Name: "My Dataset!", Description: "desc"})
	if err != nil || !created || d.Slug != "my-dataset-" || d.Name != "My Dataset!" || d.Retention != store.DefaultRetention || d.CreatedAt.IsZero() || !d.LastWrittenAt.IsZero() {
		t.Fatalf("create: %+v %v %v", d, created, err)
	}
	if _, created, _ := s.CreateDataset(ctx, 1, store.DatasetInfo{Name: "MY DATASET!"}); created {
		t.Fatalf("created twice")
	}
	t0 := base()
	write(t, s, 1, []event.Event{{Time: t0, Dataset: "my dataset!", SampleRate: 1, Fields: []event.Field{
		{Key: "b", Value: event.Int(1)}, {Key: "a", Value: event.String("x")}}}})
	// The first event fixes the name of a dataset it creates.
	write(t, s, 1, []event.Event{{Time: t0, Dataset: "Second", SampleRate: 1}, {Time: t0, Dataset: "SECOND", SampleRate: 1}})
	d, err = s.Dataset(ctx, 1, "second")
	if err != nil || d.Name != "Second" || d.LastWrittenAt.IsZero() {
		t.Fatalf("second: %+v %v", d, err)
	}
	d, _ = s.Dataset(ctx, 1, "my-dataset-")
	if d.Columns != 2 || d.LastWrittenAt.IsZero() {
		t.Fatalf("after write: %+v", d)
	}
	cols, err := s.Columns(ctx, 1, "My Dataset!")
	if err != nil || len(cols) != 2 || cols[0].Name != "a" || cols[0].Type != event.TypeString || cols[1].Type != event.TypeInt ||
		cols[0].ID == "" || cols[0].ID == cols[1].ID || cols[0].CreatedAt.IsZero() || cols[0].LastWritten.IsZero() {
		t.Fatalf("columns: %+v %v", cols, err)
	}
	desc, hidden := "the a", true
	c, err := s.UpdateColumn(ctx, 1, "my-dataset-", "a", store.ColumnUpdate{Description: &desc, Hidden: &hidden})
	if err != nil || c.Description != desc || !c.Hidden || c.ID != cols[0].ID {
		t.Fatalf("update column: %+v %v", c, err)
	}
	if _, err := s.UpdateColumn(ctx, 1, "my-dataset-", "zz", store.ColumnUpdate{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing column: %v", err)
	}
	d, err = s.UpdateDataset(ctx, 1, "my-dataset-", store.DatasetInfo{Description: "new", Retention: 72 * time.Hour})
	if err != nil || d.Description != "new" || d.Retention != 72*time.Hour {
		t.Fatalf("update dataset: %+v %v", d, err)
	}
	ds, _ := s.Datasets(ctx, 1)
	if len(ds) != 2 || ds[0].Slug != "my-dataset-" || ds[1].Slug != "second" {
		t.Fatalf("datasets: %+v", ds)
	}
	if err := s.DeleteDataset(ctx, 1, "my-dataset-"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dataset(ctx, 1, "my-dataset-"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted dataset: %v", err)
	}
	if _, err := s.Columns(ctx, 1, "my-dataset-"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("columns of deleted dataset: %v", err)
	}
	// Recreated, it starts empty.
	write(t, s, 1, []event.Event{{Time: t0, Dataset: "My Dataset!", SampleRate: 1, Fields: []event.Field{{Key: "c", Value: event.Bool(true)}}}})
	r := execute(t, s, 1, &query.Plan{Datasets: []string{"my-dataset-"}, Start: t0, End: t0.Add(time.Hour)})
	if len(r.Events) != 1 || len(r.Events[0].Fields) != 1 {
		t.Fatalf("recreated dataset: %+v", r.Events)
	}
}

func testEmpty(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	t0 := base()
	if _, err := s.Execute(context.Background(), 1, &query.Plan{Datasets: []string{"nope"}, Start: t0, End: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown dataset: %v", err)
	}
	// No datasets at all: one group, COUNT 0, others null.
	r := execute(t, s, 1, &query.Plan{Start: t0, End: t0.Add(time.Hour), Aggregates: allAggs(), Granularity: time.Minute})
	if len(r.Groups) != 1 || r.Groups[0].Values[0].Number != 0 || r.Groups[0].Values[0].Null || !r.Groups[0].Values[1].Null || len(r.Series) != 0 {
		t.Fatalf("empty: %+v", r)
	}
	write(t, s, 1, genEvents(4, "x", 10, false))
	// A range without events.
	r = execute(t, s, 1, &query.Plan{Start: t0.Add(-time.Hour), End: t0, Aggregates: allAggs(), Breakdowns: []string{"name"}})
	if len(r.Groups) != 0 {
		t.Fatalf("breakdown over no events: %+v", r.Groups)
	}
}
