package duckdb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
)

// TraceIDColumn is the column the trace index is built from.
const TraceIDColumn = "trace.trace_id"

// traceHash is the 64-bit FNV-1a hash of a trace id.
func traceHash(id string) int64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return int64(h)
}

// group is the events of one dataset in one day database.
type group struct {
	d      *dataset
	events []*event.Event
}

// Write stores a batch durably; see the package documentation.
func (s *Store) Write(ctx context.Context, b event.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	now := time.Now().UTC()
	days, err := s.resolve(ctx, b, now)
	if err != nil {
		return err
	}
	nums := make([]int64, 0, len(days))
	for n := range days {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	for _, n := range nums {
		if err := s.writeDay(ctx, n, days[n]); err != nil {
			return err
		}
	}
	// Last-written times.
	s.mu.Lock()
	for _, gs := range days {
		for _, g := range gs {
			g.d.lastWritten = now
			s.dirtyDatasets[g.d] = struct{}{}
			for _, e := range g.events {
				for i := range e.Fields {
					if c := g.d.cols[e.Fields[i].Key]; c != nil && c.lastWritten != now {
						c.lastWritten = now
						s.dirtyColumns[c] = struct{}{}
					}
				}
			}
		}
	}
	s.mu.Unlock()
	if time.Since(s.metaFlushedAt) > metaFlushInterval {
		if err := s.flushMeta(ctx); err != nil {
			s.log.Warn("persisting last-written times failed", "err", err)
		}
	}
	return nil
}

// resolve creates missing datasets and columns in the catalog and groups
// the events by day and dataset. Field keys that are not valid UTF-8 are
// repaired in place.
func (s *Store) resolve(ctx context.Context, b event.Batch, now time.Time) (map[int64]map[int64]*group, error) {
	days := map[int64]map[int64]*group{}
	type newCol struct {
		d *dataset
		c *column
	}
	var created []newCol
	var changed []*column
	// pending holds columns created or widened in this batch, applied to the
	// shared metadata only after the catalog commits.
	pending := map[*dataset]map[string]*column{}
	widened := map[*column]uint8{}
	bySlug := map[string]*dataset{}
	for i := range b.Events {
		e := &b.Events[i]
		var d *dataset
		if d = bySlug[e.Dataset]; d == nil {
			slug, err := event.Slug(e.Dataset)
			if err != nil {
				return nil, fmt.Errorf("write: dataset %q: %w", e.Dataset, err)
			}
			if d = s.envs[b.Env][slug]; d == nil {
				d, err = s.createDataset(ctx, b.Env, slug, store.DatasetInfo{Name: strings.TrimSpace(e.Dataset)}, now)
				if err != nil {
					return nil, fmt.Errorf("write: %w", err)
				}
			}
			bySlug[e.Dataset] = d
		}
		for j := range e.Fields {
			f := &e.Fields[j]
			t := f.Value.Type()
			if t == event.TypeNull {
				continue
			}
			if !validString(f.Key) {
				f.Key = validUTF8(f.Key)
			}
			if t == event.TypeString && !validString(f.Value.Str()) {
				f.Value = event.String(validUTF8(f.Value.Str()))
			}
			bit := uint8(1) << t
			c := d.cols[f.Key]
			if c == nil {
				c = pending[d][f.Key]
			}
			if c == nil {
				if len(d.cols)+len(pending[d]) >= store.MaxColumns {
					return nil, fmt.Errorf("write: dataset %q: column %q: %w", d.name, f.Key, store.ErrTooManyColumns)
				}
				c = &column{id: s.nextID, name: f.Key, typ: t, phys: bit, created: now}
				s.nextID++
				if pending[d] == nil {
					pending[d] = map[string]*column{}
				}
				pending[d][f.Key] = c
				created = append(created, newCol{d, c})
				continue
			}
			have := c.phys | widened[c]
			if have&bit == 0 {
				if _, isNew := pending[d][f.Key]; isNew {
					c.phys |= bit
					c.typ = event.Widen(c.typ, t)
				} else {
					if widened[c] == 0 {
						changed = append(changed, c)
					}
					widened[c] |= bit
				}
			}
		}
		ns := nanos(e.Time)
		dn := dayOf(ns)
		if days[dn] == nil {
			days[dn] = map[int64]*group{}
		}
		g := days[dn][d.id]
		if g == nil {
			g = &group{d: d}
			days[dn][d.id] = g
		}
		g.events = append(g.events, e)
	}
	if len(created) == 0 && len(changed) == 0 {
		return days, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("write: add columns: %w", err)
	}
	for _, nc := range created {
		_, err := tx.ExecContext(ctx, `INSERT INTO columns VALUES (?, ?, ?, ?, ?, '', false, ?, 0)`,
			nc.c.id, nc.d.id, nc.c.name, int8(nc.c.typ), int8(nc.c.phys), toNanos(nc.c.created))
		if err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("write: add column %q to %q: %w", nc.c.name, nc.d.name, err)
		}
	}
	for _, c := range changed {
		phys := c.phys | widened[c]
		typ := c.typ
		for t := event.TypeString; t <= event.TypeBool; t++ {
			if widened[c]&(1<<t) != 0 {
				typ = event.Widen(typ, t)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE columns SET type = ?, phys = ? WHERE id = ?`, int8(typ), int8(phys), c.id); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("write: change column %q: %w", c.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("write: add columns: %w", err)
	}
	s.mu.Lock()
	for _, nc := range created {
		nc.d.addColumn(nc.c)
	}
	for _, c := range changed {
		for t := event.TypeString; t <= event.TypeBool; t++ {
			if widened[c]&(1<<t) != 0 {
				c.typ = event.Widen(c.typ, t)
			}
		}
		c.phys |= widened[c]
	}
	s.mu.Unlock()
	return days, nil
}

func validString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return validUTF8(s) == s
		}
	}
	return true
}

// writeDay commits the groups of one day in one transaction.
func (s *Store) writeDay(ctx context.Context, num int64, groups map[int64]*group) error {
	dy := s.days[num]
	if dy == nil {
		var err error
		if dy, err = s.attachDay(ctx, num); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	ids := make([]int64, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })

	if _, err := s.w.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("write day %s: begin: %w", dy.alias, err)
	}
	type result struct {
		t       *table
		fresh   bool
		added   map[string]event.Type
		stats   table
		traces  map[int64][2]int64
		dataset int64
	}
	var results []result
	err := func() error {
		for _, id := range ids {
			g := groups[id]
			r := result{dataset: id}
			r.t = dy.tables[id]
			if r.t == nil {
				r.fresh = true
				r.t = &table{ds: id, phys: map[string]event.Type{}}
			}
			added, err := s.appendGroup(ctx, dy, r.t, r.fresh, g, &r.stats, &r.traces)
			if err != nil {
				return err
			}
			r.added = added
			results = append(results, r)
		}
		// Statistics and trace index, in the same transaction.
		for _, r := range results {
			old := r.t
			st := r.stats
			if !r.fresh {
				st.minTs = min(st.minTs, old.minTs)
				st.maxTs = max(st.maxTs, old.maxTs)
				st.rows += old.rows
				st.sampled = st.sampled || old.sampled
			}
			stmt := "UPDATE " + quote(dy.alias) + ".tables SET min_ts = ?, max_ts = ?, rows = ?, sampled = ? WHERE ds = ?"
			if r.fresh {
				stmt = "INSERT INTO " + quote(dy.alias) + ".tables (min_ts, max_ts, rows, sampled, ds) VALUES (?, ?, ?, ?, ?)"
			}
			if _, err := s.w.ExecContext(ctx, stmt, st.minTs, st.maxTs, st.rows, st.sampled, r.dataset); err != nil {
				return fmt.Errorf("update statistics: %w", err)
			}
		}
		if err := s.appendTraces(ctx, dy, results2traces(results, func(r result) (int64, map[int64][2]int64) { return r.dataset, r.traces })); err != nil {
			return err
		}
		return nil
	}()
	if err != nil {
		if _, rerr := s.w.ExecContext(context.Background(), "ROLLBACK"); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fmt.Errorf("write day %s: %w", dy.alias, err)
	}
	if _, err := s.w.ExecContext(ctx, "COMMIT"); err != nil {
		s.w.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("write day %s: commit: %w", dy.alias, err)
	}
	// Committed: publish the new tables, columns and statistics.
	s.mu.Lock()
	for _, r := range results {
		t := r.t
		if r.fresh {
			t.minTs, t.maxTs, t.rows, t.sampled = r.stats.minTs, r.stats.maxTs, r.stats.rows, r.stats.sampled
		} else {
			t.minTs, t.maxTs = min(t.minTs, r.stats.minTs), max(t.maxTs, r.stats.maxTs)
			t.rows += r.stats.rows
			t.sampled = t.sampled || r.stats.sampled
		}
		for n, ty := range r.added {
			t.phys[n] = ty
		}
		if r.fresh || len(r.added) > 0 {
			s.rebuildColumns(t)
		}
		dy.tables[r.dataset] = t
	}
	s.mu.Unlock()
	return nil
}

type dsTraces struct {
	ds     int64
	traces map[int64][2]int64
}

func results2traces[R any](rs []R, f func(R) (int64, map[int64][2]int64)) []dsTraces {
	out := make([]dsTraces, 0, len(rs))
	for _, r := range rs {
		ds, tr := f(r)
		if len(tr) > 0 {
			out = append(out, dsTraces{ds, tr})
		}
	}
	return out
}

// appendGroup appends one dataset's events to its table in dy, creating the
// table and columns it lacks, inside the open transaction. It returns the
// physical columns added and fills the group's statistics and trace ranges.
func (s *Store) appendGroup(ctx context.Context, dy *day, t *table, fresh bool, g *group, st *table, traces *map[int64][2]int64) (map[string]event.Type, error) {
	d := g.d
	// Physical columns this group uses, in first-seen order.
	pos := make([]int32, len(d.byID)*4)
	for i := range pos {
		pos[i] = -1
	}
	var cols []string
	var types []event.Type
	var traceCol *column = d.cols[TraceIDColumn]
	var pre colCache
	for _, e := range g.events {
		for i := range e.Fields {
			f := &e.Fields[i]
			ty := f.Value.Type()
			if ty == event.TypeNull {
				continue
			}
			c := pre.lookup(d, i, f.Key)
			k := c.slot*4 + int(ty) - 1
			if pos[k] < 0 {
				pos[k] = int32(len(cols))
				cols = append(cols, physName(c.id, ty))
				types = append(types, ty)
			}
		}
	}
	tq := quote(dy.alias) + "." + quote(tableName(d.id))
	added := map[string]event.Type{}
	if fresh {
		var sb strings.Builder
		sb.WriteString("CREATE TABLE " + tq + " (ts BIGINT NOT NULL, sr BIGINT NOT NULL")
		for i, n := range cols {
			sb.WriteString(", " + quote(n) + " " + sqlType(types[i]))
			added[n] = types[i]
		}
		sb.WriteString(")")
		if _, err := s.w.ExecContext(ctx, sb.String()); err != nil {
			return nil, fmt.Errorf("create table for %q: %w", d.name, err)
		}
	} else {
		for i, n := range cols {
			if _, ok := t.phys[n]; ok {
				continue
			}
			if _, err := s.w.ExecContext(ctx, "ALTER TABLE "+tq+" ADD COLUMN "+quote(n)+" "+sqlType(types[i])); err != nil {
				return nil, fmt.Errorf("add column to %q: %w", d.name, err)
			}
			added[n] = types[i]
		}
	}
	st.minTs, st.maxTs = int64(1<<63-1), int64(-1<<63)
	tr := make(map[int64][2]int64, len(g.events)/4)
	var cache colCache
	err := s.w.Raw(func(dc any) error {
		conn, err := rawConn(dc)
		if err != nil {
			return err
		}
		kinds := append([]event.Type{event.TypeInt, event.TypeInt}, types...)
		nullable := make([]bool, len(kinds))
		for i := 2; i < len(nullable); i++ {
			nullable[i] = true
		}
		a, err := newChunkAppender(conn, dy.alias, tableName(d.id), append([]string{"ts", "sr"}, cols...), kinds, nullable)
		if err != nil {
			return err
		}
		for _, e := range g.events {
			row, err := a.next()
			if err != nil {
				a.close()
				return err
			}
			ts := nanos(e.Time)
			sr := e.SampleRate
			if sr <= 0 {
				sr = 1
			}
			if sr != 1 {
				st.sampled = true
			}
			st.minTs, st.maxTs = min(st.minTs, ts), max(st.maxTs, ts)
			a.setInt(0, row, ts)
			a.setInt(1, row, sr)
			for i := range e.Fields {
				f := &e.Fields[i]
				ty := f.Value.Type()
				if ty == event.TypeNull {
					continue
				}
				c := cache.lookup(d, i, f.Key)
				p := 2 + int(pos[c.slot*4+int(ty)-1])
				switch ty {
				case event.TypeString:
					a.setString(p, row, f.Value.Str())
				case event.TypeInt:
					a.setInt(p, row, f.Value.Int())
				case event.TypeFloat:
					a.setFloat(p, row, f.Value.Float())
				case event.TypeBool:
					a.setBool(p, row, f.Value.Bool())
				}
				if c == traceCol {
					h := traceHash(f.Value.Text())
					r, ok := tr[h]
					if !ok {
						r = [2]int64{ts, ts}
					}
					tr[h] = [2]int64{min(r[0], ts), max(r[1], ts)}
				}
			}
		}
		return a.close()
	})
	if err != nil {
		return nil, fmt.Errorf("append to %q: %w", d.name, err)
	}
	st.rows = int64(len(g.events))
	*traces = tr
	return added, nil
}

// colCache finds the columns of an event's fields by position first: events
// of one client carry their fields in the same order (decoders even share
// the key strings), so a string comparison replaces most map lookups.
type colCache struct {
	keys []string
	cols []*column
}

func (cc *colCache) lookup(d *dataset, i int, key string) *column {
	if i < len(cc.keys) && cc.keys[i] == key {
		return cc.cols[i]
	}
	c := d.cols[key]
	for len(cc.keys) <= i {
		cc.keys = append(cc.keys, "")
		cc.cols = append(cc.cols, nil)
	}
	cc.keys[i], cc.cols[i] = key, c
	return c
}

// appendTraces adds trace index rows inside the open transaction.
func (s *Store) appendTraces(ctx context.Context, dy *day, all []dsTraces) error {
	if len(all) == 0 {
		return nil
	}
	err := s.w.Raw(func(dc any) error {
		conn, err := rawConn(dc)
		if err != nil {
			return err
		}
		a, err := newChunkAppender(conn, dy.alias, "traces", []string{"h", "ds", "min_ts", "max_ts"},
			[]event.Type{event.TypeInt, event.TypeInt, event.TypeInt, event.TypeInt}, make([]bool, 4))
		if err != nil {
			return err
		}
		for _, dt := range all {
			for h, r := range dt.traces {
				row, err := a.next()
				if err != nil {
					a.close()
					return err
				}
				a.setInt(0, row, h)
				a.setInt(1, row, dt.ds)
				a.setInt(2, row, r[0])
				a.setInt(3, row, r[1])
			}
		}
		return a.close()
	})
	if err != nil {
		return fmt.Errorf("index traces: %w", err)
	}
	return nil
}
