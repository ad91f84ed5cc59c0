// Package metatest runs tests of packages built on the metadata database
// against every backend: the embedded DuckDB and PostgreSQL (started by
// pgtest). WAGGLE_TEST_META=duckdb or =postgres picks one; unset runs both.
//
// A package using it stops the shared PostgreSQL server from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
package metatest

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/meta/pgtest"
)

// MasterKey is the master key of the PostgreSQL test databases (base64).
const MasterKey = "d2FnZ2xlLXRlc3QtbWFzdGVyLWtleS0zMi1ieXRlcyE="

// Backend is one fresh metadata database of one engine, opened as often as
// a test likes (a restart, or several nodes on PostgreSQL).
type Backend struct {
	// Name is "duckdb" or "postgres".
	Name string
	// Opts opens the database with meta.OpenWith.
	Opts meta.Options
	// PG is the PostgreSQL server, nil for DuckDB.
	PG *pgtest.Server
}

// Names lists the engines to test, from WAGGLE_TEST_META.
func Names() []string {
	if v := os.Getenv("WAGGLE_TEST_META"); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"duckdb", "postgres"}
}

// New makes a fresh database of the engine name for t. It skips t for
// PostgreSQL when PostgreSQL is not installed.
func New(t testing.TB, name string) *Backend {
	t.Helper()
	b := &Backend{Name: name, Opts: meta.Options{DataDir: t.TempDir()}}
	switch name {
	case "duckdb":
	case "postgres":
		b.PG = pgtest.Shared(t)
		b.Opts.URL = b.PG.NewDatabase(t)
		b.Opts.MasterKey = MasterKey
	default:
		t.Fatalf("metatest: unknown backend %q in WAGGLE_TEST_META", name)
	}
	return b
}

// Each runs fn as a subtest per engine, each with a fresh database.
func Each(t *testing.T, fn func(t *testing.T, b *Backend)) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) { fn(t, New(t, name)) })
	}
}

// Shared reports whether several opens are separate connections to one
// database, as separate nodes have. DuckDB allows one open per process.
func (b *Backend) Shared() bool { return b.PG != nil }

// Open opens the database; it is closed when t ends.
func (b *Backend) Open(t testing.TB) *meta.DB {
	t.Helper()
	db, err := meta.OpenWith(context.Background(), b.Opts)
	if err != nil {
		t.Fatalf("metatest: open %s: %v", b.Name, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// AtRest returns what the database holds at rest: DuckDB's file and
// write-ahead log (close the database first), or PostgreSQL's dump.
func (b *Backend) AtRest(t testing.TB) []byte {
	t.Helper()
	if b.PG != nil {
		return b.PG.Dump(t, b.Opts.URL)
	}
	raw, err := os.ReadFile(filepath.Join(b.Opts.DataDir, meta.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if wal, err := os.ReadFile(filepath.Join(b.Opts.DataDir, meta.DBFile+".wal")); err == nil {
		raw = append(raw, wal...)
	}
	return raw
}

// Holds reports whether raw (from AtRest) contains b, as bytes or as the hex
// a dump writes BYTEA in.
func Holds(raw, b []byte) bool {
	return bytes.Contains(raw, b) || bytes.Contains(raw, []byte(hex.EncodeToString(b)))
}
