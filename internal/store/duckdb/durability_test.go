package duckdb

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// copyDir copies every file of a data directory as it is on disk now: what a
// crash at this instant would leave.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.Create(out)
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		return o.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDurableWithoutCheckpoint copies the data directory right after Write
// returns, while the store is still open (nothing checkpointed, the events
// only in write-ahead logs), and opens the copy.
func TestDurableWithoutCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	var evs []event.Event
	for i := 0; i < 100; i++ {
		evs = append(evs, event.Event{Time: now.Add(-time.Duration(i) * time.Minute), Dataset: "d", SampleRate: 3,
			Fields: []event.Field{{Key: "i", Value: event.Int(int64(i))}, {Key: "trace.trace_id", Value: event.String("t1")}}})
	}
	ctx := context.Background()
	if err := s.Write(ctx, event.Batch{Env: 7, Events: evs}); err != nil {
		t.Fatal(err)
	}
	crash := t.TempDir()
	copyDir(t, dir, crash)
	if _, err := os.Stat(filepath.Join(crash, "parts", dayName(dayOf(now.UnixNano()))+".duckdb.wal")); err != nil {
		t.Fatalf("expected the events to be in a write-ahead log: %v", err)
	}
	r, err := Open(Options{Dir: crash})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.Execute(ctx, 7, &query.Plan{Start: now.Add(-2 * time.Hour), End: now.Add(time.Hour),
		Aggregates: []query.Aggregate{{Op: query.AggCount}, {Op: query.AggSum, Column: "i"}}})
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Groups[0].Values; v[0].Number != 300 || v[1].Number != 3*4950 {
		t.Fatalf("after crash: count %v sum %v, want 300 and %d", v[0].Number, v[1].Number, 3*4950)
	}
	tr, err := r.Trace(ctx, 7, "t1")
	if err != nil || len(tr) != 100 {
		t.Fatalf("trace after crash: %d events, %v", len(tr), err)
	}
	cols, err := r.Columns(ctx, 7, "d")
	if err != nil || len(cols) != 2 {
		t.Fatalf("columns after crash: %+v %v", cols, err)
	}
}

// TestReopen checks that metadata and statistics survive a clean close.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ctx := context.Background()
	err = s.Write(ctx, event.Batch{Env: 1, Events: []event.Event{
		{Time: now, Dataset: "D", SampleRate: 2, Fields: []event.Field{{Key: "x", Value: event.Int(1)}}},
		{Time: now, Dataset: "D", SampleRate: 1, Fields: []event.Field{{Key: "x", Value: event.String("a")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := s.Dataset(ctx, 1, "d")
	if err != nil || d.Name != "D" || d.LastWrittenAt.IsZero() || d.Columns != 1 {
		t.Fatalf("dataset after reopen: %+v %v", d, err)
	}
	cols, _ := s.Columns(ctx, 1, "d")
	if len(cols) != 1 || cols[0].Type != event.TypeString || cols[0].LastWritten.IsZero() {
		t.Fatalf("columns after reopen: %+v", cols)
	}
	res, err := s.Execute(ctx, 1, &query.Plan{Start: now.Add(-time.Hour), End: now.Add(time.Hour), Aggregates: []query.Aggregate{{Op: query.AggCount}}})
	if err != nil || res.Groups[0].Values[0].Number != 3 {
		t.Fatalf("weighted count after reopen: %+v %v", res, err)
	}
	// New writes after reopen get fresh column ids.
	if err := s.Write(ctx, event.Batch{Env: 1, Events: []event.Event{{Time: now, Dataset: "d", SampleRate: 1,
		Fields: []event.Field{{Key: "y", Value: event.Bool(true)}}}}}); err != nil {
		t.Fatal(err)
	}
	cols, _ = s.Columns(ctx, 1, "d")
	if len(cols) != 2 || cols[0].ID == cols[1].ID {
		t.Fatalf("columns: %+v", cols)
	}
}
