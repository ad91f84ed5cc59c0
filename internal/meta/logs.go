package meta

import (
	"context"
	"fmt"
	"time"
)

// TopicLogs counts changes to CloudWatch Logs groups and streams, so nodes
// sharing a database can notice each other's changes.
const TopicLogs = "logs"

// LogGroup is a row of log_groups: a CloudWatch Logs log group of one
// environment. Its events are in the event store's dataset Dataset.
type LogGroup struct {
	ID                 int64
	EnvID              int64
	Name               string
	Dataset            string
	CreatedMs          int64
	RetentionDays      int // 0: never expire
	Class              string
	KMSKeyID           string
	DeletionProtection bool
	Tags               string // JSON object
	UpdatedAt          time.Time
}

// LogStream is a row of log_streams. Times are epoch milliseconds; zero
// means no event yet.
type LogStream struct {
	GroupID         int64
	Name            string
	CreatedMs       int64
	FirstEventMs    int64
	LastEventMs     int64
	LastIngestionMs int64
}

const logGroupCols = `id, env_id, name, dataset, created_ms, retention_days, log_group_class,
	kms_key_id, deletion_protection, tags, updated_at`

func scanLogGroup(s interface{ Scan(...any) error }) (LogGroup, error) {
	var g LogGroup
	err := s.Scan(&g.ID, &g.EnvID, &g.Name, &g.Dataset, &g.CreatedMs, &g.RetentionDays, &g.Class,
		&g.KMSKeyID, &g.DeletionProtection, &g.Tags, &g.UpdatedAt)
	g.UpdatedAt = g.UpdatedAt.UTC()
	return g, err
}

func scanLogStream(s interface{ Scan(...any) error }) (LogStream, error) {
	var st LogStream
	err := s.Scan(&st.GroupID, &st.Name, &st.CreatedMs, &st.FirstEventMs, &st.LastEventMs, &st.LastIngestionMs)
	return st, err
}

// CreateLogGroup inserts a group; ErrConflict if the environment has one of
// that name. ID and UpdatedAt are assigned.
func (db *DB) CreateLogGroup(ctx context.Context, g LogGroup) (LogGroup, error) {
	err := db.Tx(ctx, func(tx *DB) error {
		g.UpdatedAt = now()
		err := tx.q.QueryRowContext(ctx,
			`INSERT INTO log_groups (env_id, name, dataset, created_ms, retention_days, log_group_class,
				kms_key_id, deletion_protection, tags, updated_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			g.EnvID, g.Name, g.Dataset, g.CreatedMs, g.RetentionDays, g.Class, g.KMSKeyID,
			g.DeletionProtection, g.Tags, g.UpdatedAt).Scan(&g.ID)
		if err != nil {
			return tx.conflict(err, "create log group "+g.Name)
		}
		return bump(ctx, tx.q, TopicLogs)
	})
	return g, err
}

// LogGroups lists an environment's groups ordered by name.
func (db *DB) LogGroups(ctx context.Context, envID int64) ([]LogGroup, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+logGroupCols+` FROM log_groups WHERE env_id = $1 ORDER BY name`, envID)
	if err != nil {
		return nil, fmt.Errorf("meta: list log groups: %w", err)
	}
	return collect(rows, scanLogGroup, "list log groups")
}

// LogGroup returns one group by name.
func (db *DB) LogGroup(ctx context.Context, envID int64, name string) (LogGroup, error) {
	g, err := scanLogGroup(db.q.QueryRowContext(ctx,
		`SELECT `+logGroupCols+` FROM log_groups WHERE env_id = $1 AND name = $2`, envID, name))
	if err != nil {
		return LogGroup{}, notFound(err, "log group "+name)
	}
	return g, nil
}

// UpdateLogGroup writes a group's settings (retention, class, KMS key,
// deletion protection, tags).
func (db *DB) UpdateLogGroup(ctx context.Context, g LogGroup) error {
	return db.Tx(ctx, func(tx *DB) error {
		res, err := tx.q.ExecContext(ctx,
			`UPDATE log_groups SET retention_days = $2, log_group_class = $3, kms_key_id = $4,
				deletion_protection = $5, tags = $6, updated_at = $7 WHERE id = $1`,
			g.ID, g.RetentionDays, g.Class, g.KMSKeyID, g.DeletionProtection, g.Tags, now())
		if err != nil {
			return fmt.Errorf("meta: update log group %s: %w", g.Name, err)
		}
		if err := affected(res, "update log group "+g.Name); err != nil {
			return err
		}
		return bump(ctx, tx.q, TopicLogs)
	})
}

// DeleteLogGroup deletes a group and its streams.
func (db *DB) DeleteLogGroup(ctx context.Context, id int64) error {
	return db.Tx(ctx, func(tx *DB) error {
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM log_streams WHERE group_id = $1`, id); err != nil {
			return fmt.Errorf("meta: delete log streams of group %d: %w", id, err)
		}
		res, err := tx.q.ExecContext(ctx, `DELETE FROM log_groups WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("meta: delete log group %d: %w", id, err)
		}
		if err := affected(res, fmt.Sprintf("delete log group %d", id)); err != nil {
			return err
		}
		return bump(ctx, tx.q, TopicLogs)
	})
}

// CreateLogStream inserts a stream; ErrConflict if the group has one of that
// name.
func (db *DB) CreateLogStream(ctx context.Context, st LogStream) error {
	return db.Tx(ctx, func(tx *DB) error {
		if _, err := tx.q.ExecContext(ctx,
			`INSERT INTO log_streams (group_id, name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms)
			 VALUES ($1, $2, $3, $4, $5, $6)`,
			st.GroupID, st.Name, st.CreatedMs, st.FirstEventMs, st.LastEventMs, st.LastIngestionMs); err != nil {
			return tx.conflict(err, "create log stream "+st.Name)
		}
		return bump(ctx, tx.q, TopicLogs)
	})
}

// LogStreams lists a group's streams ordered by name.
func (db *DB) LogStreams(ctx context.Context, groupID int64) ([]LogStream, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT group_id, name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms
		 FROM log_streams WHERE group_id = $1 ORDER BY name`, groupID)
	if err != nil {
		return nil, fmt.Errorf("meta: list log streams: %w", err)
	}
	return collect(rows, scanLogStream, "list log streams")
}

// DeleteLogStream deletes one stream.
func (db *DB) DeleteLogStream(ctx context.Context, groupID int64, name string) error {
	return db.Tx(ctx, func(tx *DB) error {
		res, err := tx.q.ExecContext(ctx, `DELETE FROM log_streams WHERE group_id = $1 AND name = $2`, groupID, name)
		if err != nil {
			return fmt.Errorf("meta: delete log stream %s: %w", name, err)
		}
		if err := affected(res, "delete log stream "+name); err != nil {
			return err
		}
		return bump(ctx, tx.q, TopicLogs)
	})
}

// UpdateLogStreamTimes records event times of streams, as a batch: each
// stream's first event time only decreases (ignoring zero), its last event
// and ingestion times only increase. Streams deleted meanwhile are skipped.
// It does not count as a change (it is frequent and only statistics).
func (db *DB) UpdateLogStreamTimes(ctx context.Context, streams []LogStream) error {
	if len(streams) == 0 {
		return nil
	}
	return db.Tx(ctx, func(tx *DB) error {
		for _, st := range streams {
			if _, err := tx.q.ExecContext(ctx,
				`UPDATE log_streams SET
					first_event_ms = CASE WHEN first_event_ms = 0 OR ($3 > 0 AND $3 < first_event_ms) THEN $3 ELSE first_event_ms END,
					last_event_ms = CASE WHEN $4 > last_event_ms THEN $4 ELSE last_event_ms END,
					last_ingestion_ms = CASE WHEN $5 > last_ingestion_ms THEN $5 ELSE last_ingestion_ms END
				 WHERE group_id = $1 AND name = $2`,
				st.GroupID, st.Name, st.FirstEventMs, st.LastEventMs, st.LastIngestionMs); err != nil {
				return fmt.Errorf("meta: update log stream %s: %w", st.Name, err)
			}
		}
		return nil
	})
}
