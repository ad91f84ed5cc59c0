package honeycomb

import (
	"context"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
)

// applyTimePolicy applies the store's event time policy (store.ApplyTimePolicy)
// to decoded events received at now: events older than their dataset's
// retention are dropped (and still acknowledged), events more than a day
// ahead are moved to now with their time kept in meta.original_timestamp.
//
// A node's pipeline applies the same policy again at the store
// (store.WithTimePolicy, for every protocol). Applying it here as well is
// not redundant: it judges events by this API's clock (API.Now, the
// request's receive time), and what it drops never takes part in a commit.
// The policy is idempotent, so the second pass changes nothing here.
func (a *API) applyTimePolicy(ctx context.Context, env event.EnvID, evs []event.Event, now time.Time) []event.Event {
	kept, expired, clamped := store.ApplyTimePolicy(evs, now, func(dataset string) time.Duration {
		d, err := a.Store.Dataset(ctx, env, dataset)
		if err != nil {
			return store.DefaultRetention // a new dataset gets the default
		}
		return d.Retention
	})
	if expired > 0 || clamped > 0 {
		a.Log.Debug("honeycomb events: event times out of range", "env", env,
			"expired_dropped", expired, "future_clamped", clamped)
	}
	return kept
}
