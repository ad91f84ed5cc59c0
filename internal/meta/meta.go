// Package meta persists waggle's metadata: teams, environments, API keys, AWS
// credentials and the per-dataset settings the event store does not keep.
//
// The embedded default is a DuckDB database file, meta.duckdb, in the data
// directory. It is separate from the event store's DuckDB files: metadata is
// small, row-oriented and changed by hand, events are large and columnar, and
// keeping them apart lets either be backed up, moved or replaced alone.
//
// Several nodes can share one PostgreSQL database instead (OpenWith with a
// postgres:// URL). The SQL is the same on both engines, with as few dialect
// differences as possible: $n placeholders, standard types (BIGINT, INTEGER,
// TEXT, BOOLEAN, BYTEA, TIMESTAMPTZ), sequences with nextval() for ids,
// INSERT … RETURNING, INSERT … ON CONFLICT, and a versioned schema_migrations
// table. What differs between the engines is kept in dialect.go.
//
// Nodes sharing a database learn of each other's changes through change
// counters (changes.go) and coordinate singleton work through leases
// (lease.go).
//
// Secrets that must be recoverable (AWS secret access keys, which SigV4 needs in
// plain text to compute its HMACs) are sealed with AES-256-GCM under a master
// key: by default the file meta.key (mode 0600) beside the embedded database,
// or one given in Options.MasterKey, which every node sharing a PostgreSQL
// database must be given alike; see crypto.go.
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
	"strings"
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

// Options selects and configures the metadata database.
type Options struct {
	// URL selects the backend: empty (or "duckdb") for the embedded file
	// meta.duckdb in DataDir, or a PostgreSQL URL (postgres://… or
	// postgresql://…, as libpq and pgx accept it) for a database that several
	// nodes share.
	URL string
	// DataDir holds the embedded database and, by default, its master key
	// file.
	DataDir string
	// MasterKey is the key that seals recoverable secrets: 32 bytes in
	// base64, or the path of a file that holds them (base64 or hex). Empty
	// means the file meta.key in DataDir, created on first use; PostgreSQL
	// requires it, since every node must use the same key.
	MasterKey string
}

// Open opens (creating if needed) the embedded metadata database meta.duckdb
// and the master key file meta.key in dataDir, and migrates the schema to the
// newest version.
func Open(ctx context.Context, dataDir string) (*DB, error) {
	return OpenWith(ctx, Options{DataDir: dataDir})
}

// OpenWith opens the metadata database opts selects, migrates its schema to
// the newest version and loads the master key.
func OpenWith(ctx context.Context, opts Options) (*DB, error) {
	switch u := strings.TrimSpace(opts.URL); {
	case u == "" || u == "duckdb":
		return openDuckDB(ctx, opts)
	case strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://"):
		return openPostgres(ctx, opts)
	default:
		return nil, fmt.Errorf("meta: unknown metadata database %q: want empty for the embedded DuckDB or a postgres:// URL", redactURL(u))
	}
}

func openDuckDB(ctx context.Context, opts Options) (*DB, error) {
	dataDir := opts.DataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("meta: create data directory: %w", err)
	}
	path := filepath.Join(dataDir, DBFile)
	sqlDB, err := sql.Open("duckdb", path)
	if err != nil {
		return nil, fmt.Errorf("meta: open %s: %w", path, err)
	}
	key := keySource{value: opts.MasterKey, defaultFile: filepath.Join(dataDir, KeyFile)}
	db, err := open(ctx, sqlDB, duckDBDialect{}, key)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("meta: %s: %w", path, err)
	}
	return db, nil
}

// open finishes opening a database of any dialect: it migrates the schema and
// loads and checks the master key.
func open(ctx context.Context, sqlDB *sql.DB, d dialect, key keySource) (*DB, error) {
	if err := sqlDB.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	db := &DB{sql: sqlDB, q: sqlDB, dialect: d, wmu: new(sync.Mutex)}
	if err := db.migrate(ctx); err != nil {
		return nil, err
	}
	box, createdFile, err := key.load()
	if err != nil {
		return nil, err
	}
	db.box = box
	if err := db.checkMasterKey(ctx, createdFile); err != nil {
		if createdFile != "" {
			_ = os.Remove(createdFile)
		}
		return nil, err
	}
	return db, nil
}

// Backend names the engine: "duckdb" or "postgres".
func (db *DB) Backend() string { return db.dialect.name() }

// Shared reports whether other processes (other nodes) may use the database
// at the same time, so that caches must watch for their changes. The
// embedded DuckDB file is opened by one process only.
func (db *DB) Shared() bool { return db.dialect.name() != "duckdb" }

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
