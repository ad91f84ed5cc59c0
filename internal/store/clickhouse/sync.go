package clickhouse

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Several waggle nodes may write one ClickHouse database. Nothing in the
// catalog is allocated by a node, and every catalog table is append-only, so
// nodes need no lock, no leader and no second database:
//
//   - Ids are derived, not allocated: a dataset's id is a hash of (env, slug,
//     generation), a column's of (dataset id, name, generation). Two nodes
//     that create the same dataset or column at the same time compute the
//     same id and insert two versions of the same row. The generation counts
//     deletions: a deleted id is tombstoned forever (its last row carries a
//     version above every live row's, so it wins every ReplacingMergeTree
//     merge), and the next creation of that name takes the next generation,
//     so values of a deleted column stay unreachable as before. A candidate
//     id already used by another name (a 62-bit hash collision) is skipped
//     the same way, so every node picks the same next one.
//   - The value types a column has seen are a set (column_types: one row per
//     column and type, deduplicated), not a field of a versioned row, so two
//     nodes adding different types to one column both keep theirs; the
//     column's reported type is derived from the set (widening commutes).
//   - Last-written times are rows of their own (last_written, the highest
//     wins), so the flush of one node never overwrites a description or a
//     retention another node just changed.
//
// Change propagation: every insert or merge in a catalog table creates or
// replaces a part, so the XOR of the active parts' name hashes per table
// (system.parts, no data read) changes with every change any node makes.
// A node compares it before every catalog read, query and trace (concurrent
// callers share one check that began after they did), before it creates
// catalog entries in Write and before retention, and once a second in the
// background; when it moved, it reloads the catalog and the partition map.
// So a dataset or column created through one node, and events written
// through it into a new partition, are visible to the next query on any
// other node.

// stableID is a positive id in [2^62, 2^63) derived from parts: above every
// id the sequential allocation of earlier releases handed out.
func stableID(parts ...string) int64 {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return int64(binary.BigEndian.Uint64(h[:8])>>2 | 1<<62)
}

// newDatasetID is the id of a new dataset (env, slug): the first generation
// whose id is neither tombstoned nor another dataset's. Callers hold writeMu.
func (s *Store) newDatasetID(env event.EnvID, slug string) int64 {
	for g := 0; ; g++ {
		id := stableID("dataset", strconv.FormatInt(int64(env), 10), slug, strconv.Itoa(g))
		if s.tombDS[id] {
			continue
		}
		if o := s.datasets[id]; o != nil && (o.env != env || o.slug != slug) {
			continue
		}
		return id
	}
}

// newColumnID is the id of a new column name of dataset d, chosen like
// newDatasetID's. taken reports ids already used in this batch. Callers hold
// writeMu.
func (s *Store) newColumnID(d *dataset, name string, taken func(int64) bool) int64 {
	for g := 0; ; g++ {
		id := stableID("column", strconv.FormatInt(d.id, 10), name, strconv.Itoa(g))
		if s.tombCol[id] || (taken != nil && taken(id)) {
			continue
		}
		if o, ok := s.colOwner[id]; ok && (o.ds != d.id || o.name != name) {
			continue
		}
		return id
	}
}

type colRef struct {
	ds   int64
	name string
}

// tombVersion is the version of a tombstone row: above every live row's
// (time in nanoseconds, below 2^63), so a deletion wins over any update a
// node that had not yet seen it makes afterwards.
func tombVersion(v uint64) uint64 { return v | 1<<63 }

// catalogTables are the tables whose parts the change fingerprint covers.
var catalogTables = []string{"datasets", "columns", "column_types", "last_written", "dataset_days"}

// fingerprint identifies the current parts of the catalog tables.
func (s *Store) fingerprint(ctx context.Context) (string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT table, toString(groupBitXor(cityHash64(name))), toString(count()) FROM system.parts "+
		"WHERE database = ? AND active AND table IN ('"+strings.Join(catalogTables, "', '")+"') GROUP BY table ORDER BY table", s.opts.Database)
	if err != nil {
		return "", fmt.Errorf("catalog fingerprint: %w", err)
	}
	defer rows.Close()
	var sb strings.Builder
	for rows.Next() {
		var t, x, n string
		if err := rows.Scan(&t, &x, &n); err != nil {
			return "", fmt.Errorf("catalog fingerprint: %w", err)
		}
		sb.WriteString(t + ":" + x + ":" + n + ";")
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("catalog fingerprint: %w", err)
	}
	return sb.String(), nil
}

// fresh makes the cached catalog current for a reader: it checks the
// fingerprint unless a check that began after this call did already, and
// reloads when it moved.
func (s *Store) fresh(ctx context.Context) error {
	start := time.Now()
	s.checkMu.Lock()
	if !s.checkedAt.Before(start) {
		s.checkMu.Unlock()
		return nil
	}
	s.checkedAt = time.Now()
	fp, err := s.fingerprint(ctx)
	same := err == nil && fp == s.fp
	s.checkMu.Unlock()
	if err != nil || same {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	return s.refreshLocked(ctx)
}

// refreshLocked reloads the catalog if its fingerprint moved. The caller
// holds writeMu.
func (s *Store) refreshLocked(ctx context.Context) error {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	s.checkedAt = time.Now()
	fp, err := s.fingerprint(ctx)
	if err != nil {
		return err
	}
	if fp == s.fp {
		return nil
	}
	st, err := s.readCatalog(ctx)
	if err != nil {
		return err
	}
	s.apply(st)
	s.fp = fp
	s.reloads.Add(1)
	return nil
}

// watch checks the catalog once a second until the store closes, so that
// writes see other nodes' columns without creating them again.
func (s *Store) watch() {
	defer close(s.watchDone)
	t := time.NewTicker(s.opts.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopWatch:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.fresh(ctx); err != nil && err != errClosed {
			s.log.Warn("clickhouse catalog refresh failed", "err", err)
		}
		cancel()
	}
}

// catalogState is the catalog as read from the database.
type catalogState struct {
	envs     map[event.EnvID]map[string]*dataset
	datasets map[int64]*dataset
	parts    map[partKey]map[int64]bool
	tombDS   map[int64]bool
	tombCol  map[int64]bool
	colOwner map[int64]colRef
	version  uint64
}

// readCatalog reads the catalog tables and the partition map.
func (s *Store) readCatalog(ctx context.Context) (*catalogState, error) {
	st := &catalogState{
		envs: map[event.EnvID]map[string]*dataset{}, datasets: map[int64]*dataset{}, parts: map[partKey]map[int64]bool{},
		tombDS: map[int64]bool{}, tombCol: map[int64]bool{}, colOwner: map[int64]colRef{},
	}
	rows, err := s.db.QueryContext(ctx, "SELECT id, env, slug, name, description, retention, created, last_written, deleted, version FROM "+
		s.table("datasets")+" FINAL")
	if err != nil {
		return nil, fmt.Errorf("read datasets: %w", err)
	}
	for rows.Next() {
		d := &dataset{cols: map[string]*column{}}
		var env, ret, created, lw int64
		var deleted uint8
		var version uint64
		if err := rows.Scan(&d.id, &env, &d.slug, &d.name, &d.description, &ret, &created, &lw, &deleted, &version); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read datasets: %w", err)
		}
		st.version = max(st.version, version&^(1<<63))
		if deleted != 0 {
			st.tombDS[d.id] = true
			continue
		}
		d.env, d.retention = event.EnvID(env), time.Duration(ret)
		d.created, d.lastWritten = fromNanos(created), fromNanos(lw)
		if st.envs[d.env] == nil {
			st.envs[d.env] = map[string]*dataset{}
		}
		st.envs[d.env][d.slug] = d
		st.datasets[d.id] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read datasets: %w", err)
	}

	cols := map[int64]*column{}
	rows, err = s.db.QueryContext(ctx, "SELECT id, dataset, name, type, phys, description, hidden, created, last_written, deleted, version FROM "+
		s.table("columns")+" FINAL")
	if err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}
	for rows.Next() {
		c := &column{}
		var ds, created, lw int64
		var typ int8
		var hidden, deleted uint8
		var version uint64
		if err := rows.Scan(&c.id, &ds, &c.name, &typ, &c.phys, &c.description, &hidden, &created, &lw, &deleted, &version); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read columns: %w", err)
		}
		st.version = max(st.version, version&^(1<<63))
		st.colOwner[c.id] = colRef{ds, c.name}
		if deleted != 0 {
			st.tombCol[c.id] = true
			continue
		}
		c.decl, c.hidden = event.Type(typ), hidden != 0
		c.created, c.lastWritten = fromNanos(created), fromNanos(lw)
		if d := st.datasets[ds]; d != nil {
			d.cols[c.name] = c
			cols[c.id] = c
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}

	rows, err = s.db.QueryContext(ctx, "SELECT DISTINCT id, type FROM "+s.table("column_types"))
	if err != nil {
		return nil, fmt.Errorf("read column types: %w", err)
	}
	for rows.Next() {
		var id int64
		var t int8
		if err := rows.Scan(&id, &t); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read column types: %w", err)
		}
		if c := cols[id]; c != nil && t > 0 && t <= int8(event.TypeBool) {
			c.phys |= 1 << t
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read column types: %w", err)
	}
	for _, c := range cols {
		c.typ = c.derivedType()
	}

	rows, err = s.db.QueryContext(ctx, "SELECT kind, id, max(ts) FROM "+s.table("last_written")+" GROUP BY kind, id")
	if err != nil {
		return nil, fmt.Errorf("read last-written times: %w", err)
	}
	for rows.Next() {
		var kind uint8
		var id int64
		var ts uint64
		if err := rows.Scan(&kind, &id, &ts); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read last-written times: %w", err)
		}
		t := fromNanos(int64(ts))
		switch kind {
		case lwDataset:
			if d := st.datasets[id]; d != nil && t.After(d.lastWritten) {
				d.lastWritten = t
			}
		case lwColumn:
			if c := cols[id]; c != nil && t.After(c.lastWritten) {
				c.lastWritten = t
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read last-written times: %w", err)
	}

	rows, err = s.db.QueryContext(ctx, "SELECT dataset, ret, day, max(sampled) FROM "+s.table("dataset_days")+" GROUP BY dataset, ret, day")
	if err != nil {
		return nil, fmt.Errorf("read dataset days: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ds, day int64
		var ret uint16
		var sampled uint8
		if err := rows.Scan(&ds, &ret, &day, &sampled); err != nil {
			return nil, fmt.Errorf("read dataset days: %w", err)
		}
		k := partKey{ret, day}
		if st.parts[k] == nil {
			st.parts[k] = map[int64]bool{}
		}
		st.parts[k][ds] = sampled != 0
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read dataset days: %w", err)
	}
	return st, nil
}

// apply replaces the cached catalog with st, keeping what only this node
// knows: newer last-written times and retention's hidden ranges. The caller
// holds writeMu.
func (s *Store) apply(st *catalogState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, d := range st.datasets {
		old := s.datasets[id]
		if old == nil {
			continue
		}
		d.hideBefore = old.hideBefore
		if old.lastWritten.After(d.lastWritten) {
			d.lastWritten = old.lastWritten
		}
		for name, c := range d.cols {
			if oc := old.cols[name]; oc != nil && oc.id == c.id && oc.lastWritten.After(c.lastWritten) {
				c.lastWritten = oc.lastWritten
			}
		}
	}
	s.envs, s.datasets, s.parts = st.envs, st.datasets, st.parts
	s.tombDS, s.tombCol, s.colOwner = st.tombDS, st.tombCol, st.colOwner
	s.version = max(s.version, st.version)
}

// Last-written kinds.
const (
	lwDataset uint8 = 0
	lwColumn  uint8 = 1
)

// derivedType is the column's reported type: its declared (first) type
// widened by every value type seen. Widening is commutative, so every node
// derives the same type from the same set.
func (c *column) derivedType() event.Type {
	t := c.decl
	for v := event.TypeString; v <= event.TypeBool; v++ {
		if c.phys&(1<<v) != 0 {
			t = event.Widen(t, v)
		}
	}
	if t == event.TypeNull {
		t = event.TypeString
	}
	return t
}

// Reloads reports how often the catalog was reloaded because another node
// (or this one) changed it: for tests and metrics.
func (s *Store) Reloads() int64 { return s.reloads.Load() }
