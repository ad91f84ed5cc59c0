package store

import (
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

func TestApplyTimePolicy(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ev := func(ds string, at time.Time) event.Event {
		e := event.Event{Dataset: ds, Time: at, SampleRate: 1}
		e.Set("n", event.Int(1))
		return e
	}
	far := now.Add(3 * 365 * 24 * time.Hour)
	evs := []event.Event{
		ev("a", now.Add(-time.Minute)),
		ev("a", far),
		ev("a", now.Add(MaxFuture)),           // exactly the limit: kept as is
		ev("a", now.Add(-61*24*time.Hour)),    // past the default 60 days
		ev("a", now.Add(-59*24*time.Hour)),    // inside it
		ev("long", now.Add(-61*24*time.Hour)), // inside a 90-day window
		ev("short", now.Add(-36*time.Hour)),   // past a 1-day window
		ev("short", now.Add(-20*time.Hour)),   // young: no lookup needed
	}
	calls := map[string]int{}
	ret := func(ds string) time.Duration {
		calls[ds]++
		return map[string]time.Duration{"long": 90 * 24 * time.Hour, "short": 24 * time.Hour}[ds] // "a": 0 means the default
	}
	kept, expired, clamped := ApplyTimePolicy(evs, now, ret)
	if expired != 2 || clamped != 1 || len(kept) != 6 {
		t.Fatalf("kept %d, expired %d, clamped %d", len(kept), expired, clamped)
	}
	if calls["a"] != 1 || calls["long"] != 1 || calls["short"] != 1 {
		t.Fatalf("retention looked up %v, want once per dataset", calls)
	}
	want := []time.Time{now.Add(-time.Minute), now, now.Add(MaxFuture), now.Add(-59 * 24 * time.Hour), now.Add(-61 * 24 * time.Hour), now.Add(-20 * time.Hour)}
	for i, e := range kept {
		if !e.Time.Equal(want[i]) {
			t.Errorf("event %d at %v, want %v", i, e.Time, want[i])
		}
		orig, has := e.Get(OriginalTimeField)
		if i == 1 {
			if !has || orig.Str() != far.Format(time.RFC3339Nano) {
				t.Errorf("moved event keeps %v, want %s", orig.Any(), far.Format(time.RFC3339Nano))
			}
		} else if has {
			t.Errorf("event %d has %s", i, OriginalTimeField)
		}
		if n, ok := e.Get("n"); !ok || n.Int() != 1 {
			t.Errorf("event %d lost its fields: %+v", i, e.Fields)
		}
	}
	// Young events need no lookup at all.
	calls = map[string]int{}
	ApplyTimePolicy([]event.Event{ev("x", now), ev("x", now.Add(-23*time.Hour))}, now, ret)
	if len(calls) != 0 {
		t.Fatalf("lookups for young events: %v", calls)
	}
	if expiredEvents.Value() < 2 || futureEvents.Value() < 1 {
		t.Fatalf("counters %v %v", expiredEvents.Value(), futureEvents.Value())
	}
}
