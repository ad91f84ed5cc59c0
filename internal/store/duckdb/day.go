package duckdb

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// day is one attached day database.
type day struct {
	num    int64 // days since the epoch
	alias  string
	path   string
	tables map[int64]*table // by dataset id
	// dropped reports that tables were dropped since the file was last
	// written whole: compaction would free space.
	dropped bool
}

// table is one dataset's event table in a day database.
type table struct {
	ds      int64
	phys    map[string]event.Type // physical columns present (beyond ts, sr)
	minTs   int64
	maxTs   int64
	rows    int64
	sampled bool
	// columns is the logical→physical map handed to sqlgen; replaced, never
	// changed, when phys changes.
	columns map[string]sqlgen.Physical
}

const daySchema = `
CREATE TABLE IF NOT EXISTS %[1]s.tables (ds BIGINT NOT NULL, min_ts BIGINT NOT NULL, max_ts BIGINT NOT NULL, rows BIGINT NOT NULL, sampled BOOLEAN NOT NULL);
CREATE TABLE IF NOT EXISTS %[1]s.traces (h BIGINT NOT NULL, ds BIGINT NOT NULL, min_ts BIGINT NOT NULL, max_ts BIGINT NOT NULL);
`

// dayRowGroupSize is the row group size day databases are attached with
// (DuckDB keeps it per attachment, not in the file). DuckDB writes a
// transaction's appends to a table straight into compressed blocks of the
// database file, logging only their location in the write-ahead log, when
// the table was empty or the transaction appends at least a row group;
// smaller appends are logged uncompressed (about 480 bytes per event here),
// and the disk's bandwidth for the log bounds ingest. With DuckDB's default
// of 122,880 rows a group commit would need that many events per dataset;
// 8,192 rows is what a commit under load reaches. Checkpoints merge the
// partial row groups commits leave behind.
const dayRowGroupSize = 8192

// attachSQL attaches the day database at path as alias.
func attachSQL(path, alias string) string {
	return "ATTACH " + sqlString(path) + " AS " + quote(alias) +
		" (ROW_GROUP_SIZE " + strconv.Itoa(dayRowGroupSize) + ", STORAGE_VERSION 'v1.5.0')"
}

func dayName(num int64) string {
	return time.Unix(num*86400, 0).UTC().Format("20060102")
}

func (s *Store) dayPath(num int64) string {
	return filepath.Join(s.dir, "parts", dayName(num)+".duckdb")
}

// loadDays attaches every day database of the data directory.
func (s *Store) loadDays(ctx context.Context) error {
	parts := filepath.Join(s.dir, "parts")
	entries, err := os.ReadDir(parts)
	if err != nil {
		return fmt.Errorf("list day databases: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".compact") || strings.HasSuffix(name, ".compact.wal") {
			// A compaction that did not finish: the original is intact.
			if err := os.Remove(filepath.Join(parts, name)); err != nil {
				return fmt.Errorf("remove unfinished compaction: %w", err)
			}
			continue
		}
		base, ok := strings.CutSuffix(name, ".duckdb")
		if !ok {
			continue
		}
		t, err := time.Parse("20060102", base)
		if err != nil {
			s.log.Warn("ignoring unknown file in data directory", "file", name)
			continue
		}
		if _, err := s.attachDay(ctx, t.Unix()/86400); err != nil {
			return err
		}
	}
	return nil
}

// attachDay attaches (creating if needed) the database of day num and reads
// its tables. The caller holds writeMu or is Open.
func (s *Store) attachDay(ctx context.Context, num int64) (*day, error) {
	dy := &day{num: num, alias: "p" + dayName(num), path: s.dayPath(num), tables: map[int64]*table{}}
	if _, err := s.w.ExecContext(ctx, attachSQL(dy.path, dy.alias)); err != nil {
		return nil, fmt.Errorf("attach day %s: %w", dayName(num), err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf(daySchema, quote(dy.alias))); err != nil {
		return nil, fmt.Errorf("prepare day %s: %w", dayName(num), err)
	}
	if err := s.readDay(ctx, dy); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.days[num] = dy
	s.mu.Unlock()
	return dy, nil
}

// readDay reads a day database's table statistics and columns.
func (s *Store) readDay(ctx context.Context, dy *day) error {
	rows, err := s.w.QueryContext(ctx, "SELECT ds, min_ts, max_ts, rows, sampled FROM "+quote(dy.alias)+".tables")
	if err != nil {
		return fmt.Errorf("read day %s: %w", dy.alias, err)
	}
	for rows.Next() {
		t := &table{phys: map[string]event.Type{}}
		if err := rows.Scan(&t.ds, &t.minTs, &t.maxTs, &t.rows, &t.sampled); err != nil {
			rows.Close()
			return fmt.Errorf("read day %s: %w", dy.alias, err)
		}
		dy.tables[t.ds] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read day %s: %w", dy.alias, err)
	}
	rows, err = s.w.QueryContext(ctx, `SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main'`, dy.alias)
	if err != nil {
		return fmt.Errorf("read day %s columns: %w", dy.alias, err)
	}
	defer rows.Close()
	for rows.Next() {
		var tn, cn string
		if err := rows.Scan(&tn, &cn); err != nil {
			return fmt.Errorf("read day %s columns: %w", dy.alias, err)
		}
		var ds int64
		if _, err := fmt.Sscanf(tn, "e%d", &ds); err != nil || tn != tableName(ds) {
			continue
		}
		t := dy.tables[ds]
		if t == nil {
			// A table without statistics holds nothing committed.
			continue
		}
		if cn == "ts" || cn == "sr" || len(cn) < 2 {
			continue
		}
		t.phys[cn] = letterType(cn[len(cn)-1])
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read day %s columns: %w", dy.alias, err)
	}
	for _, t := range dy.tables {
		s.rebuildColumns(t)
	}
	return nil
}

func letterType(b byte) event.Type {
	switch b {
	case 'i':
		return event.TypeInt
	case 'f':
		return event.TypeFloat
	case 'b':
		return event.TypeBool
	}
	return event.TypeString
}

func tableName(ds int64) string { return "e" + inum(ds) }

// rebuildColumns recomputes t.columns from t.phys and the dataset's columns.
func (s *Store) rebuildColumns(t *table) {
	d := s.datasets[t.ds]
	m := map[string]sqlgen.Physical{}
	if d != nil {
		for _, c := range d.byID {
			var p sqlgen.Physical
			any := false
			for _, ty := range []event.Type{event.TypeString, event.TypeInt, event.TypeFloat, event.TypeBool} {
				n := physName(c.id, ty)
				if _, ok := t.phys[n]; !ok {
					continue
				}
				any = true
				switch ty {
				case event.TypeString:
					p.String = n
				case event.TypeInt:
					p.Int = n
				case event.TypeFloat:
					p.Float = n
				case event.TypeBool:
					p.Bool = n
				}
			}
			if any {
				m[c.name] = p
			}
		}
	}
	t.columns = m
}

// sortedDays lists the day databases oldest first.
func (s *Store) sortedDays() []*day {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*day, 0, len(s.days))
	for _, d := range s.days {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].num < out[j].num })
	return out
}

// dropTables drops datasets' tables from a day database in one transaction.
// The caller holds writeMu.
func (s *Store) dropTables(ctx context.Context, dy *day, ds []int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("drop tables of %s: %w", dy.alias, err)
	}
	for _, id := range ds {
		stmt := "DROP TABLE IF EXISTS " + quote(dy.alias) + "." + quote(tableName(id)) +
			"; DELETE FROM " + quote(dy.alias) + ".tables WHERE ds = " + inum(id) +
			"; DELETE FROM " + quote(dy.alias) + ".traces WHERE ds = " + inum(id)
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			tx.Rollback()
			return fmt.Errorf("drop tables of %s: %w", dy.alias, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("drop tables of %s: %w", dy.alias, err)
	}
	s.mu.Lock()
	for _, id := range ds {
		delete(dy.tables, id)
	}
	dy.dropped = true
	s.mu.Unlock()
	return nil
}

// sqlString quotes a string literal (used only for file paths the store
// builds).
func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
