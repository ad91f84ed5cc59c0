package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
)

const catalogSchema = `
CREATE TABLE IF NOT EXISTS datasets (
	id BIGINT PRIMARY KEY, env BIGINT NOT NULL, slug VARCHAR NOT NULL, name VARCHAR NOT NULL,
	description VARCHAR NOT NULL, retention BIGINT NOT NULL, created BIGINT NOT NULL, last_written BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS columns (
	id BIGINT PRIMARY KEY, dataset BIGINT NOT NULL, name VARCHAR NOT NULL, type TINYINT NOT NULL,
	phys TINYINT NOT NULL, description VARCHAR NOT NULL, hidden BOOLEAN NOT NULL,
	created BIGINT NOT NULL, last_written BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS id_floor (next BIGINT NOT NULL);
`

// load creates or reads the catalog and attaches every day database.
func (s *Store) load(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, catalogSchema); err != nil {
		return fmt.Errorf("create catalog: %w", err)
	}
	rows, err := s.w.QueryContext(ctx, `SELECT id, env, slug, name, description, retention, created, last_written FROM datasets`)
	if err != nil {
		return fmt.Errorf("read datasets: %w", err)
	}
	for rows.Next() {
		d := &dataset{cols: map[string]*column{}}
		var env, ret, created, lw int64
		if err := rows.Scan(&d.id, &env, &d.slug, &d.name, &d.description, &ret, &created, &lw); err != nil {
			rows.Close()
			return fmt.Errorf("read datasets: %w", err)
		}
		d.env, d.retention = event.EnvID(env), time.Duration(ret)
		d.created, d.lastWritten = fromNanos(created), fromNanos(lw)
		s.addDataset(d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read datasets: %w", err)
	}
	rows, err = s.w.QueryContext(ctx, `SELECT id, dataset, name, type, phys, description, hidden, created, last_written FROM columns ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c := &column{}
		var ds, created, lw int64
		var typ, phys int8
		if err := rows.Scan(&c.id, &ds, &c.name, &typ, &phys, &c.description, &c.hidden, &created, &lw); err != nil {
			return fmt.Errorf("read columns: %w", err)
		}
		c.typ, c.phys = event.Type(typ), uint8(phys)
		c.created, c.lastWritten = fromNanos(created), fromNanos(lw)
		if c.id >= s.nextID {
			s.nextID = c.id + 1
		}
		if d := s.datasets[ds]; d != nil {
			d.addColumn(c)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	var floor sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT max(next) FROM id_floor`).Scan(&floor); err != nil {
		return fmt.Errorf("read id floor: %w", err)
	}
	if floor.Valid && floor.Int64 > s.nextID {
		s.nextID = floor.Int64
	}
	return s.loadDays(ctx)
}

// keepIDs records that ids below s.nextID are taken, so that ids of deleted
// datasets and columns are never given again after a restart (their tables
// or physical columns might outlive them after a crash). The caller holds
// writeMu.
func (s *Store) keepIDs(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM id_floor; INSERT INTO id_floor VALUES (`+inum(s.nextID)+`)`)
	if err != nil {
		return fmt.Errorf("record id floor: %w", err)
	}
	return nil
}

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

func (s *Store) addDataset(d *dataset) {
	if s.envs[d.env] == nil {
		s.envs[d.env] = map[string]*dataset{}
	}
	s.envs[d.env][d.slug] = d
	s.datasets[d.id] = d
	if d.id >= s.nextID {
		s.nextID = d.id + 1
	}
}

func (d *dataset) addColumn(c *column) {
	c.slot = len(d.byID)
	d.byID = append(d.byID, c)
	d.cols[c.name] = c
}

// lookup finds a dataset by name or slug. Callers hold mu (or writeMu).
func (s *Store) lookup(env event.EnvID, name string) (*dataset, error) {
	slug, err := event.Slug(name)
	if err != nil {
		return nil, fmt.Errorf("dataset %q: %w", name, err)
	}
	d := s.envs[env][slug]
	if d == nil {
		return nil, fmt.Errorf("dataset %q: %w", name, store.ErrNotFound)
	}
	return d, nil
}

func (d *dataset) info() store.Dataset {
	return store.Dataset{
		Env: d.env, Slug: d.slug, Name: d.name, Description: d.description,
		Retention: d.retention, CreatedAt: d.created, LastWrittenAt: d.lastWritten,
		Columns: len(d.cols),
	}
}

func (d *dataset) columnInfo(c *column) store.Column {
	return store.Column{
		ID: strconv.FormatInt(c.id, 10), Name: c.name, Type: c.typ, Description: c.description,
		Hidden: c.hidden, CreatedAt: c.created, LastWritten: c.lastWritten,
	}
}

// createDataset creates a dataset in the catalog. The caller holds writeMu.
func (s *Store) createDataset(ctx context.Context, env event.EnvID, slug string, info store.DatasetInfo, now time.Time) (*dataset, error) {
	ret := info.Retention
	if ret <= 0 {
		ret = store.DefaultRetention
	}
	d := &dataset{
		id: s.nextID, env: env, slug: slug, name: validUTF8(info.Name), description: validUTF8(info.Description),
		retention: ret, created: now.UTC(), cols: map[string]*column{},
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, 0)`,
		d.id, int64(env), d.slug, d.name, d.description, int64(d.retention), toNanos(d.created))
	if err != nil {
		return nil, fmt.Errorf("create dataset %q: %w", info.Name, err)
	}
	s.mu.Lock()
	s.addDataset(d)
	s.mu.Unlock()
	return d, nil
}

// CreateDataset creates a dataset if it does not exist.
func (s *Store) CreateDataset(ctx context.Context, env event.EnvID, info store.DatasetInfo) (store.Dataset, bool, error) {
	slug, err := event.Slug(info.Name)
	if err != nil {
		return store.Dataset{}, false, fmt.Errorf("create dataset %q: %w", info.Name, err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return store.Dataset{}, false, errClosed
	}
	if d := s.envs[env][slug]; d != nil {
		return d.info(), false, nil
	}
	d, err := s.createDataset(ctx, env, slug, info, time.Now())
	if err != nil {
		return store.Dataset{}, false, err
	}
	return d.info(), true, nil
}

// Dataset returns one dataset by name or slug.
func (s *Store) Dataset(_ context.Context, env event.EnvID, name string) (store.Dataset, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.lookup(env, name)
	if err != nil {
		return store.Dataset{}, err
	}
	return d.info(), nil
}

// Datasets lists the environment's datasets ordered by slug.
func (s *Store) Datasets(_ context.Context, env event.EnvID) ([]store.Dataset, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]store.Dataset, 0, len(s.envs[env]))
	for _, d := range s.envs[env] {
		out = append(out, d.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out, nil
}

// UpdateDataset changes a dataset's description and retention.
func (s *Store) UpdateDataset(ctx context.Context, env event.EnvID, slug string, info store.DatasetInfo) (store.Dataset, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return store.Dataset{}, errClosed
	}
	d, err := s.lookup(env, slug)
	if err != nil {
		return store.Dataset{}, fmt.Errorf("update dataset: %w", err)
	}
	ret := info.Retention
	if ret <= 0 {
		ret = store.DefaultRetention
	}
	desc := validUTF8(info.Description)
	if _, err := s.w.ExecContext(ctx, `UPDATE datasets SET description = ?, retention = ? WHERE id = ?`, desc, int64(ret), d.id); err != nil {
		return store.Dataset{}, fmt.Errorf("update dataset %q: %w", d.slug, err)
	}
	s.mu.Lock()
	d.description, d.retention = desc, ret
	s.mu.Unlock()
	return d.info(), nil
}

// DeleteDataset removes a dataset, its columns and its events.
func (s *Store) DeleteDataset(ctx context.Context, env event.EnvID, slug string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	d, err := s.lookup(env, slug)
	if err != nil {
		return fmt.Errorf("delete dataset: %w", err)
	}
	if err := s.keepIDs(ctx); err != nil {
		return fmt.Errorf("delete dataset %q: %w", d.slug, err)
	}
	// Forget it first so queries stop reading its tables.
	s.mu.Lock()
	delete(s.envs[env], d.slug)
	delete(s.datasets, d.id)
	s.mu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete dataset %q: %w", d.slug, err)
	}
	for _, stmt := range []string{`DELETE FROM columns WHERE dataset = ?`, `DELETE FROM datasets WHERE id = ?`} {
		if _, err := tx.ExecContext(ctx, stmt, d.id); err != nil {
			tx.Rollback()
			return fmt.Errorf("delete dataset %q: %w", d.slug, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete dataset %q: %w", d.slug, err)
	}
	for _, dy := range s.sortedDays() {
		if dy.tables[d.id] == nil {
			continue
		}
		if err := s.dropTables(ctx, dy, []int64{d.id}); err != nil {
			return fmt.Errorf("delete dataset %q: %w", d.slug, err)
		}
	}
	return nil
}

// Columns lists a dataset's columns ordered by name.
func (s *Store) Columns(_ context.Context, env event.EnvID, name string) ([]store.Column, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.lookup(env, name)
	if err != nil {
		return nil, err
	}
	out := make([]store.Column, 0, len(d.cols))
	for _, c := range d.byID {
		out = append(out, d.columnInfo(c))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// UpdateColumn changes a column's description and hidden flag.
func (s *Store) UpdateColumn(ctx context.Context, env event.EnvID, name, col string, u store.ColumnUpdate) (store.Column, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return store.Column{}, errClosed
	}
	d, err := s.lookup(env, name)
	if err != nil {
		return store.Column{}, fmt.Errorf("update column: %w", err)
	}
	c := d.cols[col]
	if c == nil {
		return store.Column{}, fmt.Errorf("update column %q: %w", col, store.ErrNotFound)
	}
	desc, hidden := c.description, c.hidden
	if u.Description != nil {
		desc = validUTF8(*u.Description)
	}
	if u.Hidden != nil {
		hidden = *u.Hidden
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE columns SET description = ?, hidden = ? WHERE id = ?`, desc, hidden, c.id); err != nil {
		return store.Column{}, fmt.Errorf("update column %q: %w", col, err)
	}
	s.mu.Lock()
	c.description, c.hidden = desc, hidden
	s.mu.Unlock()
	return d.columnInfo(c), nil
}

// flushMeta persists the last-written times changed since the last flush.
// The caller holds writeMu.
func (s *Store) flushMeta(ctx context.Context) error {
	if len(s.dirtyDatasets) == 0 && len(s.dirtyColumns) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("persist last-written times: %w", err)
	}
	type upd struct{ id, lw int64 }
	flush := func(table string, us []upd) error {
		for len(us) > 0 {
			n := min(len(us), 500)
			var sb strings.Builder
			args := make([]any, 0, 2*n)
			sb.WriteString("UPDATE " + table + " SET last_written = v.lw FROM (VALUES ")
			for i, u := range us[:n] {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(?::BIGINT, ?::BIGINT)")
				args = append(args, u.id, u.lw)
			}
			sb.WriteString(") AS v(id, lw) WHERE " + table + ".id = v.id")
			if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
				return err
			}
			us = us[n:]
		}
		return nil
	}
	var ds, cs []upd
	s.mu.RLock()
	for d := range s.dirtyDatasets {
		ds = append(ds, upd{d.id, toNanos(d.lastWritten)})
	}
	for c := range s.dirtyColumns {
		cs = append(cs, upd{c.id, toNanos(c.lastWritten)})
	}
	s.mu.RUnlock()
	if err := flush("datasets", ds); err != nil {
		tx.Rollback()
		return fmt.Errorf("persist last-written times: %w", err)
	}
	if err := flush("columns", cs); err != nil {
		tx.Rollback()
		return fmt.Errorf("persist last-written times: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("persist last-written times: %w", err)
	}
	clear(s.dirtyDatasets)
	clear(s.dirtyColumns)
	s.metaFlushedAt = time.Now()
	return nil
}
