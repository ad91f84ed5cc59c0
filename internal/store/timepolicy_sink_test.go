package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// policyStore records writes and answers dataset lookups from a map; every
// other Store method panics (the embedded nil interface).
type policyStore struct {
	Store
	retention map[string]time.Duration // by slug; absent: ErrNotFound
	failing   bool
	lookups   map[string]int
	writes    []event.Batch
}

func (s *policyStore) Write(_ context.Context, b event.Batch) error {
	s.writes = append(s.writes, b)
	return nil
}

func (s *policyStore) Dataset(_ context.Context, _ event.EnvID, name string) (Dataset, error) {
	slug, _ := event.Slug(name)
	s.lookups[slug]++
	if s.failing {
		return Dataset{}, errors.New("catalog unavailable")
	}
	r, ok := s.retention[slug]
	if !ok {
		return Dataset{}, ErrNotFound
	}
	return Dataset{Slug: slug, Name: name, Retention: r}, nil
}

func TestTimePolicySink(t *testing.T) {
	const day = 24 * time.Hour
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	st := &policyStore{retention: map[string]time.Duration{"logs": 100 * 365 * day, "short": 2 * day}, lookups: map[string]int{}}
	sink := WithTimePolicy(st, func() time.Time { return clock })
	ctx := context.Background()
	ev := func(ds string, at time.Time, n int64) event.Event {
		// Spare capacity: appending to a copy would write into it.
		e := event.Event{Dataset: ds, Time: at, SampleRate: 1, Fields: make([]event.Field, 0, 4)}
		e.Set("n", event.Int(n))
		return e
	}

	// Nothing to do: the batch is written as is, without a lookup.
	fresh := []event.Event{ev("svc", now.Add(-time.Hour), 1), ev("svc", now.Add(time.Hour), 2)}
	if err := sink.Write(ctx, event.Batch{Env: 3, Events: fresh}); err != nil {
		t.Fatal(err)
	}
	if len(st.writes) != 1 || &st.writes[0].Events[0] != &fresh[0] || len(st.lookups) != 0 {
		t.Fatalf("pass-through: writes %+v lookups %v", st.writes, st.lookups)
	}

	far := now.Add(3 * day)
	in := []event.Event{
		ev("svc", now.Add(-2*365*day), 1), // older than the default 60 days: dropped
		ev("svc", far, 2),                 // moved to now
		ev("svc", now.Add(-30*day), 3),    // inside the default window
		ev("Logs", now.Add(-13*day), 4),   // CloudWatch group without retention: kept
		ev("short", now.Add(-3*day), 5),   // past a 2-day window: dropped
		ev("short", now.Add(-36*time.Hour), 6),
	}
	orig := make([]event.Event, len(in))
	copy(orig, in)
	st.writes = nil
	if err := sink.Write(ctx, event.Batch{Env: 3, Events: in}); err != nil {
		t.Fatal(err)
	}
	if len(st.writes) != 1 {
		t.Fatalf("%d writes", len(st.writes))
	}
	got := st.writes[0].Events
	var ns []int64
	for _, e := range got {
		v, _ := e.Get("n")
		ns = append(ns, v.Int())
	}
	if len(ns) != 4 || ns[0] != 2 || ns[1] != 3 || ns[2] != 4 || ns[3] != 6 {
		t.Fatalf("kept %v, want [2 3 4 6]", ns)
	}
	if !got[0].Time.Equal(now) {
		t.Errorf("future event at %v, want %v", got[0].Time, now)
	}
	if v, ok := got[0].Get(OriginalTimeField); !ok || v.Str() != far.Format(time.RFC3339Nano) {
		t.Errorf("%s = %v", OriginalTimeField, v.Any())
	}
	if st.lookups["svc"] != 1 || st.lookups["logs"] != 1 || st.lookups["short"] != 1 {
		t.Errorf("lookups %v, want one per dataset", st.lookups)
	}
	// The caller's events are untouched.
	for i := range in {
		if !in[i].Time.Equal(orig[i].Time) || len(in[i].Fields) != 1 || len(in[i].Fields[:cap(in[i].Fields)]) < 1 {
			t.Fatalf("input event %d changed: %+v", i, in[i])
		}
		if spare := in[i].Fields[:2]; spare[1].Key != "" {
			t.Fatalf("input event %d: backing array written: %+v", i, spare)
		}
	}

	// Cached: an old event the cached window keeps needs no lookup...
	st.writes, st.lookups = nil, map[string]int{}
	clock = now.Add(time.Second)
	_ = sink.Write(ctx, event.Batch{Env: 3, Events: []event.Event{ev("logs", now.Add(-10*day), 7), ev("short", now.Add(-30*time.Hour), 8)}})
	if len(st.lookups) != 0 || len(st.writes) != 1 || len(st.writes[0].Events) != 2 {
		t.Fatalf("cached: lookups %v writes %+v", st.lookups, st.writes)
	}
	// ...but a drop is decided on a fresh lookup: the window was widened.
	st.retention["short"] = 30 * day
	st.writes = nil
	_ = sink.Write(ctx, event.Batch{Env: 3, Events: []event.Event{ev("short", now.Add(-5*day), 9)}})
	if st.lookups["short"] != 1 || len(st.writes) != 1 || len(st.writes[0].Events) != 1 {
		t.Fatalf("widened window: lookups %v writes %+v", st.lookups, st.writes)
	}
	// Another environment's dataset of the same name is looked up anew.
	st.writes, st.lookups = nil, map[string]int{}
	_ = sink.Write(ctx, event.Batch{Env: 4, Events: []event.Event{ev("short", now.Add(-5*day), 10)}})
	if st.lookups["short"] != 1 {
		t.Fatalf("env 4: lookups %v", st.lookups)
	}

	// Everything expired: acknowledged, nothing written.
	st.writes = nil
	if err := sink.Write(ctx, event.Batch{Env: 3, Events: []event.Event{ev("svc", now.Add(-400*day), 11)}}); err != nil || len(st.writes) != 0 {
		t.Fatalf("all expired: %v, writes %+v", err, st.writes)
	}

	// A failing lookup drops nothing.
	st.failing = true
	st.writes = nil
	clock = now.Add(time.Hour) // past the cache's lifetime
	_ = sink.Write(ctx, event.Batch{Env: 3, Events: []event.Event{ev("svc", now.Add(-400*day), 12)}})
	if len(st.writes) != 1 || len(st.writes[0].Events) != 1 {
		t.Fatalf("failing lookup: writes %+v", st.writes)
	}
}
