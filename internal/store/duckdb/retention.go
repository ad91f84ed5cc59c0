package duckdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// EnforceRetention drops every day table whose whole day is older than its
// dataset's retention as of now (and the tables of deleted datasets), then
// frees the disk: a day database left empty is detached and deleted, one that
// lost only some tables is rewritten without them.
func (s *Store) EnforceRetention(ctx context.Context, now time.Time) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	var errs []error
	for _, dy := range s.sortedDays() {
		end := time.Unix(0, (dy.num+1)*dayNanos)
		var drop []int64
		s.mu.RLock()
		for id := range dy.tables {
			d := s.datasets[id]
			if d == nil || !end.After(now.Add(-d.retention)) {
				drop = append(drop, id)
			}
		}
		all := len(drop) == len(dy.tables)
		s.mu.RUnlock()
		var err error
		switch {
		case all:
			err = s.removeDay(ctx, dy)
		case len(drop) > 0:
			if err = s.dropTables(ctx, dy, drop); err == nil {
				err = s.compactDay(ctx, dy)
			}
		case dy.dropped:
			err = s.compactDay(ctx, dy)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("enforce retention: %w", err)
	}
	return nil
}

// removeDay detaches a day database and deletes its files.
func (s *Store) removeDay(ctx context.Context, dy *day) error {
	s.attach.Lock()
	defer s.attach.Unlock()
	if _, err := s.w.ExecContext(ctx, "DETACH "+quote(dy.alias)); err != nil {
		return fmt.Errorf("detach %s: %w", dy.alias, err)
	}
	s.mu.Lock()
	delete(s.days, dy.num)
	s.mu.Unlock()
	if err := removeFiles(dy.path); err != nil {
		return fmt.Errorf("remove %s: %w", dy.alias, err)
	}
	s.log.Info("removed day database past retention", "day", dy.alias)
	return nil
}

func removeFiles(path string) error {
	var errs []error
	for _, p := range []string{path, path + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// compactDay rewrites a day database into a fresh file holding only its
// live tables, and swaps it in.
func (s *Store) compactDay(ctx context.Context, dy *day) error {
	tmp := dy.path + ".compact"
	if err := removeFiles(tmp); err != nil {
		return fmt.Errorf("compact %s: %w", dy.alias, err)
	}
	tmpAlias := dy.alias + "_compact"
	if _, err := s.w.ExecContext(ctx, "ATTACH "+sqlString(tmp)+" AS "+quote(tmpAlias)); err != nil {
		return fmt.Errorf("compact %s: %w", dy.alias, err)
	}
	_, err := s.w.ExecContext(ctx, "COPY FROM DATABASE "+quote(dy.alias)+" TO "+quote(tmpAlias))
	if err == nil {
		_, err = s.w.ExecContext(ctx, "CHECKPOINT "+quote(tmpAlias))
	}
	if _, derr := s.w.ExecContext(ctx, "DETACH "+quote(tmpAlias)); derr != nil && err == nil {
		err = derr
	}
	if err != nil {
		removeFiles(tmp)
		return fmt.Errorf("compact %s: %w", dy.alias, err)
	}
	s.attach.Lock()
	defer s.attach.Unlock()
	// No query runs now (they hold attach shared): checkpoint the original
	// so that it has no write-ahead log left, which would otherwise be
	// replayed onto the replacement.
	if _, err := s.w.ExecContext(ctx, "CHECKPOINT "+quote(dy.alias)); err != nil {
		removeFiles(tmp)
		return fmt.Errorf("compact %s: checkpoint: %w", dy.alias, err)
	}
	if _, err := s.w.ExecContext(ctx, "DETACH "+quote(dy.alias)); err != nil {
		removeFiles(tmp)
		return fmt.Errorf("compact %s: detach: %w", dy.alias, err)
	}
	// The copy is complete and checkpointed: replacing the original is the
	// commit point. A crash before the rename leaves the original (and a
	// .compact file that Open removes).
	var renameErr error
	if fi, err := os.Stat(dy.path + ".wal"); err == nil && fi.Size() > 0 {
		renameErr = fmt.Errorf("write-ahead log left after checkpoint")
		removeFiles(tmp)
	} else {
		renameErr = os.Rename(tmp, dy.path)
		if renameErr == nil {
			if err := os.Remove(dy.path + ".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
				renameErr = err
			}
		}
	}
	// Re-attach with the same options as every day database (row group
	// size, storage version), or this day's appends would go back to
	// logging every row in the write-ahead log.
	if _, err := s.w.ExecContext(ctx, attachSQL(dy.path, dy.alias)); err != nil {
		return fmt.Errorf("compact %s: reattach: %w", dy.alias, errors.Join(renameErr, err))
	}
	if renameErr != nil {
		return fmt.Errorf("compact %s: %w", dy.alias, renameErr)
	}
	s.mu.Lock()
	dy.dropped = false
	s.mu.Unlock()
	return nil
}
