package duckdb

import (
	"context"
	"testing"

	"github.com/waggle-hq/waggle/internal/query"

	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/storetest"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(Options{Dir: t.TempDir(), MemoryLimit: 1 << 30, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) store.Store { return openTest(t) })
}

// countEvents counts a dataset's events over all time.
func (s *Store) countEvents(ctx context.Context, ds string) (int, error) {
	r, err := s.Execute(ctx, 1, &query.Plan{Datasets: []string{ds}, Start: minTime, End: maxTime,
		Aggregates: []query.Aggregate{{Op: query.AggCount}}})
	if err != nil {
		return 0, err
	}
	return int(r.Groups[0].Values[0].Number), nil
}
