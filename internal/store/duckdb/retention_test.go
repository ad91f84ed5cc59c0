package duckdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
)

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// TestRetentionFreesDisk shows that expired events give their bytes back to
// the file system: whole day files are deleted, and day files that keep
// some datasets are compacted.
func TestRetentionFreesDisk(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	if _, _, err := s.CreateDataset(ctx, 1, store.DatasetInfo{Name: "short", Retention: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	batch := func(ds string, at time.Time, n int) []event.Event {
		evs := make([]event.Event, n)
		for i := range evs {
			evs[i] = event.Event{Time: at.Add(time.Duration(i) * time.Millisecond), Dataset: ds, SampleRate: 1,
				Fields: []event.Field{{Key: "payload", Value: event.String(fmt.Sprintf("%d-%x-%x", i, i*7919, i*104729))}, {Key: "n", Value: event.Int(int64(i))}}}
		}
		return evs
	}
	old := now.Add(-90 * 24 * time.Hour) // past every window: the file goes
	mid := now.Add(-3 * 24 * time.Hour)  // past "short" only: compacted
	for _, b := range [][]event.Event{batch("long", old, 200000), batch("short", mid, 200000), batch("long", mid, 1000), batch("long", now, 1000)} {
		if err := s.Write(ctx, event.Batch{Env: 1, Events: b}); err != nil {
			t.Fatal(err)
		}
	}
	// Checkpoint so that sizes are file sizes, not write-ahead logs.
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT "+quote("p"+dayName(dayOf(old.UnixNano())))+"; CHECKPOINT "+quote("p"+dayName(dayOf(mid.UnixNano())))); err != nil {
		t.Fatal(err)
	}
	oldPath := s.dayPath(dayOf(old.UnixNano()))
	midPath := s.dayPath(dayOf(mid.UnixNano()))
	midBefore := fileSize(t, midPath)
	before := dirSize(t, dir)
	if err := s.EnforceRetention(ctx, now); err != nil {
		t.Fatal(err)
	}
	after := dirSize(t, dir)
	if _, err := os.Stat(oldPath); !os.IsNotExist(err) {
		t.Fatalf("expired day file still there: %v", err)
	}
	midAfter := fileSize(t, midPath)
	t.Logf("data directory %d → %d bytes; partly expired day file %d → %d bytes", before, after, midBefore, midAfter)
	if midAfter >= midBefore/2 {
		t.Fatalf("compaction did not free the expired dataset's bytes: %d → %d", midBefore, midAfter)
	}
	if after >= before/3 {
		t.Fatalf("retention freed too little: %d → %d", before, after)
	}
	// What is kept is intact.
	for _, c := range []struct {
		ds   string
		want int
	}{{"long", 2000}, {"short", 0}} {
		n, err := s.countEvents(ctx, c.ds)
		if err != nil || n != c.want {
			t.Fatalf("%s keeps %d events (%v), want %d", c.ds, n, err, c.want)
		}
	}
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
