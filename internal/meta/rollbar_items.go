package meta

import (
	"context"
	"fmt"
	"time"
)

// RollbarItem is a row of rollbar_items: the occurrences of one environment
// that share a fingerprint (Hash). Times are unix seconds.
type RollbarItem struct {
	ID                                      int64
	EnvID                                   int64
	Counter                                 int64
	Hash                                    string
	Title                                   string
	Level                                   string
	Status                                  string
	Environment                             string
	Environments                            string // JSON array
	CodeVersions                            string // JSON array
	Platform                                string
	Framework                               string
	Language                                string
	ExceptionClass                          string
	TotalOccurrences                        int64
	FirstOccurrenceID, FirstOccurrenceTS    int64
	LastOccurrenceID, LastOccurrenceTS      int64
	ActivatingOccurrenceID, LastActivatedTS int64
	LastResolvedTS, LastMutedTS             int64
	ResolvedInVersion                       string
	CreatedAt, UpdatedAt                    time.Time
}

const rollbarItemCols = `id, env_id, counter, hash, title, level, status, environment, environments,
	code_versions, platform, framework, language, exception_class, total_occurrences,
	first_occurrence_id, first_occurrence_ts, last_occurrence_id, last_occurrence_ts,
	activating_occurrence_id, last_activated_ts, last_resolved_ts, last_muted_ts,
	resolved_in_version, created_at, updated_at`

func scanRollbarItem(s interface{ Scan(...any) error }) (RollbarItem, error) {
	var it RollbarItem
	err := s.Scan(&it.ID, &it.EnvID, &it.Counter, &it.Hash, &it.Title, &it.Level, &it.Status,
		&it.Environment, &it.Environments, &it.CodeVersions, &it.Platform, &it.Framework,
		&it.Language, &it.ExceptionClass, &it.TotalOccurrences,
		&it.FirstOccurrenceID, &it.FirstOccurrenceTS, &it.LastOccurrenceID, &it.LastOccurrenceTS,
		&it.ActivatingOccurrenceID, &it.LastActivatedTS, &it.LastResolvedTS, &it.LastMutedTS,
		&it.ResolvedInVersion, &it.CreatedAt, &it.UpdatedAt)
	it.CreatedAt, it.UpdatedAt = it.CreatedAt.UTC(), it.UpdatedAt.UTC()
	return it, err
}

// RollbarItems lists every item of an environment, for loading a cache.
func (db *DB) RollbarItems(ctx context.Context, envID int64) ([]RollbarItem, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+rollbarItemCols+` FROM rollbar_items WHERE env_id = $1 ORDER BY id`, envID)
	if err != nil {
		return nil, fmt.Errorf("meta: list Rollbar items: %w", err)
	}
	return collect(rows, scanRollbarItem, "list Rollbar items")
}

// RollbarItemWrite is one change of a batch written by WriteRollbarItems.
type RollbarItemWrite struct {
	// Item is the whole new state; for an insert (Insert true) its ID is
	// ignored and assigned.
	Item   RollbarItem
	Insert bool
	// AddOccurrences is added to total_occurrences on update (the item's
	// TotalOccurrences is written as is on insert).
	AddOccurrences int64
}

// WriteRollbarItems writes a batch of item changes in one transaction and
// returns the ids of the inserted items, in the order of the inserts in w.
// Inserts fail with ErrConflict when the (environment, hash) or
// (environment, counter) exists.
func (db *DB) WriteRollbarItems(ctx context.Context, w []RollbarItemWrite) ([]int64, error) {
	var ids []int64
	err := db.Tx(ctx, func(tx *DB) error {
		ts := now()
		for i := range w {
			it := &w[i].Item
			if w[i].Insert {
				var id int64
				err := tx.q.QueryRowContext(ctx,
					`INSERT INTO rollbar_items (env_id, counter, hash, title, level, status, environment,
						environments, code_versions, platform, framework, language, exception_class,
						total_occurrences, first_occurrence_id, first_occurrence_ts, last_occurrence_id,
						last_occurrence_ts, activating_occurrence_id, last_activated_ts, last_resolved_ts,
						last_muted_ts, resolved_in_version, created_at, updated_at)
					 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
						$18, $19, $20, $21, $22, $23, $24, $24) RETURNING id`,
					it.EnvID, it.Counter, it.Hash, it.Title, it.Level, it.Status, it.Environment,
					it.Environments, it.CodeVersions, it.Platform, it.Framework, it.Language,
					it.ExceptionClass, it.TotalOccurrences, it.FirstOccurrenceID, it.FirstOccurrenceTS,
					it.LastOccurrenceID, it.LastOccurrenceTS, it.ActivatingOccurrenceID,
					it.LastActivatedTS, it.LastResolvedTS, it.LastMutedTS, it.ResolvedInVersion, ts,
				).Scan(&id)
				if err != nil {
					return tx.conflict(err, "insert Rollbar item")
				}
				ids = append(ids, id)
				continue
			}
			res, err := tx.q.ExecContext(ctx,
				`UPDATE rollbar_items SET title = $2, level = $3, status = $4, environments = $5,
					code_versions = $6, total_occurrences = total_occurrences + $7,
					last_occurrence_id = $8, last_occurrence_ts = $9, activating_occurrence_id = $10,
					last_activated_ts = $11, last_resolved_ts = $12, last_muted_ts = $13,
					resolved_in_version = $14, updated_at = $15
				 WHERE id = $1`,
				it.ID, it.Title, it.Level, it.Status, it.Environments, it.CodeVersions,
				w[i].AddOccurrences, it.LastOccurrenceID, it.LastOccurrenceTS,
				it.ActivatingOccurrenceID, it.LastActivatedTS, it.LastResolvedTS, it.LastMutedTS,
				it.ResolvedInVersion, ts)
			if err != nil {
				return fmt.Errorf("meta: update Rollbar item %d: %w", it.ID, err)
			}
			if err := affected(res, fmt.Sprintf("update Rollbar item %d", it.ID)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}
