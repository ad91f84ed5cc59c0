package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// dialect holds what differs between the SQL engines meta runs on. The
// statements themselves are shared.
type dialect interface {
	// name is the engine's name for messages.
	name() string
	// isUniqueViolation reports whether err is a unique or primary key
	// constraint violation.
	isUniqueViolation(err error) bool
	// nowMicros is an SQL expression for the database server's current time
	// in microseconds since the Unix epoch, as BIGINT. Leases use the
	// server's clock, so the nodes' clocks need not agree.
	nowMicros() string
	// lockMigrations keeps other processes from migrating the schema until
	// unlock is called. Nodes sharing a database may start at once.
	lockMigrations(ctx context.Context, db *sql.DB) (unlock func(), err error)
	// notify tells other processes listening (listen) that topic changed,
	// when the transaction q commits; a no-op where nobody else can listen.
	notify(ctx context.Context, q querier, topic string) error
	// listen delivers the topics other processes notify until ctx ends (see
	// DB.Changes); nil where there are none.
	listen(ctx context.Context) <-chan string
}

// duckDBDialect is the embedded default.
type duckDBDialect struct{}

func (duckDBDialect) name() string { return "duckdb" }

func (duckDBDialect) isUniqueViolation(err error) bool {
	var de *duckdb.Error
	if !errors.As(err, &de) || de.Type != duckdb.ErrorTypeConstraint {
		return false
	}
	msg := strings.ToLower(de.Msg)
	return strings.Contains(msg, "duplicate key") || strings.Contains(msg, "unique")
}

func (duckDBDialect) nowMicros() string { return `epoch_us(now())` }

// lockMigrations needs no lock: DuckDB lets one process open the file.
func (duckDBDialect) lockMigrations(context.Context, *sql.DB) (func(), error) {
	return func() {}, nil
}

// notify and listen do nothing: no other process opens the file.
func (duckDBDialect) notify(context.Context, querier, string) error { return nil }
func (duckDBDialect) listen(context.Context) <-chan string          { return nil }

// postgresDialect is PostgreSQL through pgx's database/sql driver.
type postgresDialect struct {
	// cfg connects the LISTEN connection, which lives outside the pool.
	cfg *pgx.ConnConfig
}

func (postgresDialect) name() string { return "postgres" }

// isUniqueViolation checks SQLSTATE 23505 (unique_violation).
func (postgresDialect) isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func (postgresDialect) nowMicros() string {
	return `CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)`
}

// migrationLockKey is the pg_advisory_lock key that serializes migrations
// ("waggle m" in ASCII).
const migrationLockKey int64 = 0x7761676c65206d

// lockMigrations takes a session-level advisory lock on a connection of its
// own, held until unlock.
func (postgresDialect) lockMigrations(ctx context.Context, db *sql.DB) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("lock migrations: %w", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, migrationLockKey)
		_ = conn.Close()
	}, nil
}

// conflict maps a unique violation to ErrConflict and wraps any error with
// context.
func (db *DB) conflict(err error, what string) error {
	if db.dialect.isUniqueViolation(err) {
		return fmt.Errorf("meta: %s: %w (%w)", what, ErrConflict, err)
	}
	return fmt.Errorf("meta: %s: %w", what, err)
}
