package meta

import (
	"context"
	"fmt"
	"time"
)

// QueryRun is a row of query_runs: one query run through the query API, by
// an API key (KeyID) or a web UI user (UserID, zero for keys).
type QueryRun struct {
	ID        int64
	EnvID     int64
	KeyID     string
	UserID    int64
	Dataset   string
	QueryID   string
	ResultID  string
	Spec      string
	CreatedAt time.Time
}

const queryRunCols = `id, env_id, key_id, user_id, dataset, query_id, result_id, spec, created_at`

func scanQueryRun(s interface{ Scan(...any) error }) (QueryRun, error) {
	var r QueryRun
	err := s.Scan(&r.ID, &r.EnvID, &r.KeyID, &r.UserID, &r.Dataset, &r.QueryID, &r.ResultID, &r.Spec, &r.CreatedAt)
	r.CreatedAt = r.CreatedAt.UTC()
	return r, err
}

// RecordQueryRun appends a run to the history and returns it with its id.
func (db *DB) RecordQueryRun(ctx context.Context, r QueryRun) (QueryRun, error) {
	if !validText(r.KeyID) || !validText(r.Dataset) || !validText(r.QueryID) || !validText(r.Spec) {
		return QueryRun{}, fmt.Errorf("meta: record query run: not valid UTF-8")
	}
	var out QueryRun
	err := db.write(ctx, func(q querier) error {
		var err error
		out, err = scanQueryRun(q.QueryRowContext(ctx,
			`INSERT INTO query_runs (env_id, key_id, user_id, dataset, query_id, result_id, spec, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING `+queryRunCols,
			r.EnvID, r.KeyID, r.UserID, r.Dataset, r.QueryID, r.ResultID, r.Spec, now()))
		return err
	})
	if err != nil {
		return QueryRun{}, fmt.Errorf("meta: record query run: %w", err)
	}
	return out, nil
}

// QueryRunFilter selects history entries.
type QueryRunFilter struct {
	EnvID int64
	// KeyID and UserID, when set, restrict to one key's or one user's runs.
	KeyID  string
	UserID int64
	// Dataset, when set, restricts to one dataset slug (or "__all__").
	Dataset string
	// Before, when positive, lists only runs with a smaller id (paging).
	Before int64
	Limit  int
}

// QueryRuns lists an environment's history, newest first.
func (db *DB) QueryRuns(ctx context.Context, f QueryRunFilter) ([]QueryRun, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+queryRunCols+` FROM query_runs
		 WHERE env_id = $1 AND ($2 = '' OR key_id = $2) AND ($3 = 0 OR user_id = $3)
		   AND ($4 = '' OR dataset = $4) AND ($5 = 0 OR id < $5)
		 ORDER BY id DESC LIMIT $6`, f.EnvID, f.KeyID, f.UserID, f.Dataset, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("meta: list query runs: %w", err)
	}
	return collect(rows, scanQueryRun, "list query runs")
}
