package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// Saved queries (POST /1/queries): immutable query specifications kept by
// (environment, dataset slug or "__all__", id). The id derives from the
// spec's canonical form, so saving the same spec again keeps the first row.
// *DB implements query.Repository with them.

var _ query.Repository = (*DB)(nil)

// SaveQuery stores q unless a query with its id exists for env and
// q.Dataset, and returns the stored query.
func (db *DB) SaveQuery(ctx context.Context, env event.EnvID, q query.SavedQuery) (query.SavedQuery, error) {
	if !validText(q.ID) || !validText(q.Dataset) || !validText(string(q.Spec)) {
		return query.SavedQuery{}, fmt.Errorf("meta: save query %.40q: not valid UTF-8", q.ID)
	}
	err := db.write(ctx, func(qr querier) error {
		_, err := qr.ExecContext(ctx,
			`INSERT INTO saved_queries (env_id, dataset, id, spec, created_at) VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (env_id, dataset, id) DO NOTHING`,
			int64(env), q.Dataset, q.ID, string(q.Spec), q.CreatedAt.UTC())
		return err
	})
	if err != nil {
		return query.SavedQuery{}, fmt.Errorf("meta: save query %s: %w", q.ID, err)
	}
	return db.LoadQuery(ctx, env, q.Dataset, q.ID)
}

// LoadQuery returns a saved query; an error wrapping query.ErrQueryNotFound
// if there is none.
func (db *DB) LoadQuery(ctx context.Context, env event.EnvID, dataset, id string) (query.SavedQuery, error) {
	q := query.SavedQuery{ID: id, Dataset: dataset}
	var spec string
	err := db.q.QueryRowContext(ctx,
		`SELECT spec, created_at FROM saved_queries WHERE env_id = $1 AND dataset = $2 AND id = $3`,
		int64(env), dataset, id).Scan(&spec, &q.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return query.SavedQuery{}, fmt.Errorf("query %.40q: %w", id, query.ErrQueryNotFound)
	}
	if err != nil {
		return query.SavedQuery{}, fmt.Errorf("meta: load query %.40q: %w", id, err)
	}
	q.Spec = []byte(spec)
	q.CreatedAt = q.CreatedAt.UTC()
	return q, nil
}

// DeleteQueries forgets every saved query of an environment.
func (db *DB) DeleteQueries(ctx context.Context, env event.EnvID) error {
	return db.write(ctx, func(qr querier) error {
		if _, err := qr.ExecContext(ctx, `DELETE FROM saved_queries WHERE env_id = $1`, int64(env)); err != nil {
			return fmt.Errorf("meta: delete queries of environment %d: %w", env, err)
		}
		return nil
	})
}

// validText reports whether s can be stored as TEXT (valid UTF-8 without
// NUL, which PostgreSQL refuses).
func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
