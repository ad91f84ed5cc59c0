package duckdb

import (
	"context"
	"fmt"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
)

// CreateColumn creates a column ahead of its first value. The column has no
// physical column anywhere until values arrive (phys 0): the writer adds
// physical columns per day as it does for any column, and widens the
// declared type as usual when values of other types come.
func (s *Store) CreateColumn(ctx context.Context, env event.EnvID, name string, spec store.ColumnSpec) (store.Column, bool, error) {
	if spec.Name == "" {
		return store.Column{}, false, fmt.Errorf("create column: empty name")
	}
	typ := spec.Type
	if typ == event.TypeNull {
		typ = event.TypeString
	}
	if typ > event.TypeBool {
		return store.Column{}, false, fmt.Errorf("create column %q: unknown type %d", spec.Name, typ)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return store.Column{}, false, errClosed
	}
	d, err := s.lookup(env, name)
	if err != nil {
		return store.Column{}, false, fmt.Errorf("create column: %w", err)
	}
	key := validUTF8(spec.Name)
	if c := d.cols[key]; c != nil {
		return d.columnInfo(c), false, nil
	}
	if len(d.cols) >= store.MaxColumns {
		return store.Column{}, false, fmt.Errorf("create column %q in %q: %w", key, d.name, store.ErrTooManyColumns)
	}
	c := &column{
		id: s.nextID, name: key, typ: typ, description: validUTF8(spec.Description),
		hidden: spec.Hidden, created: time.Now().UTC(),
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO columns VALUES (?, ?, ?, ?, 0, ?, ?, ?, 0)`,
		c.id, d.id, c.name, int8(c.typ), c.description, c.hidden, toNanos(c.created))
	if err != nil {
		return store.Column{}, false, fmt.Errorf("create column %q in %q: %w", key, d.name, err)
	}
	s.nextID++
	s.mu.Lock()
	d.addColumn(c)
	s.mu.Unlock()
	return d.columnInfo(c), true, nil
}

// DeleteColumn removes a column and its values: its physical columns are
// dropped from every day table of the dataset (one transaction per day
// database), then its catalog row is deleted. A crash in between leaves the
// column with part of its values, and deleting it again finishes the job;
// never values without a column. Day databases that lost columns are
// compacted by the next retention pass, which frees their disk.
func (s *Store) DeleteColumn(ctx context.Context, env event.EnvID, name, col string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	d, err := s.lookup(env, name)
	if err != nil {
		return fmt.Errorf("delete column: %w", err)
	}
	c := d.cols[col]
	if c == nil {
		return fmt.Errorf("delete column %q: %w", col, store.ErrNotFound)
	}
	if err := s.keepIDs(ctx); err != nil {
		return fmt.Errorf("delete column %q of %q: %w", col, d.name, err)
	}
	// Queries read the physical columns: keep them out while they go.
	s.attach.Lock()
	err = s.dropPhysical(ctx, d, c)
	s.attach.Unlock()
	if err != nil {
		return fmt.Errorf("delete column %q of %q: %w", col, d.name, err)
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM columns WHERE id = ?`, c.id); err != nil {
		return fmt.Errorf("delete column %q of %q: %w", col, d.name, err)
	}
	s.mu.Lock()
	delete(d.cols, c.name)
	byID := d.byID[:0]
	for _, o := range d.byID {
		if o != c {
			o.slot = len(byID)
			byID = append(byID, o)
		}
	}
	clear(d.byID[len(byID):])
	d.byID = byID
	delete(s.dirtyColumns, c)
	s.mu.Unlock()
	return nil
}

// dropPhysical drops c's physical columns from every day table of d. The
// caller holds writeMu and attach.
func (s *Store) dropPhysical(ctx context.Context, d *dataset, c *column) error {
	for _, dy := range s.sortedDays() {
		t := dy.tables[d.id]
		if t == nil {
			continue
		}
		var names []string
		for ty := event.TypeString; ty <= event.TypeBool; ty++ {
			if _, ok := t.phys[physName(c.id, ty)]; ok {
				names = append(names, physName(c.id, ty))
			}
		}
		if len(names) == 0 {
			continue
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("day %s: %w", dy.alias, err)
		}
		tq := quote(dy.alias) + "." + quote(tableName(d.id))
		for _, n := range names {
			if _, err := tx.ExecContext(ctx, "ALTER TABLE "+tq+" DROP COLUMN "+quote(n)); err != nil {
				tx.Rollback()
				return fmt.Errorf("day %s: %w", dy.alias, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("day %s: %w", dy.alias, err)
		}
		s.mu.Lock()
		for _, n := range names {
			delete(t.phys, n)
		}
		// The column is still in d.byID: rebuild from phys, then drop its
		// entry (columns maps are replaced, never changed).
		s.rebuildColumns(t)
		delete(t.columns, c.name)
		dy.dropped = true
		s.mu.Unlock()
	}
	return nil
}
