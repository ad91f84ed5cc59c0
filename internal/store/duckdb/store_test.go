package duckdb

import (
	"testing"

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
