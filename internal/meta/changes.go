package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Topics of change counters. A counter goes up by one in the same
// transaction as every change of its topic, so a process that caches the
// topic's rows can poll one row, cheaply, to learn that another process
// (another node sharing a PostgreSQL database) changed them.
const (
	// TopicTenancy counts changes to teams, environments, API keys and AWS
	// credentials: everything tenant.Service caches.
	TopicTenancy = "tenancy"
)

// ChangeVersion returns topic's change counter: 0 before the first change,
// then higher after every change. Read it before the rows it guards: a change
// committed between the two reads then shows as a newer counter next time.
func (db *DB) ChangeVersion(ctx context.Context, topic string) (int64, error) {
	var v int64
	err := db.q.QueryRowContext(ctx, `SELECT version FROM change_counters WHERE topic = $1`, topic).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("meta: change version %s: %w", topic, err)
	}
	return v, nil
}

// Changes returns a channel on which topic names arrive soon after another
// process committed a change of them ("" means any topic may have changed,
// as after a reconnect), so a poller of ChangeVersion can look at once
// instead of at its next tick. It is nil when the backend cannot push
// (the embedded DuckDB: no other process shares it). Deliveries can be lost
// or coalesced: they only shorten polling, never replace it. The channel is
// closed after ctx ends.
func (db *DB) Changes(ctx context.Context) <-chan string { return db.dialect.listen(ctx) }

// bump counts one change of topic; q is the transaction making the change.
// On PostgreSQL it also notifies listeners (Changes) when q commits.
func (db *DB) bump(ctx context.Context, q querier, topic string) error {
	if err := bump(ctx, q, topic); err != nil {
		return err
	}
	if err := db.dialect.notify(ctx, q, topic); err != nil {
		return fmt.Errorf("meta: notify %s change: %w", topic, err)
	}
	return nil
}

// bump counts one change of topic without notifying listeners, who then
// see it at their next poll; prefer the method, tx.bump.
func bump(ctx context.Context, q querier, topic string) error {
	if _, err := q.ExecContext(ctx,
		`INSERT INTO change_counters (topic, version) VALUES ($1, 1)
		 ON CONFLICT (topic) DO UPDATE SET version = change_counters.version + 1`, topic); err != nil {
		return fmt.Errorf("meta: count %s change: %w", topic, err)
	}
	return nil
}

// txTenancy is Tx for a change to tenancy: the change counter goes up in the
// same transaction.
func (db *DB) txTenancy(ctx context.Context, fn func(tx *DB) error) error {
	return db.Tx(ctx, func(tx *DB) error {
		if err := fn(tx); err != nil {
			return err
		}
		return tx.bump(ctx, tx.q, TopicTenancy)
	})
}

// writeTenancy is write for a change to tenancy; see txTenancy.
func (db *DB) writeTenancy(ctx context.Context, fn func(q querier) error) error {
	return db.txTenancy(ctx, func(tx *DB) error { return fn(tx.q) })
}
