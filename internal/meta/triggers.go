package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// KindTrigger is the object kind of triggers in hc_objects; the parent is
// the dataset slug or "__all__".
const KindTrigger = "trigger"

// TriggerState is a row of trigger_states: what the trigger engine knows of
// one trigger between evaluations.
type TriggerState struct {
	EnvID     int64
	TriggerID string
	// IntervalStart is the start (Unix seconds) of the last evaluated
	// interval; an interval is evaluated at most once.
	IntervalStart int64
	Triggered     bool
	// Groups is the per-result-group state as JSON.
	Groups      string
	LastError   string
	EvaluatedAt time.Time
}

const triggerStateCols = `env_id, trigger_id, interval_start, triggered, groups, last_error, evaluated_at`

func scanTriggerState(s interface{ Scan(...any) error }) (TriggerState, error) {
	var t TriggerState
	err := s.Scan(&t.EnvID, &t.TriggerID, &t.IntervalStart, &t.Triggered, &t.Groups, &t.LastError, &t.EvaluatedAt)
	t.EvaluatedAt = t.EvaluatedAt.UTC()
	return t, err
}

// TriggerState returns a trigger's state; ErrNotFound if it was never
// evaluated.
func (db *DB) TriggerState(ctx context.Context, envID int64, triggerID string) (TriggerState, error) {
	t, err := scanTriggerState(db.q.QueryRowContext(ctx,
		`SELECT `+triggerStateCols+` FROM trigger_states WHERE env_id = $1 AND trigger_id = $2`, envID, triggerID))
	if err != nil {
		return TriggerState{}, notFound(err, "trigger state "+triggerID)
	}
	return t, nil
}

// TriggerStates lists every trigger's state.
func (db *DB) TriggerStates(ctx context.Context) ([]TriggerState, error) {
	rows, err := db.q.QueryContext(ctx, `SELECT `+triggerStateCols+` FROM trigger_states`)
	if err != nil {
		return nil, fmt.Errorf("meta: list trigger states: %w", err)
	}
	return collect(rows, scanTriggerState, "list trigger states")
}

// CommitTriggerEvaluation records one evaluation of a trigger and the
// notifications it causes, in one transaction, if and only if no evaluation
// of st.IntervalStart or a later interval was recorded before: the state is
// compared and set in one statement, so of two nodes (or a node and its
// restarted self) evaluating the same interval exactly one commits, and only
// its deliveries exist. It reports whether st was recorded, and returns the
// deliveries with their ids.
func (db *DB) CommitTriggerEvaluation(ctx context.Context, st TriggerState, ds []NotifyDelivery) (bool, []NotifyDelivery, error) {
	if st.Groups == "" {
		st.Groups = "{}"
	}
	if !validText(st.Groups) || !validText(st.LastError) {
		return false, nil, fmt.Errorf("meta: trigger state %s: not valid UTF-8", st.TriggerID)
	}
	var won bool
	var out []NotifyDelivery
	err := db.Tx(ctx, func(tx *DB) error {
		var got string
		err := tx.q.QueryRowContext(ctx,
			`INSERT INTO trigger_states (env_id, trigger_id, interval_start, triggered, groups, last_error, evaluated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)
			 ON CONFLICT (env_id, trigger_id) DO UPDATE SET
			   interval_start = excluded.interval_start, triggered = excluded.triggered,
			   groups = excluded.groups, last_error = excluded.last_error, evaluated_at = excluded.evaluated_at
			 WHERE trigger_states.interval_start < excluded.interval_start
			 RETURNING trigger_id`,
			st.EnvID, st.TriggerID, st.IntervalStart, st.Triggered, st.Groups, st.LastError, now()).Scan(&got)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil // another evaluation of this interval or a later one won
			}
			return fmt.Errorf("meta: record trigger evaluation %s: %w", st.TriggerID, err)
		}
		won = true
		if len(ds) > 0 {
			out, err = tx.CreateNotifyDeliveries(ctx, ds)
			return err
		}
		return nil
	})
	if err != nil {
		return false, nil, err
	}
	return won, out, nil
}

// DeleteTriggerState forgets a trigger's state (the trigger was deleted).
func (db *DB) DeleteTriggerState(ctx context.Context, envID int64, triggerID string) error {
	return db.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM trigger_states WHERE env_id = $1 AND trigger_id = $2`,
			envID, triggerID); err != nil {
			return fmt.Errorf("meta: delete trigger state %s: %w", triggerID, err)
		}
		return nil
	})
}

// NotifyDeliveriesByEvent lists an environment's deliveries of one event
// name (e.g. "trigger:<id>", a trigger's delivery log), newest first, at
// most limit.
func (db *DB) NotifyDeliveriesByEvent(ctx context.Context, envID int64, eventName string, limit int) ([]NotifyDelivery, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+notifyDeliveryCols+` FROM notify_deliveries WHERE env_id = $1 AND event_name = $2
		 ORDER BY id DESC LIMIT $3`, envID, eventName, limit)
	if err != nil {
		return nil, fmt.Errorf("meta: list notification deliveries: %w", err)
	}
	return collect(rows, scanNotifyDelivery, "list notification deliveries")
}
