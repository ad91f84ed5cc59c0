// Package meta persists waggle's metadata: teams, environments, API keys, AWS
// credentials and the per-dataset settings the event store does not keep.
//
// The embedded default is a DuckDB database file, meta.duckdb, in the data
// directory. It is separate from the event store's DuckDB files: metadata is
// small, row-oriented and changed by hand, events are large and columnar, and
// keeping them apart lets either be backed up, moved or replaced alone.
//
// The SQL is written to run on PostgreSQL too, with as few dialect differences
// as possible: $n placeholders, standard types (BIGINT, INTEGER, TEXT, BOOLEAN,
// BYTEA, TIMESTAMPTZ), sequences with nextval() for ids, INSERT … RETURNING,
// INSERT … ON CONFLICT, and a versioned schema_migrations table. What differs
// between the engines is kept in dialect.go.
//
// Secrets that must be recoverable (AWS secret access keys, which SigV4 needs in
// plain text to compute its HMACs) are sealed with AES-256-GCM under a master
// key kept in the file meta.key (mode 0600) beside the database; see crypto.go.
// Secrets that only need to be checked (API keys) are never given to this
// package in plain text: it stores the hash the caller computed.
package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver
)

// File names in the data directory.
const (
	// DBFile is the DuckDB metadata database.
	DBFile = "meta.duckdb"
	// KeyFile holds the master key that seals recoverable secrets.
	KeyFile = "meta.key"
)

// Errors returned by DB methods, wrapped with context; test with errors.Is.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a row with the same unique name, slug or id exists.
	ErrConflict = errors.New("already exists")
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is the metadata database. It is safe for concurrent use. Methods of a DB
// handed to the function given to Tx run inside that transaction.
type DB struct {
	sql     *sql.DB
	q       querier
	box     *secretBox
	dialect dialect
	// wmu serializes writers. DuckDB uses optimistic concurrency control and
	// fails the second of two transactions that change the same row; metadata
	// writes are rare, so taking turns costs nothing and avoids spurious
	// failures.
	wmu  *sync.Mutex
	inTx bool
}

// Open opens (creating if needed) the metadata database meta.duckdb and the
// master key file meta.key in dataDir, and migrates the schema to the newest
// version.
func Open(ctx context.Context, dataDir string) (*DB, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("meta: create data directory: %w", err)
	}
	path := filepath.Join(dataDir, DBFile)
	_, statErr := os.Stat(path)
	existed := statErr == nil
	sqlDB, err := sql.Open("duckdb", path)
	if err != nil {
		return nil, fmt.Errorf("meta: open %s: %w", path, err)
	}
	db, err := open(ctx, sqlDB, duckDBDialect{}, filepath.Join(dataDir, KeyFile), existed)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("meta: %s: %w", path, err)
	}
	return db, nil
}

// open finishes opening a database of any dialect: it migrates the schema and
// loads the master key.
func open(ctx context.Context, sqlDB *sql.DB, d dialect, keyPath string, existed bool) (*DB, error) {
	if err := sqlDB.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	db := &DB{sql: sqlDB, q: sqlDB, dialect: d, wmu: new(sync.Mutex)}
	if err := db.migrate(ctx); err != nil {
		return nil, err
	}
	box, created, err := loadOrCreateMasterKey(keyPath)
	if err != nil {
		return nil, err
	}
	if created && existed {
		// A new master key cannot open secrets sealed under the old one. Refuse
		// to go on rather than fail later on every SigV4 request.
		n, err := db.countAWSCredentials(ctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			_ = os.Remove(keyPath)
			return nil, fmt.Errorf("master key file %s is missing but the database holds %d sealed AWS credentials: restore the key file from backup", keyPath, n)
		}
	}
	db.box = box
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	if db.inTx {
		return errors.New("meta: Close inside a transaction")
	}
	return db.sql.Close()
}

// Tx runs fn in one transaction: fn's DB methods all see and change the same
// snapshot, and either all of fn's changes are kept (fn returns nil) or none.
// Writers take turns, so fn should be short. Tx inside Tx runs fn in the outer
// transaction.
func (db *DB) Tx(ctx context.Context, fn func(tx *DB) error) error {
	if db.inTx {
		return fn(db)
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("meta: begin: %w", err)
	}
	child := *db
	child.q = tx
	child.inTx = true
	if err := fn(&child); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("meta: commit: %w", err)
	}
	return nil
}

// write runs fn as one writer: alone, inside the current transaction if any.
func (db *DB) write(ctx context.Context, fn func(q querier) error) error {
	if db.inTx {
		return fn(db.q)
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	return fn(db.q)
}

// now is the time rows are stamped with: UTC, at the microsecond precision
// both DuckDB and PostgreSQL keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// notFound maps sql.ErrNoRows to ErrNotFound with context.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("meta: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("meta: %s: %w", what, err)
}
