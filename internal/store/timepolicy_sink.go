package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// retentionTTL is how long a dataset's looked-up retention is trusted for
// keeping events. A drop is always decided on a fresh lookup, so a cached
// value can only keep an event a new, shorter window would have dropped
// (and the next retention pass deletes it), never drop one a new, longer
// window keeps.
const retentionTTL = time.Minute

// TimePolicySink applies the event time policy (ApplyTimePolicy) to every
// batch on its way into a store, whatever protocol decoded it: OTLP,
// CloudWatch Logs, Rollbar, X-Ray and the Honeycomb events API all reach the
// store through the ingest pipeline, which writes into this sink. It
// satisfies ingest.Sink.
//
// The receive time is the commit's time (now()), at most the pipeline's
// queueing delay after the request arrived. Events older than their
// dataset's retention are dropped (Write still succeeds, so the producers
// acknowledge them); events more than MaxFuture ahead are moved to now with
// meta.original_timestamp. The policy is idempotent, so a protocol that
// already applied it with its own clock (the Honeycomb events API) loses
// nothing by its being applied again here.
//
// Protocols with stricter rules of their own keep them: CloudWatch Logs
// rejects events older than 14 days or its group's retention and more than
// 2 hours ahead before they reach the pipeline, and its datasets carry the
// group's retention (100 years when none is set), so nothing it accepts is
// dropped or moved here.
type TimePolicySink struct {
	store Store
	now   func() time.Time

	mu    sync.Mutex
	cache map[retentionKey]cachedRetention
}

type retentionKey struct {
	env  event.EnvID
	slug string
}

type cachedRetention struct {
	retention time.Duration
	at        time.Time
}

// WithTimePolicy wraps s so that every Write applies the event time policy
// as of now() (time.Now when nil). Datasets that do not exist yet get
// DefaultRetention.
func WithTimePolicy(s Store, now func() time.Time) *TimePolicySink {
	if now == nil {
		now = time.Now
	}
	return &TimePolicySink{store: s, now: now, cache: map[retentionKey]cachedRetention{}}
}

// Write applies the time policy to b and writes what is kept. It does not
// modify b's events (the pipeline may write them again, one submission at a
// time, after a failed group commit): a batch that needs changes is copied.
func (t *TimePolicySink) Write(ctx context.Context, b event.Batch) error {
	now := t.now()
	limit := now.Add(MaxFuture)
	young := now.Add(-24 * time.Hour) // as ApplyTimePolicy: windows are at least a day
	var oldest map[string]time.Time   // dataset name → its oldest event older than young
	future := false
	for i := range b.Events {
		at := b.Events[i].Time
		switch {
		case at.After(limit):
			future = true
		case at.Before(young):
			ds := b.Events[i].Dataset
			if oldest == nil {
				oldest = map[string]time.Time{}
			}
			if o, ok := oldest[ds]; !ok || at.Before(o) {
				oldest[ds] = at
			}
		}
	}
	if !future && oldest == nil {
		return t.store.Write(ctx, b) // the common case: nothing to do, nothing copied
	}

	retention := make(map[string]time.Duration, len(oldest))
	for ds, at := range oldest {
		retention[ds] = t.retention(ctx, b.Env, ds, now, at)
	}
	evs := make([]event.Event, len(b.Events))
	copy(evs, b.Events)
	for i := range evs {
		if evs[i].Time.After(limit) {
			// ApplyTimePolicy appends a field: give it its own slice so the
			// caller's backing array is untouched.
			f := make([]event.Field, len(evs[i].Fields), len(evs[i].Fields)+1)
			copy(f, evs[i].Fields)
			evs[i].Fields = f
		}
	}
	kept, _, _ := ApplyTimePolicy(evs, now, func(ds string) time.Duration { return retention[ds] })
	if len(kept) == 0 {
		return nil
	}
	return t.store.Write(ctx, event.Batch{Env: b.Env, Events: kept})
}

// retention returns the retention window to judge a dataset's events by,
// the oldest of which is at oldest. A cached window that keeps that event is
// used as is; otherwise the store is asked (and the answer cached). A
// dataset that does not exist yet has DefaultRetention; when the lookup
// fails, nothing is dropped.
func (t *TimePolicySink) retention(ctx context.Context, env event.EnvID, name string, now, oldest time.Time) time.Duration {
	key := retentionKey{env: env, slug: strings.ToLower(name)}
	if slug, err := event.Slug(name); err == nil {
		key.slug = slug
	}
	t.mu.Lock()
	c, ok := t.cache[key]
	t.mu.Unlock()
	if ok && now.Sub(c.at) < retentionTTL && !oldest.Before(now.Add(-effectiveRetention(c.retention))) {
		return c.retention
	}
	var r time.Duration
	d, err := t.store.Dataset(ctx, env, name)
	switch {
	case err == nil:
		r = d.Retention
	case errors.Is(err, ErrNotFound):
		r = DefaultRetention
	default:
		// Keep everything: retention deletes what is really expired.
		return now.Sub(oldest) + 24*time.Hour
	}
	t.mu.Lock()
	if len(t.cache) >= 100000 {
		clear(t.cache) // bounded: datasets are far fewer in practice
	}
	t.cache[key] = cachedRetention{retention: r, at: now}
	t.mu.Unlock()
	return r
}

func effectiveRetention(r time.Duration) time.Duration {
	if r <= 0 {
		return DefaultRetention
	}
	return r
}
