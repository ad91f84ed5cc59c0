package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DatasetSettings are the settings of a dataset that the event store does not
// keep. A dataset without a row has the zero settings.
type DatasetSettings struct {
	EnvID           int64
	Slug            string
	DeleteProtected bool
	// ExpandJSONDepth is Honeycomb's expand_json_depth (0..10).
	ExpandJSONDepth int
	UpdatedAt       time.Time
}

// DatasetSettings returns a dataset's settings, the zero settings if none were
// stored.
func (db *DB) DatasetSettings(ctx context.Context, envID int64, slug string) (DatasetSettings, error) {
	s := DatasetSettings{EnvID: envID, Slug: slug}
	err := db.q.QueryRowContext(ctx,
		`SELECT delete_protected, expand_json_depth, updated_at FROM dataset_settings WHERE env_id = $1 AND slug = $2`,
		envID, slug).Scan(&s.DeleteProtected, &s.ExpandJSONDepth, &s.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return DatasetSettings{EnvID: envID, Slug: slug}, nil
	}
	if err != nil {
		return DatasetSettings{}, fmt.Errorf("meta: dataset settings %s: %w", slug, err)
	}
	s.UpdatedAt = s.UpdatedAt.UTC()
	return s, nil
}

// PutDatasetSettings stores a dataset's settings.
func (db *DB) PutDatasetSettings(ctx context.Context, s DatasetSettings) error {
	return db.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO dataset_settings (env_id, slug, delete_protected, expand_json_depth, updated_at)
			 VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (env_id, slug) DO UPDATE SET
			   delete_protected = excluded.delete_protected,
			   expand_json_depth = excluded.expand_json_depth,
			   updated_at = excluded.updated_at`,
			s.EnvID, s.Slug, s.DeleteProtected, s.ExpandJSONDepth, now())
		if err != nil {
			return fmt.Errorf("meta: put dataset settings %s: %w", s.Slug, err)
		}
		return nil
	})
}

// DeleteDatasetSettings forgets a dataset's settings; deleting none is not an
// error.
func (db *DB) DeleteDatasetSettings(ctx context.Context, envID int64, slug string) error {
	return db.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx,
			`DELETE FROM dataset_settings WHERE env_id = $1 AND slug = $2`, envID, slug); err != nil {
			return fmt.Errorf("meta: delete dataset settings %s: %w", slug, err)
		}
		return nil
	})
}

// Setting returns a server-wide setting and whether it is set.
func (db *DB) Setting(ctx context.Context, name string) (string, bool, error) {
	var v string
	err := db.q.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("meta: setting %s: %w", name, err)
	}
	return v, true, nil
}

// SetSetting stores a server-wide setting.
func (db *DB) SetSetting(ctx context.Context, name, value string) error {
	return db.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
			 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			name, value, now())
		if err != nil {
			return fmt.Errorf("meta: set setting %s: %w", name, err)
		}
		return nil
	})
}
