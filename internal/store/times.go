package store

import (
	"expvar"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Event time policy. Clients set event times, and a store keeps events by
// day of event time: without a policy, every stray timestamp (a clock off by
// years, a unit mistake turning seconds into milliseconds) costs a day
// table, and one in the future is never reclaimed by retention, which only
// deletes the past. The server applies it to every protocol's events on
// their way from the ingest pipeline into the store (WithTimePolicy wraps the
// store as the pipeline's sink); the Honeycomb events API also applies it
// with its own receive time, which changes nothing the second time:
//
//   - An event older than its dataset's retention window (now − retention)
//     is acknowledged as accepted and dropped: it is already expired, and
//     the next retention pass would delete it. The client must not retry
//     it, so the answer is a success; the drop is counted in the expvar
//     counter store.events_expired.
//   - An event more than MaxFuture after the receive time is stored at the
//     receive time, its original time kept as RFC 3339 text in the field
//     OriginalTimeField, and counted in store.events_future_clamped. Queries
//     (whose ranges end now by default) find it, and no day table is made
//     for a day years ahead.
//
// Honeycomb documents neither case (its reference only says data is deleted
// past the retention window, and one of its incidents came from bad client
// timestamps sending queries to cold storage); dropping what retention
// would delete anyway, and keeping misdated events visible rather than lost
// in the future, are waggle's choices.
const (
	// MaxFuture is how far past its receive time an event may be.
	MaxFuture = 24 * time.Hour
	// OriginalTimeField keeps the time of an event moved to its receive
	// time.
	OriginalTimeField = "meta.original_timestamp"
)

var (
	expiredEvents = expvar.NewInt("store.events_expired")
	futureEvents  = expvar.NewInt("store.events_future_clamped")
)

// ApplyTimePolicy applies the event time policy to evs as received at now,
// in place: it returns the events kept (a prefix of evs' backing array) and
// how many were dropped as expired and moved from the future. retention
// gives a dataset's retention window (the dataset name as events carry it);
// it is called only when an event is old enough to need it, at most once
// per dataset name.
func ApplyTimePolicy(evs []event.Event, now time.Time, retention func(dataset string) time.Duration) (kept []event.Event, expired, clamped int) {
	limit := now.Add(MaxFuture)
	// Retention windows are at least a day: younger events need no lookup.
	young := now.Add(-24 * time.Hour)
	var cutoffs map[string]time.Time
	kept = evs[:0]
	for i := range evs {
		e := evs[i]
		switch {
		case e.Time.After(limit):
			e.Set(OriginalTimeField, event.String(e.Time.UTC().Format(time.RFC3339Nano)))
			e.Time = now
			clamped++
		case e.Time.Before(young):
			cut, ok := cutoffs[e.Dataset]
			if !ok {
				r := retention(e.Dataset)
				if r <= 0 {
					r = DefaultRetention
				}
				cut = now.Add(-r)
				if cutoffs == nil {
					cutoffs = map[string]time.Time{}
				}
				cutoffs[e.Dataset] = cut
			}
			if e.Time.Before(cut) {
				expired++
				continue
			}
		}
		kept = append(kept, e)
	}
	clear(evs[len(kept):])
	expiredEvents.Add(int64(expired))
	futureEvents.Add(int64(clamped))
	return kept, expired, clamped
}
