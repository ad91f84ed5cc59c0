package meta

import (
	"context"
	"fmt"
	"strings"
)

// UpdateNotifyRecipient replaces an environment's recipient's kind, name,
// target, config, events and enabled flag (Honeycomb's PUT
// /1/recipients/{id}); ErrNotFound if it does not exist there.
func (db *DB) UpdateNotifyRecipient(ctx context.Context, r NotifyRecipient) (NotifyRecipient, error) {
	if r.Config == "" {
		r.Config = "{}"
	}
	var out NotifyRecipient
	err := db.write(ctx, func(q querier) error {
		var err error
		out, err = scanNotifyRecipient(q.QueryRowContext(ctx,
			`UPDATE notify_recipients SET kind = $3, name = $4, target = $5, config = $6, events = $7,
				enabled = $8, updated_at = $9
			 WHERE env_id = $1 AND id = $2 RETURNING `+notifyRecipientCols,
			r.EnvID, r.ID, r.Kind, r.Name, r.Target, r.Config, strings.Join(r.Events, " "), r.Enabled, now()))
		return err
	})
	if err != nil {
		return NotifyRecipient{}, notFound(err, fmt.Sprintf("notification recipient %d", r.ID))
	}
	return out, nil
}
