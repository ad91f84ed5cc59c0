package meta

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// NotifyRecipient is a row of notify_recipients: where one feature (Source)
// of an environment sends notifications, and how (Kind).
type NotifyRecipient struct {
	ID     int64
	EnvID  int64
	Source string
	Kind   string
	Name   string
	// Target is the kind's address: a URL for webhooks.
	Target string
	// Config is kind-specific JSON.
	Config string
	// Events are the event names wanted; empty means all.
	Events    []string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

const notifyRecipientCols = `id, env_id, source, kind, name, target, config, events, enabled, created_at, updated_at`

func scanNotifyRecipient(s interface{ Scan(...any) error }) (NotifyRecipient, error) {
	var r NotifyRecipient
	var events string
	err := s.Scan(&r.ID, &r.EnvID, &r.Source, &r.Kind, &r.Name, &r.Target, &r.Config, &events,
		&r.Enabled, &r.CreatedAt, &r.UpdatedAt)
	r.Events = strings.Fields(events)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, err
}

// CreateNotifyRecipient adds a recipient and returns it with its id.
func (db *DB) CreateNotifyRecipient(ctx context.Context, r NotifyRecipient) (NotifyRecipient, error) {
	var out NotifyRecipient
	if r.Config == "" {
		r.Config = "{}"
	}
	err := db.write(ctx, func(q querier) error {
		var err error
		out, err = scanNotifyRecipient(q.QueryRowContext(ctx,
			`INSERT INTO notify_recipients (env_id, source, kind, name, target, config, events, enabled, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING `+notifyRecipientCols,
			r.EnvID, r.Source, r.Kind, r.Name, r.Target, r.Config, strings.Join(r.Events, " "), r.Enabled, now()))
		return err
	})
	if err != nil {
		return NotifyRecipient{}, fmt.Errorf("meta: create notification recipient: %w", err)
	}
	return out, nil
}

// NotifyRecipient returns a recipient by id.
func (db *DB) NotifyRecipient(ctx context.Context, id int64) (NotifyRecipient, error) {
	r, err := scanNotifyRecipient(db.q.QueryRowContext(ctx,
		`SELECT `+notifyRecipientCols+` FROM notify_recipients WHERE id = $1`, id))
	if err != nil {
		return NotifyRecipient{}, notFound(err, fmt.Sprintf("notification recipient %d", id))
	}
	return r, nil
}

// NotifyRecipients lists an environment's recipients of a source (every
// source when source is empty), ordered by id.
func (db *DB) NotifyRecipients(ctx context.Context, envID int64, source string) ([]NotifyRecipient, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+notifyRecipientCols+` FROM notify_recipients
		 WHERE env_id = $1 AND ($2 = '' OR source = $2) ORDER BY id`, envID, source)
	if err != nil {
		return nil, fmt.Errorf("meta: list notification recipients: %w", err)
	}
	return collect(rows, scanNotifyRecipient, "list notification recipients")
}

// AllNotifyRecipients lists every recipient, for loading a cache.
func (db *DB) AllNotifyRecipients(ctx context.Context) ([]NotifyRecipient, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+notifyRecipientCols+` FROM notify_recipients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("meta: list notification recipients: %w", err)
	}
	return collect(rows, scanNotifyRecipient, "list notification recipients")
}

// DeleteNotifyRecipient removes an environment's recipient.
func (db *DB) DeleteNotifyRecipient(ctx context.Context, envID, id int64) error {
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM notify_recipients WHERE env_id = $1 AND id = $2`, envID, id)
		if err != nil {
			return fmt.Errorf("meta: delete notification recipient %d: %w", id, err)
		}
		return affected(res, fmt.Sprintf("delete notification recipient %d", id))
	})
}

// NotifyDelivery is a row of notify_deliveries: one notification to one
// recipient, and how delivering it went.
type NotifyDelivery struct {
	ID          int64
	RecipientID int64
	EnvID       int64
	EventName   string
	Payload     string
	// Status is pending, delivered or failed.
	Status        string
	Attempts      int
	LastStatus    int
	LastError     string
	NextAttemptAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const notifyDeliveryCols = `id, recipient_id, env_id, event_name, payload, status, attempts, last_status,
	last_error, next_attempt_at, created_at, updated_at`

func scanNotifyDelivery(s interface{ Scan(...any) error }) (NotifyDelivery, error) {
	var d NotifyDelivery
	err := s.Scan(&d.ID, &d.RecipientID, &d.EnvID, &d.EventName, &d.Payload, &d.Status, &d.Attempts,
		&d.LastStatus, &d.LastError, &d.NextAttemptAt, &d.CreatedAt, &d.UpdatedAt)
	d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, err
}

// CreateNotifyDeliveries records pending deliveries in one transaction and
// returns them with their ids.
func (db *DB) CreateNotifyDeliveries(ctx context.Context, ds []NotifyDelivery) ([]NotifyDelivery, error) {
	out := make([]NotifyDelivery, 0, len(ds))
	err := db.Tx(ctx, func(tx *DB) error {
		ts := now()
		for _, d := range ds {
			row, err := scanNotifyDelivery(tx.q.QueryRowContext(ctx,
				`INSERT INTO notify_deliveries (recipient_id, env_id, event_name, payload, status, attempts,
					last_status, last_error, next_attempt_at, created_at, updated_at)
				 VALUES ($1, $2, $3, $4, 'pending', 0, 0, '', $5, $5, $5) RETURNING `+notifyDeliveryCols,
				d.RecipientID, d.EnvID, d.EventName, d.Payload, ts))
			if err != nil {
				return fmt.Errorf("meta: record notification delivery: %w", err)
			}
			out = append(out, row)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateNotifyDelivery records an attempt: the new status, attempt count,
// last response and when to try next.
func (db *DB) UpdateNotifyDelivery(ctx context.Context, d NotifyDelivery) error {
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx,
			`UPDATE notify_deliveries SET status = $2, attempts = $3, last_status = $4, last_error = $5,
				next_attempt_at = $6, updated_at = $7 WHERE id = $1`,
			d.ID, d.Status, d.Attempts, d.LastStatus, d.LastError, d.NextAttemptAt.UTC(), now())
		if err != nil {
			return fmt.Errorf("meta: update notification delivery %d: %w", d.ID, err)
		}
		return affected(res, fmt.Sprintf("update notification delivery %d", d.ID))
	})
}

// PendingNotifyDeliveries lists every pending delivery, oldest first, for
// resuming after a restart.
func (db *DB) PendingNotifyDeliveries(ctx context.Context) ([]NotifyDelivery, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+notifyDeliveryCols+` FROM notify_deliveries WHERE status = 'pending' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("meta: list pending notification deliveries: %w", err)
	}
	return collect(rows, scanNotifyDelivery, "list pending notification deliveries")
}

// NotifyDeliveries lists a recipient's deliveries, newest first, at most
// limit.
func (db *DB) NotifyDeliveries(ctx context.Context, recipientID int64, limit int) ([]NotifyDelivery, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+notifyDeliveryCols+` FROM notify_deliveries WHERE recipient_id = $1 ORDER BY id DESC LIMIT $2`,
		recipientID, limit)
	if err != nil {
		return nil, fmt.Errorf("meta: list notification deliveries: %w", err)
	}
	return collect(rows, scanNotifyDelivery, "list notification deliveries")
}
