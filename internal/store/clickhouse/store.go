package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// Store is the ClickHouse event store. It is safe for concurrent use; writes
// and catalog changes are serialized in the process, and any number of
// processes may share one database (see sync.go).
type Store struct {
	opts Options
	log  *slog.Logger
	// db runs queries and catalog statements on the server in opts.Addr;
	// conn is the same server's native connection for batch inserts.
	db   *sql.DB
	conn driver.Conn
	// shards are connections to every shard's server (db alone unless
	// clustered), for schema changes and partition drops.
	shards []*sql.DB

	writeMu sync.Mutex

	// mu guards the catalog below; the writer changes it under writeMu and
	// mu.
	mu       sync.RWMutex
	envs     map[event.EnvID]map[string]*dataset // by slug
	datasets map[int64]*dataset
	parts    map[partKey]map[int64]bool // partition → dataset → sampled
	// tombDS and tombCol are deleted ids, never used again; colOwner names
	// the dataset and name of every column id, deleted ones included.
	tombDS, tombCol map[int64]bool
	colOwner        map[int64]colRef
	version         uint64
	closed          bool

	// checkMu serializes fingerprint checks; fp is the fingerprint of the
	// catalog as cached, checkedAt when the last check began (sync.go).
	checkMu   sync.Mutex
	fp        string
	checkedAt time.Time
	reloads   atomic.Int64
	stopWatch chan struct{}
	watchDone chan struct{}

	// dirty and dirtyCols hold last-written times (ns) not yet persisted,
	// by dataset and column id.
	dirty         map[int64]int64
	dirtyCols     map[int64]int64
	metaFlushedAt time.Time
}

var _ store.Store = (*Store)(nil)

// partKey names a partition: retention class in days and UTC day number.
type partKey struct {
	ret uint16
	day int64
}

type dataset struct {
	id          int64
	env         event.EnvID
	slug, name  string
	description string
	retention   time.Duration
	created     time.Time
	lastWritten time.Time
	cols        map[string]*column
	// hideBefore hides events older than this (ns) while a retention
	// mutation deletes them.
	hideBefore int64
	// phys caches the part's column map; nil after a column change.
	phys map[string]sqlgen.Physical
}

type column struct {
	id   int64
	name string
	// decl is the type of the column's catalog row (its first type); typ
	// the reported one, decl widened by every type in phys.
	decl        event.Type
	typ         event.Type
	phys        uint8 // bit per value type seen (1 << Type)
	description string
	hidden      bool
	created     time.Time
	lastWritten time.Time
}

const metaFlushInterval = 5 * time.Second

// Open connects to ClickHouse, creates or migrates waggle's tables and loads
// the catalog.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Addr == "" {
		return nil, errors.New("open clickhouse store: no address")
	}
	if opts.Database == "" {
		opts.Database = "waggle"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = 8
	}
	s := &Store{
		opts: opts, log: opts.Logger,
		envs: map[event.EnvID]map[string]*dataset{}, datasets: map[int64]*dataset{},
		parts: map[partKey]map[int64]bool{}, dirty: map[int64]int64{}, dirtyCols: map[int64]int64{},
		tombDS: map[int64]bool{}, tombCol: map[int64]bool{}, colOwner: map[int64]colRef{},
		stopWatch: make(chan struct{}), watchDone: make(chan struct{}),
	}
	if opts.RefreshInterval <= 0 {
		s.opts.RefreshInterval = time.Second
	}
	var err error
	s.db = ch.OpenDB(s.chOptions(opts.Addr))
	s.db.SetMaxOpenConns(opts.MaxOpenConns)
	s.db.SetMaxIdleConns(opts.MaxOpenConns)
	if s.conn, err = ch.Open(s.chOptions(opts.Addr)); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open clickhouse store %s: %w", opts.Addr, err)
	}
	if err := s.open(ctx); err != nil {
		s.closeConns()
		return nil, fmt.Errorf("open clickhouse store %s: %w", opts.Addr, err)
	}
	s.metaFlushedAt = time.Now()
	go s.watch()
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	var version string
	if err := s.db.QueryRowContext(ctx, "SELECT version()").Scan(&version); err != nil {
		return err
	}
	if !versionAtLeast(version, 18, 16) {
		return fmt.Errorf("ClickHouse %s is older than the minimum 18.16", version)
	}
	s.shards = []*sql.DB{s.db}
	if s.opts.Cluster != "" {
		addrs, err := s.clusterShards(ctx)
		if err != nil {
			return err
		}
		s.shards = nil
		for _, a := range addrs {
			db := ch.OpenDB(s.chOptions(a))
			db.SetMaxOpenConns(2)
			s.shards = append(s.shards, db)
		}
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.refreshLocked(ctx)
}

// clusterShards lists the native address of the first replica of every
// shard of the cluster, as the connected server's configuration names them.
func (s *Store) clusterShards(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT host_address, port FROM system.clusters WHERE cluster = ? AND replica_num = 1 ORDER BY shard_num", s.opts.Cluster)
	if err != nil {
		return nil, fmt.Errorf("cluster %q: %w", s.opts.Cluster, err)
	}
	defer rows.Close()
	var addrs []string
	for rows.Next() {
		var host string
		var port uint16
		if err := rows.Scan(&host, &port); err != nil {
			return nil, fmt.Errorf("cluster %q: %w", s.opts.Cluster, err)
		}
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cluster %q: %w", s.opts.Cluster, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("cluster %q is not in the server's remote_servers", s.opts.Cluster)
	}
	return addrs, nil
}

func (s *Store) chOptions(addr string) *ch.Options {
	o := &ch.Options{
		Addr:        []string{addr},
		Protocol:    ch.Native,
		Auth:        ch.Auth{Database: "default", Username: s.opts.User, Password: s.opts.Password},
		DialTimeout: s.opts.DialTimeout,
		// Compression of the native protocol is LZ4, which 18.16 speaks.
		Compression:  &ch.Compression{Method: ch.CompressionLZ4},
		MaxOpenConns: s.opts.MaxOpenConns,
		MaxIdleConns: s.opts.MaxOpenConns,
		// Unmatched rows of a LEFT JOIN read NULL, as in standard SQL (the
		// generator's joins rely on it), not the type's default.
		Settings: ch.Settings{"join_use_nulls": 1},
	}
	if o.Auth.Username == "" {
		o.Auth.Username = "default"
	}
	return o
}

// versionAtLeast compares a "major.minor.…" version.
func versionAtLeast(v string, major, minor int) bool {
	var a, b int
	if _, err := fmt.Sscanf(v, "%d.%d", &a, &b); err != nil {
		return false
	}
	return a > major || (a == major && b >= minor)
}

func (s *Store) closeConns() {
	for _, sh := range s.shards {
		if sh != s.db {
			sh.Close()
		}
	}
	if s.conn != nil {
		s.conn.Close()
	}
	s.db.Close()
}

// Close persists last-written times and closes the connections.
func (s *Store) Close() error {
	select {
	case <-s.stopWatch:
	default:
		close(s.stopWatch)
		<-s.watchDone
	}
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
	s.closeConns()
	if err != nil {
		return fmt.Errorf("close clickhouse store: %w", err)
	}
	return nil
}

var errClosed = errors.New("clickhouse store is closed")

// q quotes an identifier.
func (s *Store) q(name string) string { return dialect{}.QuoteIdent(name) }

// table is the qualified name of a table in the store's database; sharded
// tables resolve to their Distributed table when clustered.
func (s *Store) table(name string) string { return s.q(s.opts.Database) + "." + s.q(name) }

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

func fromNanos(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return nanos(t)
}

// retClass is the retention class (whole days, rounded up) of a window.
func retClass(r time.Duration) uint16 {
	d := (int64(r) + dayNanos - 1) / dayNanos
	return uint16(max(1, min(d, math.MaxUint16)))
}

// dayOf is the day number ClickHouse computes with intDiv(ts, dayNanos).
func dayOf(ns int64) int64 { return ns / dayNanos }
