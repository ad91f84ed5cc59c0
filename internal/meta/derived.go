package meta

import (
	"context"
	"fmt"
	"time"
)

// Object kinds of SLOs and burn alerts in hc_objects; an SLO's parent is
// its dataset slug (or "__all__"), a burn alert's is its SLO's id.
const (
	KindSLO       = "slo"
	KindBurnAlert = "burn_alert"
)

// DerivedColumn is a row of derived_columns: one of Honeycomb's calculated
// fields. Dataset is the dataset slug or "__all__" (every dataset of the
// environment).
type DerivedColumn struct {
	EnvID       int64
	ID          string
	Dataset     string
	Alias       string
	Expression  string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const derivedCols = `env_id, id, dataset, alias, expression, description, created_at, updated_at`

func scanDerived(s interface{ Scan(...any) error }) (DerivedColumn, error) {
	var d DerivedColumn
	err := s.Scan(&d.EnvID, &d.ID, &d.Dataset, &d.Alias, &d.Expression, &d.Description, &d.CreatedAt, &d.UpdatedAt)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return d, err
}

func checkDerived(d DerivedColumn) error {
	if d.EnvID == 0 || d.ID == "" || d.Dataset == "" || d.Alias == "" {
		return fmt.Errorf("meta: derived column: environment, id, dataset and alias are required")
	}
	for _, s := range []string{d.ID, d.Dataset, d.Alias, d.Expression, d.Description} {
		if !validText(s) || len(s) > MaxObjectBody {
			return fmt.Errorf("meta: derived column %.40q: field too large or not valid UTF-8", d.ID)
		}
	}
	return nil
}

// CreateDerivedColumn stores a new derived column; ErrConflict when its
// alias is taken in its dataset (or its id in the environment).
func (db *DB) CreateDerivedColumn(ctx context.Context, d DerivedColumn) (DerivedColumn, error) {
	if err := checkDerived(d); err != nil {
		return DerivedColumn{}, err
	}
	var out DerivedColumn
	err := db.write(ctx, func(q querier) error {
		var err error
		out, err = scanDerived(q.QueryRowContext(ctx,
			`INSERT INTO derived_columns (`+derivedCols+`)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING `+derivedCols,
			d.EnvID, d.ID, d.Dataset, d.Alias, d.Expression, d.Description, now()))
		return err
	})
	if err != nil {
		return DerivedColumn{}, db.conflict(err, "create derived column "+d.Alias)
	}
	return out, nil
}

// DerivedColumn returns one derived column of an environment by id;
// ErrNotFound if there is none.
func (db *DB) DerivedColumn(ctx context.Context, envID int64, id string) (DerivedColumn, error) {
	d, err := scanDerived(db.q.QueryRowContext(ctx,
		`SELECT `+derivedCols+` FROM derived_columns WHERE env_id = $1 AND id = $2`, envID, id))
	if err != nil {
		return DerivedColumn{}, notFound(err, "derived column "+id)
	}
	return d, nil
}

// DerivedColumns lists an environment's derived columns of the given
// datasets (slugs or "__all__"; every dataset when none), oldest first.
func (db *DB) DerivedColumns(ctx context.Context, envID int64, datasets ...string) ([]DerivedColumn, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+derivedCols+` FROM derived_columns WHERE env_id = $1 ORDER BY created_at, id`, envID)
	if err != nil {
		return nil, fmt.Errorf("meta: list derived columns: %w", err)
	}
	all, err := collect(rows, scanDerived, "list derived columns")
	if err != nil || len(datasets) == 0 {
		return all, err
	}
	want := make(map[string]bool, len(datasets))
	for _, d := range datasets {
		want[d] = true
	}
	out := all[:0]
	for _, d := range all {
		if want[d.Dataset] {
			out = append(out, d)
		}
	}
	return out, nil
}

// UpdateDerivedColumn replaces a derived column's alias, expression and
// description; ErrNotFound if it does not exist, ErrConflict when the new
// alias is taken.
func (db *DB) UpdateDerivedColumn(ctx context.Context, d DerivedColumn) (DerivedColumn, error) {
	if err := checkDerived(d); err != nil {
		return DerivedColumn{}, err
	}
	var out DerivedColumn
	err := db.write(ctx, func(q querier) error {
		var err error
		out, err = scanDerived(q.QueryRowContext(ctx,
			`UPDATE derived_columns SET alias = $3, expression = $4, description = $5, updated_at = $6
			 WHERE env_id = $1 AND id = $2 RETURNING `+derivedCols,
			d.EnvID, d.ID, d.Alias, d.Expression, d.Description, now()))
		return err
	})
	if err != nil {
		if db.dialect.isUniqueViolation(err) {
			return DerivedColumn{}, db.conflict(err, "update derived column "+d.ID)
		}
		return DerivedColumn{}, notFound(err, "derived column "+d.ID)
	}
	return out, nil
}

// DeleteDerivedColumn removes one derived column; ErrNotFound if it does
// not exist.
func (db *DB) DeleteDerivedColumn(ctx context.Context, envID int64, id string) error {
	return db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM derived_columns WHERE env_id = $1 AND id = $2`, envID, id)
		if err != nil {
			return fmt.Errorf("meta: delete derived column %s: %w", id, err)
		}
		return affected(res, "delete derived column "+id)
	})
}

// BurnAlertState is a row of burn_alert_states.
type BurnAlertState struct {
	EnvID     int64
	AlertID   string
	Triggered bool
	// Value is the last evaluated figure: minutes to exhaustion, or the
	// budget decrease per million over the window.
	Value       float64
	LastError   string
	EvaluatedAt time.Time
}

// BurnAlertState returns a burn alert's state; ErrNotFound if it was never
// evaluated.
func (db *DB) BurnAlertState(ctx context.Context, envID int64, alertID string) (BurnAlertState, error) {
	var s BurnAlertState
	err := db.q.QueryRowContext(ctx,
		`SELECT env_id, alert_id, triggered, value, last_error, evaluated_at FROM burn_alert_states
		 WHERE env_id = $1 AND alert_id = $2`, envID, alertID).
		Scan(&s.EnvID, &s.AlertID, &s.Triggered, &s.Value, &s.LastError, &s.EvaluatedAt)
	if err != nil {
		return BurnAlertState{}, notFound(err, "burn alert state "+alertID)
	}
	s.EvaluatedAt = s.EvaluatedAt.UTC()
	return s, nil
}

// SetBurnAlertState records a burn alert's state.
func (db *DB) SetBurnAlertState(ctx context.Context, s BurnAlertState) error {
	return db.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO burn_alert_states (env_id, alert_id, triggered, value, last_error, evaluated_at)
			 VALUES ($1, $2, $3, $4, $5, $6)
			 ON CONFLICT (env_id, alert_id) DO UPDATE SET triggered = excluded.triggered, value = excluded.value,
			   last_error = excluded.last_error, evaluated_at = excluded.evaluated_at`,
			s.EnvID, s.AlertID, s.Triggered, s.Value, s.LastError, now())
		if err != nil {
			return fmt.Errorf("meta: set burn alert state %s: %w", s.AlertID, err)
		}
		return nil
	})
}

// DeleteBurnAlertState forgets a burn alert's state.
func (db *DB) DeleteBurnAlertState(ctx context.Context, envID int64, alertID string) error {
	return db.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM burn_alert_states WHERE env_id = $1 AND alert_id = $2`, envID, alertID)
		return err
	})
}
