package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/waggle-hq/waggle/internal/meta"
)

// Triggers are kept as JSON documents (meta.KindTrigger) under their
// dataset slug; their state in trigger_states.

// FromObject decodes a stored trigger and stamps its times.
func FromObject(o meta.Object) (*Trigger, error) {
	t, err := ParseTrigger(o.Body)
	if err != nil {
		return nil, fmt.Errorf("trigger %s: %w", o.ID, err)
	}
	t.ID, t.DatasetSlug = o.ID, o.Parent
	t.CreatedAt = o.CreatedAt.UTC().Format(time.RFC3339)
	t.UpdatedAt = o.UpdatedAt.UTC().Format(time.RFC3339)
	return t, nil
}

// Body is what is stored of t: everything but read-only fields.
func (t *Trigger) Body() ([]byte, error) {
	c := *t
	c.Triggered, c.CreatedAt, c.UpdatedAt = false, "", ""
	return json.Marshal(&c)
}

// Load returns one trigger of env; meta.ErrNotFound if there is none.
func Load(ctx context.Context, db *meta.DB, env int64, id string) (*Trigger, error) {
	o, err := db.Object(ctx, env, meta.KindTrigger, id)
	if err != nil {
		return nil, err
	}
	return withState(ctx, db, env, o)
}

// List returns env's triggers of dataset (every dataset when empty).
func List(ctx context.Context, db *meta.DB, env int64, dataset string) ([]*Trigger, error) {
	os, err := db.Objects(ctx, env, meta.KindTrigger, dataset)
	if err != nil {
		return nil, err
	}
	out := make([]*Trigger, 0, len(os))
	for _, o := range os {
		t, err := withState(ctx, db, env, o)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func withState(ctx context.Context, db *meta.DB, env int64, o meta.Object) (*Trigger, error) {
	t, err := FromObject(o)
	if err != nil {
		return nil, err
	}
	if st, err := db.TriggerState(ctx, env, o.ID); err == nil {
		t.Triggered = st.Triggered
	}
	return t, nil
}

// EventName is the delivery log's event name of a trigger's notifications.
func EventName(triggerID string) string { return "trigger:" + triggerID }
