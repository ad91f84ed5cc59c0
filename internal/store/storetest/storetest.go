// Package storetest is the conformance suite every store.Store backend
// passes: a backend's test calls Run with a function opening a fresh, empty
// store. Expected aggregates are computed independently in Go from the
// events written (see reference.go), with the semantics package sqlgen
// documents.
package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
)

// Opener opens a fresh, empty store for one test; the store is closed by
// the suite.
type Opener func(t testing.TB) store.Store

// Run runs the conformance suite.
func Run(t *testing.T, open Opener) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open) })
	t.Run("TypeMixing", func(t *testing.T) { testTypeMixing(t, open) })
	t.Run("RawSparse", func(t *testing.T) { testRawSparse(t, open) })
	t.Run("Aggregates", func(t *testing.T) { testAggregates(t, open) })
	t.Run("AggregateFilters", func(t *testing.T) { testAggregateFilters(t, open) })
	t.Run("OrdersHavingsLimit", func(t *testing.T) { testOrders(t, open) })
	t.Run("HavingNoBreakdowns", func(t *testing.T) { testHavingNoBreakdowns(t, open) })
	t.Run("Series", func(t *testing.T) { testSeries(t, open) })
	t.Run("Heatmap", func(t *testing.T) { testHeatmap(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Trace", func(t *testing.T) { testTrace(t, open) })
	t.Run("Environments", func(t *testing.T) { testEnvironments(t, open) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, open) })
	t.Run("Metadata", func(t *testing.T) { testMetadata(t, open) })
	t.Run("Columns", func(t *testing.T) { testColumns(t, open) })
	t.Run("TooManyColumns", func(t *testing.T) { testTooManyColumns(t, open) })
	t.Run("EmptyAndUnknown", func(t *testing.T) { testEmpty(t, open) })
	t.Run("Derived", func(t *testing.T) { testDerived(t, open) }) // derived.go
}

// base is a fixed hour in the recent past, so that events are inside the
// default retention.
func base() time.Time {
	return time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
}

// mustOpen opens a store and closes it at the end of the test.
func mustOpen(t testing.TB, open Opener) store.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func write(t testing.TB, s store.Store, env event.EnvID, evs []event.Event) {
	t.Helper()
	// Copy: the store may repair fields in place.
	cp := make([]event.Event, len(evs))
	for i, e := range evs {
		cp[i] = e
		cp[i].Fields = append([]event.Field(nil), e.Fields...)
	}
	if err := s.Write(context.Background(), event.Batch{Env: env, Events: cp}); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func execute(t testing.TB, s store.Store, env event.EnvID, p *query.Plan) *query.Result {
	t.Helper()
	r, err := s.Execute(context.Background(), env, p)
	if err != nil {
		t.Fatalf("execute %+v: %v", p, err)
	}
	return r
}

// dataset generates n deterministic events of a service-like dataset.
// sampled makes sample rates vary from 1 to 5.
func genEvents(seed uint64, ds string, n int, sampled bool) []event.Event {
	r := rand.New(rand.NewPCG(seed, 42))
	names := []string{"GET /", "GET /users", "POST /login", "db.query", "cache.get"}
	t0 := base()
	evs := make([]event.Event, n)
	for i := range evs {
		e := event.Event{
			Time:       t0.Add(time.Duration(r.Int64N(int64(time.Hour)))).Truncate(time.Microsecond),
			Dataset:    ds,
			SampleRate: 1,
		}
		if sampled {
			e.SampleRate = 1 + r.Int64N(5)
		}
		e.Set("name", event.String(names[r.IntN(len(names))]))
		if r.IntN(10) < 8 {
			e.Set("status", event.Int([]int64{200, 200, 200, 404, 500}[r.IntN(5)]))
		}
		if r.IntN(4) == 0 {
			e.Set("duration_ms", event.Int(r.Int64N(1000)))
		} else {
			e.Set("duration_ms", event.Float(math.Round(r.ExpFloat64()*10000)/100))
		}
		if r.IntN(3) == 0 {
			e.Set("user", event.String(fmt.Sprintf("user-%03d", r.IntN(50))))
		}
		if r.IntN(2) == 0 {
			e.Set("cached", event.Bool(r.IntN(2) == 0))
		}
		e.Set("trace.trace_id", event.String(fmt.Sprintf("%032x", seed*1000+uint64(i/4))))
		if r.IntN(20) == 0 {
			e.Set(fmt.Sprintf("sparse.%d", r.IntN(30)), event.Int(int64(i)))
		}
		evs[i] = e
	}
	return evs
}
