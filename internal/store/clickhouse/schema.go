package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// dayNanos is one UTC day in nanoseconds; partitions are (ret, ts / dayNanos).
const dayNanos = int64(24 * time.Hour)

// hot maps (logical column, value type) to the typed column of the events
// table holding it. Every other value lives in the key/value arrays of its
// type, keyed by column id.
var hot = map[hotKey]string{
	{"trace.trace_id", event.TypeString}:  "trace_id",
	{"trace.span_id", event.TypeString}:   "span_id",
	{"trace.parent_id", event.TypeString}: "parent_id",
	{"name", event.TypeString}:            "name",
	{"service.name", event.TypeString}:    "service_name",
	{"duration_ms", event.TypeFloat}:      "duration_ms",
	{"duration_ms", event.TypeInt}:        "duration_ms_int",
}

type hotKey struct {
	name string
	t    event.Type
}

// hotColumns lists the typed columns in table order.
var hotColumns = []string{"trace_id", "span_id", "parent_id", "name", "service_name", "duration_ms", "duration_ms_int"}

// migration is one versioned schema change. Shard statements run on every
// shard (the one server unless clustered), Meta statements on the server
// the store connects to. Statements are idempotent (IF NOT EXISTS), so a
// migration interrupted before it was recorded is simply run again.
// Placeholders: {db}, {events}, {trace_index} (the local tables), {cluster}.
type migration struct {
	version int
	name    string
	shard   []string
	meta    []string
}

var migrations = []migration{{
	version: 1,
	name:    "events, trace index, catalog",
	shard: []string{
		// Events of every environment and dataset. Hot fields are typed
		// columns; sparse ones parallel arrays per value type keyed by
		// column id. Partitions are (retention class in days, UTC day), so
		// retention drops whole partitions; the sort key makes a query of
		// one dataset and time range read only its granules.
		`CREATE TABLE IF NOT EXISTS {db}.{events} (
			env Int64, dataset Int64, ret UInt16, ts Int64, sr Int64,
			trace_id Nullable(String), span_id Nullable(String), parent_id Nullable(String),
			name Nullable(String), service_name Nullable(String),
			duration_ms Nullable(Float64), duration_ms_int Nullable(Int64),
			s_keys Array(Int64), s_values Array(String),
			i_keys Array(Int64), i_values Array(Int64),
			f_keys Array(Int64), f_values Array(Float64),
			b_keys Array(Int64), b_values Array(UInt8)
		) ENGINE = MergeTree() PARTITION BY (ret, intDiv(ts, 86400000000000)) ORDER BY (env, dataset, ts)`,
		// Trace index: one row per (trace id, dataset, day, write), written
		// before the events; sorted by trace id, so a lookup reads a few
		// granules instead of scanning the events.
		`CREATE TABLE IF NOT EXISTS {db}.{trace_index} (
			env Int64, trace_id String, dataset Int64, ret UInt16, day Int64, min_ts Int64, max_ts Int64
		) ENGINE = MergeTree() PARTITION BY (ret, day) ORDER BY (env, trace_id)`,
	},
	meta: []string{
		// Catalog: rows are versions; the highest version of an id wins.
		`CREATE TABLE IF NOT EXISTS {db}.datasets (
			id Int64, env Int64, slug String, name String, description String, retention Int64,
			created Int64, last_written Int64, deleted UInt8, version UInt64
		) ENGINE = ReplacingMergeTree(version) ORDER BY id`,
		`CREATE TABLE IF NOT EXISTS {db}.columns (
			id Int64, dataset Int64, name String, type Int8, phys UInt8, description String, hidden UInt8,
			created Int64, last_written Int64, deleted UInt8, version UInt64
		) ENGINE = ReplacingMergeTree(version) ORDER BY id`,
		// Which datasets have events in which partition, and whether any of
		// them is sampled: written before the events, dropped with them.
		`CREATE TABLE IF NOT EXISTS {db}.dataset_days (
			env Int64, dataset Int64, ret UInt16, day Int64, sampled UInt8
		) ENGINE = ReplacingMergeTree() PARTITION BY (ret, day) ORDER BY (env, dataset, day, sampled)`,
	},
}, {
	version: 2,
	name:    "several nodes: column type sets, last-written times",
	meta: []string{
		// The value types every column has seen: a set (one row per column
		// and type), so nodes adding types concurrently all keep theirs.
		`CREATE TABLE IF NOT EXISTS {db}.column_types (
			dataset Int64, id Int64, type Int8
		) ENGINE = ReplacingMergeTree() ORDER BY (dataset, id, type)`,
		// Last-written times of datasets (kind 0) and columns (kind 1): the
		// highest wins, apart from the versioned catalog rows.
		`CREATE TABLE IF NOT EXISTS {db}.last_written (
			kind UInt8, id Int64, ts UInt64
		) ENGINE = ReplacingMergeTree(ts) ORDER BY (kind, id)`,
	},
}}

// distributed are the Distributed tables created over the local tables of a
// cluster, on every shard, with their sharding keys.
var distributed = []struct{ name, key string }{{"events", "rand()"}, {"trace_index", "rand()"}}

// expand fills a statement's placeholders.
func (s *Store) expand(stmt string) string {
	return strings.NewReplacer(
		"{db}", s.q(s.opts.Database),
		"{events}", s.q(s.localName("events")),
		"{trace_index}", s.q(s.localName("trace_index")),
		"{cluster}", s.q(s.opts.Cluster),
	).Replace(stmt)
}

// localName is the name of a sharded table's local part.
func (s *Store) localName(table string) string {
	if s.opts.Cluster != "" {
		return table + "_local"
	}
	return table
}

// migrate creates the database and applies every migration not yet
// recorded in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	db := s.q(s.opts.Database)
	for _, sh := range s.shards {
		if _, err := sh.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
	}
	if _, err := s.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+db+".schema_migrations (version UInt32, name String, applied Int64) ENGINE = MergeTree() ORDER BY version"); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	var have uint32
	if err := s.db.QueryRowContext(ctx, "SELECT max(version) FROM "+db+".schema_migrations").Scan(&have); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if uint32(m.version) <= have {
			continue
		}
		for _, sh := range s.shards {
			for _, st := range m.shard {
				if _, err := sh.ExecContext(ctx, s.expand(st)); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
				}
			}
		}
		for _, st := range m.meta {
			if _, err := s.db.ExecContext(ctx, s.expand(st)); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
		}
		// (Inserts go through native batches: an INSERT … VALUES with
		// bound arguments is not supported over the native protocol.)
		if err := s.insert(ctx, "schema_migrations", "version, name, applied",
			[][]any{{uint32(m.version), m.name, time.Now().UnixNano()}}); err != nil {
			return fmt.Errorf("record migration %d: %w", m.version, err)
		}
	}
	if s.opts.Cluster != "" {
		// The Distributed tables follow the local tables' current columns;
		// recreated when a migration changed them (they hold no data).
		for _, sh := range s.shards {
			for _, d := range distributed {
				st := "CREATE TABLE IF NOT EXISTS " + db + "." + s.q(d.name) + " AS " + db + "." + s.q(s.localName(d.name)) +
					" ENGINE = Distributed(" + s.q(s.opts.Cluster) + ", " + db + ", " + s.q(s.localName(d.name)) + ", " + d.key + ")"
				if _, err := sh.ExecContext(ctx, st); err != nil {
					return fmt.Errorf("create distributed table %s: %w", d.name, err)
				}
			}
		}
	}
	return nil
}
