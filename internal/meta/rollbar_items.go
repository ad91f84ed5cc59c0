package meta

import (
	"context"
	"fmt"
	"strings"
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

// rollbarItemChunk bounds the rows of one multi-row statement.
const rollbarItemChunk = 500

// WriteRollbarItems writes a batch of item changes in one transaction and
// returns the ids of the inserted items, in the order of the inserts in w.
// Inserts fail with ErrConflict when the (environment, hash) or
// (environment, counter) exists. Inserts and updates each take one
// multi-row statement per rollbarItemChunk rows, so a group commit costs a
// few statements however many items it touches.
func (db *DB) WriteRollbarItems(ctx context.Context, w []RollbarItemWrite) ([]int64, error) {
	var ins, upd []*RollbarItemWrite
	for i := range w {
		if w[i].Insert {
			ins = append(ins, &w[i])
		} else {
			upd = append(upd, &w[i])
		}
	}
	ids := make([]int64, len(ins))
	err := db.Tx(ctx, func(tx *DB) error {
		ts := now()
		for start := 0; start < len(ins); start += rollbarItemChunk {
			chunk := ins[start:min(start+rollbarItemChunk, len(ins))]
			if err := tx.insertRollbarItems(ctx, chunk, ids[start:], ts); err != nil {
				return err
			}
		}
		for start := 0; start < len(upd); start += rollbarItemChunk {
			chunk := upd[start:min(start+rollbarItemChunk, len(upd))]
			if err := tx.updateRollbarItems(ctx, chunk, ts); err != nil {
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

// insertRollbarItems inserts rows and stores their ids in ids, in order.
func (db *DB) insertRollbarItems(ctx context.Context, rows []*RollbarItemWrite, ids []int64, ts time.Time) error {
	const cols = 24
	var b strings.Builder
	b.WriteString(`INSERT INTO rollbar_items (env_id, counter, hash, title, level, status, environment,
		environments, code_versions, platform, framework, language, exception_class,
		total_occurrences, first_occurrence_id, first_occurrence_ts, last_occurrence_id,
		last_occurrence_ts, activating_occurrence_id, last_activated_ts, last_resolved_ts,
		last_muted_ts, resolved_in_version, created_at, updated_at) VALUES `)
	args := make([]any, 0, len(rows)*cols+1)
	args = append(args, ts)
	for i, r := range rows {
		it := &r.Item
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := 0; c < cols-1; c++ {
			fmt.Fprintf(&b, "$%d, ", len(args)+1+c)
		}
		b.WriteString("$1, $1)")
		args = append(args, it.EnvID, it.Counter, it.Hash, it.Title, it.Level, it.Status, it.Environment,
			it.Environments, it.CodeVersions, it.Platform, it.Framework, it.Language, it.ExceptionClass,
			it.TotalOccurrences, it.FirstOccurrenceID, it.FirstOccurrenceTS, it.LastOccurrenceID,
			it.LastOccurrenceTS, it.ActivatingOccurrenceID, it.LastActivatedTS, it.LastResolvedTS,
			it.LastMutedTS, it.ResolvedInVersion)
	}
	b.WriteString(` RETURNING id, env_id, hash`)
	res, err := db.q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return db.conflict(err, "insert Rollbar items")
	}
	defer res.Close()
	type key struct {
		env  int64
		hash string
	}
	byKey := make(map[key]int64, len(rows))
	for res.Next() {
		var id, env int64
		var hash string
		if err := res.Scan(&id, &env, &hash); err != nil {
			return fmt.Errorf("meta: insert Rollbar items: %w", err)
		}
		byKey[key{env, hash}] = id
	}
	if err := res.Err(); err != nil {
		return db.conflict(err, "insert Rollbar items")
	}
	for i, r := range rows {
		id, ok := byKey[key{r.Item.EnvID, r.Item.Hash}]
		if !ok {
			return fmt.Errorf("meta: insert Rollbar items: no id returned for %q", r.Item.Hash)
		}
		ids[i] = id
	}
	return nil
}

// updateRollbarItems writes the mutable state of rows in one statement;
// total_occurrences grows by each row's AddOccurrences.
func (db *DB) updateRollbarItems(ctx context.Context, rows []*RollbarItemWrite, ts time.Time) error {
	var b strings.Builder
	b.WriteString(`UPDATE rollbar_items SET title = v.title, level = v.level, status = v.status,
		environments = v.environments, code_versions = v.code_versions,
		total_occurrences = rollbar_items.total_occurrences + v.add_occurrences,
		last_occurrence_id = v.last_occurrence_id, last_occurrence_ts = v.last_occurrence_ts,
		activating_occurrence_id = v.activating_occurrence_id, last_activated_ts = v.last_activated_ts,
		last_resolved_ts = v.last_resolved_ts, last_muted_ts = v.last_muted_ts,
		resolved_in_version = v.resolved_in_version, updated_at = $1
	 FROM (VALUES `)
	types := []string{"BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "BIGINT", "BIGINT", "BIGINT",
		"BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT"}
	args := make([]any, 0, len(rows)*len(types)+1)
	args = append(args, ts)
	for i, r := range rows {
		it := &r.Item
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c, t := range types {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "CAST($%d AS %s)", len(args)+1+c, t)
		}
		b.WriteByte(')')
		args = append(args, it.ID, it.Title, it.Level, it.Status, it.Environments, it.CodeVersions,
			r.AddOccurrences, it.LastOccurrenceID, it.LastOccurrenceTS, it.ActivatingOccurrenceID,
			it.LastActivatedTS, it.LastResolvedTS, it.LastMutedTS, it.ResolvedInVersion)
	}
	b.WriteString(`) AS v (id, title, level, status, environments, code_versions, add_occurrences,
		last_occurrence_id, last_occurrence_ts, activating_occurrence_id, last_activated_ts,
		last_resolved_ts, last_muted_ts, resolved_in_version)
	 WHERE rollbar_items.id = v.id`)
	res, err := db.q.ExecContext(ctx, b.String(), args...)
	if err != nil {
		return fmt.Errorf("meta: update Rollbar items: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("meta: update Rollbar items: %w", err)
	}
	if n != int64(len(rows)) {
		return fmt.Errorf("meta: update Rollbar items: %d of %d rows: %w", n, len(rows), ErrNotFound)
	}
	return nil
}
