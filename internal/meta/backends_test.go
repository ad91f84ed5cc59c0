package meta

import (
	"bytes"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waggle-hq/waggle/internal/meta/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// testMasterKey is the master key of the PostgreSQL test databases (base64 of
// 32 bytes).
const testMasterKey = "d2FnZ2xlLXRlc3QtbWFzdGVyLWtleS0zMi1ieXRlcyE="

// backend is one fresh metadata database of one engine, opened as often as a
// test likes.
type backend struct {
	name string
	opts Options
	pg   *pgtest.Server
}

// testBackends lists the engines to test: WAGGLE_TEST_META=duckdb or
// postgres picks one, unset means both.
func testBackends() []string {
	switch v := os.Getenv("WAGGLE_TEST_META"); v {
	case "":
		return []string{"duckdb", "postgres"}
	default:
		return strings.Split(v, ",")
	}
}

// newBackend makes a fresh database of the engine name for t.
func newBackend(t testing.TB, name string) *backend {
	t.Helper()
	b := &backend{name: name, opts: Options{DataDir: t.TempDir()}}
	switch name {
	case "duckdb":
	case "postgres":
		b.pg = pgtest.Shared(t)
		b.opts.URL = b.pg.NewDatabase(t)
		b.opts.MasterKey = testMasterKey
	default:
		t.Fatalf("unknown WAGGLE_TEST_META backend %q", name)
	}
	return b
}

// eachBackend runs fn as a subtest per engine, each with a fresh database.
func eachBackend(t *testing.T, fn func(t *testing.T, b *backend)) {
	for _, name := range testBackends() {
		t.Run(name, func(t *testing.T) { fn(t, newBackend(t, name)) })
	}
}

// open opens the backend's database; it is closed when t ends.
func (b *backend) open(t testing.TB) *DB {
	t.Helper()
	db, err := OpenWith(context.Background(), b.opts)
	if err != nil {
		t.Fatalf("OpenWith(%s): %v", b.name, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// atRest returns what the database holds at rest: DuckDB's file and
// write-ahead log (close the database first), or PostgreSQL's dump.
func (b *backend) atRest(t testing.TB) []byte {
	t.Helper()
	if b.pg != nil {
		return b.pg.Dump(t, b.opts.URL)
	}
	raw, err := os.ReadFile(filepath.Join(b.opts.DataDir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if wal, err := os.ReadFile(filepath.Join(b.opts.DataDir, DBFile+".wal")); err == nil {
		raw = append(raw, wal...)
	}
	return raw
}

// holds reports whether raw (from atRest) contains b, as bytes or as the hex
// a dump writes BYTEA in.
func holds(raw, b []byte) bool {
	return bytes.Contains(raw, b) || bytes.Contains(raw, []byte(hex.EncodeToString(b)))
}
