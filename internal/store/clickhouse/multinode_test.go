package clickhouse

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/clickhouse/chtest"
)

// openNodes opens n stores on one database, as n waggle nodes do. The
// background refresh is slowed down so that the test sees what the
// read-time checks alone make visible.
func openNodes(t *testing.T, n int) []*Store {
	t.Helper()
	srv := chtest.Shared(t)
	db := srv.NewDatabase()
	var out []*Store
	for range n {
		opts, err := ParseDSN(srv.DSN(db, ""))
		if err != nil {
			t.Fatal(err)
		}
		opts.RefreshInterval = time.Hour
		s, err := Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}

func count(t *testing.T, s store.Store, ds string, t0 time.Time, fs ...query.Filter) float64 {
	t.Helper()
	r, err := s.Execute(context.Background(), 1, &query.Plan{Datasets: []string{ds}, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour),
		Aggregates: []query.Aggregate{{Op: query.AggCount}}, Filters: fs})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Groups) == 0 {
		return 0
	}
	return r.Groups[0].Values[0].Number
}

func colOf(t *testing.T, s store.Store, ds, name string) (store.Column, bool) {
	t.Helper()
	cols, err := s.Columns(context.Background(), 1, ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		if c.Name == name {
			return c, true
		}
	}
	return store.Column{}, false
}

// TestNodesShareCatalog runs two stores on one database: what one creates
// or writes, the other reads at once; concurrent creation of the same
// dataset and column agrees on ids; deletions and retention stay safe.
func TestNodesShareCatalog(t *testing.T) {
	nodes := openNodes(t, 2)
	a, b := nodes[0], nodes[1]
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	ev := func(i int, kv ...any) event.Event {
		e := event.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Dataset: "shared", SampleRate: 1}
		for j := 0; j < len(kv); j += 2 {
			e.Set(kv[j].(string), kv[j+1].(event.Value))
		}
		return e
	}

	// A creates the dataset and a column; B queries both at once.
	if err := a.Write(ctx, event.Batch{Env: 1, Events: []event.Event{ev(0, "from", event.String("a"), "n", event.Int(1))}}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, b, "shared", t0, query.Filter{Column: "from", Op: query.OpEq, Value: event.String("a")}); n != 1 {
		t.Fatalf("B counts %v events A wrote, want 1", n)
	}

	// Both write the same new column concurrently with different types, and
	// the same new dataset: one id each, both types kept.
	var wg sync.WaitGroup
	for i, s := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := event.Value(event.Int(int64(i)))
			if i == 1 {
				v = event.Float(1.5)
			}
			evs := []event.Event{ev(10+i, "num", v), ev(20+i, "num", v)}
			evs[1].Dataset = "raced"
			if err := s.Write(ctx, event.Batch{Env: 1, Events: evs}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, s := range nodes {
		c, ok := colOf(t, s, "shared", "num")
		if !ok || c.Type != event.TypeFloat {
			t.Fatalf("column num: %+v %v; want float on every node", c, ok)
		}
		if n := count(t, s, "raced", t0); n != 2 {
			t.Fatalf("dataset created by both nodes: %v events, want 2", n)
		}
		r, err := s.Execute(ctx, 1, &query.Plan{Datasets: []string{"shared"}, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour),
			Aggregates: []query.Aggregate{{Op: query.AggSum, Column: "num"}}})
		if err != nil || r.Groups[0].Values[0].Number != 1.5 {
			t.Fatalf("sum of num over both nodes' writes: %+v %v; want 1.5", r, err)
		}
	}
	ds, err := a.Datasets(ctx, 1)
	if err != nil || len(ds) != 2 {
		t.Fatalf("datasets: %+v %v", ds, err)
	}

	// A column B creates ahead of events and describes is A's at once.
	desc := "set through B"
	if _, _, err := b.CreateColumn(ctx, 1, "shared", store.ColumnSpec{Name: "planned", Type: event.TypeInt}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.UpdateColumn(ctx, 1, "shared", "from", store.ColumnUpdate{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	if c, ok := colOf(t, a, "shared", "from"); !ok || c.Description != desc {
		t.Fatalf("A sees column from as %+v", c)
	}
	if c, ok := colOf(t, a, "shared", "planned"); !ok || c.Type != event.TypeInt {
		t.Fatalf("A sees column planned as %+v %v", c, ok)
	}
	// A's last-written flush does not undo B's description.
	a.writeMu.Lock()
	a.dirtyCols[mustCol(t, a, "shared", "from").id] = time.Now().UnixNano()
	if err := a.flushMeta(ctx); err != nil {
		t.Fatal(err)
	}
	a.writeMu.Unlock()
	if c, _ := colOf(t, b, "shared", "from"); c.Description != desc || c.LastWritten.IsZero() {
		t.Fatalf("after A's flush B sees %+v", c)
	}

	// A deletes a column; B, writing it afresh, starts a new one without
	// the old values, and A agrees.
	if err := a.DeleteColumn(ctx, 1, "shared", "n"); err != nil {
		t.Fatal(err)
	}
	if _, ok := colOf(t, b, "shared", "n"); ok {
		t.Fatal("B still lists the column A deleted")
	}
	if err := b.Write(ctx, event.Batch{Env: 1, Events: []event.Event{ev(30, "n", event.Int(7))}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range nodes {
		if n := count(t, s, "shared", t0, query.Filter{Column: "n", Op: query.OpExists}); n != 1 {
			t.Fatalf("column n after delete and rewrite: %v events have it, want 1", n)
		}
	}
	if mustCol(t, a, "shared", "n").id == mustCol(t, b, "shared", "n").id && mustCol(t, a, "shared", "n").id != 0 {
		// same id on both nodes: expected
	} else {
		t.Fatal("nodes disagree on the new column's id")
	}

	// B enforces retention while A creates a dataset B has not read yet:
	// nothing of A's is dropped.
	if err := a.Write(ctx, event.Batch{Env: 1, Events: []event.Event{{Time: t0, Dataset: "fresh", Fields: []event.Field{{Key: "x", Value: event.Int(1)}}}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.EnforceRetention(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, a, "fresh", t0); n != 1 {
		t.Fatalf("after B's retention A counts %v events in its new dataset", n)
	}

	// A deletes a dataset: B no longer lists it, and a dataset of that name
	// created again through B is empty.
	if err := a.DeleteDataset(ctx, 1, "raced"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Dataset(ctx, 1, "raced"); err == nil {
		t.Fatal("B still finds the dataset A deleted")
	}
	if _, _, err := b.CreateDataset(ctx, 1, store.DatasetInfo{Name: "raced"}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, a, "raced", t0); n != 0 {
		t.Fatalf("re-created dataset holds %v events of the deleted one", n)
	}

	if c, ok := colOf(t, b, "shared", "num"); !ok || c.Type != event.TypeFloat {
		t.Fatalf("B lost column num: %+v", c)
	}
}

func mustCol(t *testing.T, s *Store, ds, name string) *column {
	t.Helper()
	if err := s.fresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.lookup(1, ds)
	if err != nil {
		t.Fatal(err)
	}
	c := d.cols[name]
	if c == nil {
		t.Fatalf("no column %q", name)
	}
	return c
}

// TestNodesConcurrentWrites has two stores write many batches with new
// columns into the same datasets at once: every event is counted once and
// every column has one id on both nodes.
func TestNodesConcurrentWrites(t *testing.T) {
	nodes := openNodes(t, 2)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-5 * time.Minute)
	const batches, per = 20, 50
	var wg sync.WaitGroup
	for n, s := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				evs := make([]event.Event, per)
				for j := range evs {
					evs[j] = event.Event{Time: t0.Add(time.Duration(i*per+j) * time.Millisecond), Dataset: fmt.Sprintf("ds%d", j%3), SampleRate: 1}
					evs[j].Set(fmt.Sprintf("col%d", (i+j)%15), event.Int(int64(n)))
					evs[j].Set("node", event.Int(int64(n)))
				}
				if err := s.Write(ctx, event.Batch{Env: 1, Events: evs}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0.0
	for i := range 3 {
		a, b := count(t, nodes[0], fmt.Sprintf("ds%d", i), t0), count(t, nodes[1], fmt.Sprintf("ds%d", i), t0)
		if a != b {
			t.Fatalf("ds%d: node A counts %v, node B %v", i, a, b)
		}
		total += a
	}
	if total != 2*batches*per {
		t.Fatalf("counted %v events, want %d", total, 2*batches*per)
	}
	for i := range 3 {
		ca, cb := brief(t, nodes[0], fmt.Sprintf("ds%d", i)), brief(t, nodes[1], fmt.Sprintf("ds%d", i))
		if ca != cb || len(ca) < 16*10 {
			t.Fatalf("ds%d columns differ or are missing:\n%v\n%v", i, ca, cb)
		}
	}
}

// brief lists a dataset's columns as name, id and type.
func brief(t *testing.T, s store.Store, ds string) string {
	cols, err := s.Columns(context.Background(), 1, ds)
	if err != nil {
		t.Fatal(err)
	}
	out := ""
	for _, c := range cols {
		out += fmt.Sprintf("%s/%s/%v ", c.Name, c.ID, c.Type)
	}
	return out
}
