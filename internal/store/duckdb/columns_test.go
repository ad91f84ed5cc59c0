package duckdb

import (
	"context"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
)

// TestColumnsReopen checks that created and deleted columns survive a
// restart, and that a deleted column's values do not come back under a
// reused id.
func TestColumnsReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ev := func(fs ...event.Field) event.Event {
		return event.Event{Time: now, Dataset: "d", SampleRate: 1, Fields: fs}
	}
	write := func(fs ...event.Field) {
		t.Helper()
		if err := s.Write(ctx, event.Batch{Env: 1, Events: []event.Event{ev(fs...)}}); err != nil {
			t.Fatal(err)
		}
	}
	write(event.Field{Key: "a", Value: event.Int(1)})
	if _, _, err := s.CreateColumn(ctx, 1, "d", store.ColumnSpec{Name: "kept", Type: event.TypeFloat, Description: "k", Hidden: true}); err != nil {
		t.Fatal(err)
	}
	// z gets the highest id: after a restart, the next new column reuses it.
	write(event.Field{Key: "a", Value: event.Int(2)}, event.Field{Key: "z", Value: event.String("gone")})
	cols, _ := s.Columns(ctx, 1, "d")
	zID := cols[2].ID
	if cols[2].Name != "z" {
		t.Fatalf("columns: %+v", cols)
	}
	if err := s.DeleteColumn(ctx, 1, "d", "z"); err != nil {
		t.Fatal(err)
	}
	// Compaction (by the retention pass) frees what the dropped column used.
	if err := s.EnforceRetention(ctx, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cols, _ = s.Columns(ctx, 1, "d")
	if len(cols) != 2 || cols[0].Name != "a" || cols[1].Name != "kept" || cols[1].Type != event.TypeFloat || cols[1].Description != "k" || !cols[1].Hidden {
		t.Fatalf("columns after reopen: %+v", cols)
	}
	write(event.Field{Key: "n", Value: event.String("new")})
	res, err := s.Execute(ctx, 1, &query.Plan{Datasets: []string{"d"}, Start: now.Add(-time.Hour), End: now.Add(time.Hour)})
	if err != nil || len(res.Events) != 3 {
		t.Fatalf("raw events: %+v %v", res, err)
	}
	news := 0
	for _, e := range res.Events {
		for _, f := range e.Fields {
			if f.Value.Type() == event.TypeString && f.Value.Str() == "gone" {
				t.Fatalf("deleted value came back: %+v", e)
			}
			if f.Key == "n" {
				news++
			}
		}
	}
	if news != 1 {
		t.Fatalf("%d events have n, want 1: %+v", news, res.Events)
	}
	// The deleted column's id is not given again.
	cols, _ = s.Columns(ctx, 1, "d")
	for _, c := range cols {
		if c.ID == zID {
			t.Fatalf("column %q got the deleted column's id %s", c.Name, zID)
		}
	}
}
