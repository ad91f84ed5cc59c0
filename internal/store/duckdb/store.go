package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// Store is the embedded DuckDB event store. It is safe for concurrent use;
// writes are serialized (DuckDB has one writer).
type Store struct {
	opts Options
	log  *slog.Logger
	dir  string
	conn *duckdb.Connector
	db   *sql.DB
	// w is the writer's connection; writeMu serializes its use and every
	// change of structure (datasets, columns, day databases).
	w       *sql.Conn
	writeMu sync.Mutex

	// mu guards the metadata below. The writer reads it without mu (it is
	// the only one changing it) and takes mu to change it.
	mu       sync.RWMutex
	envs     map[event.EnvID]map[string]*dataset // by slug
	datasets map[int64]*dataset
	days     map[int64]*day
	nextID   int64
	closed   bool

	// attach is held shared by queries and exclusively while a day
	// database is detached or replaced.
	attach sync.RWMutex

	// Last-written times changed since they were last persisted.
	dirtyDatasets map[*dataset]struct{}
	dirtyColumns  map[*column]struct{}
	metaFlushedAt time.Time
}

var _ store.Store = (*Store)(nil)

// dataset is a dataset's metadata.
type dataset struct {
	id          int64
	env         event.EnvID
	slug, name  string
	description string
	retention   time.Duration
	created     time.Time
	lastWritten time.Time
	cols        map[string]*column
	byID        []*column // dense slot order
}

// column is a logical column's metadata.
type column struct {
	id          int64
	slot        int
	name        string
	typ         event.Type
	phys        uint8 // bit per physical type (1 << Type)
	description string
	hidden      bool
	created     time.Time
	lastWritten time.Time
}

const metaFlushInterval = 5 * time.Second

// Open opens (creating if needed) the store in opts.Dir.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("open duckdb store: no data directory")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CheckpointThreshold <= 0 {
		opts.CheckpointThreshold = defaultCheckpointThreshold
	}
	if err := os.MkdirAll(filepath.Join(opts.Dir, "parts"), 0o755); err != nil {
		return nil, fmt.Errorf("open duckdb store: %w", err)
	}
	q := url.Values{}
	q.Set("checkpoint_threshold", strconv.FormatInt(opts.CheckpointThreshold, 10)+"b")
	q.Set("preserve_insertion_order", "false")
	if opts.MemoryLimit > 0 {
		q.Set("memory_limit", strconv.FormatInt(opts.MemoryLimit, 10)+"b")
	}
	if opts.Threads > 0 {
		q.Set("threads", strconv.Itoa(opts.Threads))
	}
	dsn := filepath.Join(opts.Dir, "catalog.duckdb") + "?" + q.Encode()
	conn, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb store %s: %w", opts.Dir, err)
	}
	s := &Store{
		opts:          opts,
		log:           opts.Logger,
		dir:           opts.Dir,
		conn:          conn,
		db:            sql.OpenDB(conn),
		envs:          map[event.EnvID]map[string]*dataset{},
		datasets:      map[int64]*dataset{},
		days:          map[int64]*day{},
		dirtyDatasets: map[*dataset]struct{}{},
		dirtyColumns:  map[*column]struct{}{},
		nextID:        1,
	}
	ctx := context.Background()
	if s.w, err = s.db.Conn(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open duckdb store: writer connection: %w", err)
	}
	if err := s.load(ctx); err != nil {
		s.w.Close()
		s.db.Close()
		return nil, fmt.Errorf("open duckdb store %s: %w", opts.Dir, err)
	}
	s.metaFlushedAt = time.Now()
	return s, nil
}

// Close persists last-written times, checkpoints and closes DuckDB.
func (s *Store) Close() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.flushMeta(context.Background())
	err = errors.Join(err, s.w.Close(), s.db.Close())
	if err != nil {
		return fmt.Errorf("close duckdb store: %w", err)
	}
	return nil
}

// errClosed is returned by every method after Close.
var errClosed = errors.New("duckdb store is closed")

// nanos is t as int64 nanoseconds, clamped to what int64 holds.
func nanos(t time.Time) int64 {
	if t.Before(minTime) {
		return minTime.UnixNano()
	}
	if !t.Before(maxTime) {
		return maxTime.UnixNano()
	}
	return t.UnixNano()
}

var (
	minTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

const dayNanos = int64(24 * time.Hour)

// dayOf is the UTC day number of ns.
func dayOf(ns int64) int64 {
	d := ns / dayNanos
	if ns%dayNanos < 0 {
		d--
	}
	return d
}

// validUTF8 returns s with invalid bytes replaced, as DuckDB requires.
func validUTF8(s string) string { return sqlgen.ValidUTF8(s) }

func fnum(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	return s
}

func inum(i int64) string { return strconv.FormatInt(i, 10) }

// physName is the physical column of column id for type t.
func physName(id int64, t event.Type) string {
	return "c" + inum(id) + typeLetter(t)
}

func typeLetter(t event.Type) string {
	switch t {
	case event.TypeInt:
		return "i"
	case event.TypeFloat:
		return "f"
	case event.TypeBool:
		return "b"
	}
	return "s"
}

func quote(name string) string { return dialect{}.QuoteIdent(name) }
