package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver
)

var physRe = regexp.MustCompile(`^c([0-9]+)[sifb]$`)

// openRaw opens an in-memory DuckDB with the data directory's catalog and
// day databases attached read-only, finds the dataset's physical table and
// column names in the catalog, and applies the same memory limit and thread
// count as waggle's store.
func openRaw(ctx context.Context, dataDir string, env int64, dataset string) (*rawDB, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	r := &rawDB{db: db, conn: conn}
	if err := r.setup(ctx, dataDir, env, dataset); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *rawDB) close() {
	r.conn.Close()
	r.db.Close()
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (r *rawDB) setup(ctx context.Context, dataDir string, env int64, dataset string) error {
	exec := func(q string) error {
		if _, err := r.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		return nil
	}
	if err := exec(fmt.Sprintf("SET memory_limit = '%db'", storeMemoryLimit)); err != nil {
		return err
	}
	if err := exec("SET threads = " + strconv.Itoa(runtime.NumCPU())); err != nil {
		return err
	}
	if err := exec("ATTACH " + sqlString(filepath.Join(dataDir, "catalog.duckdb")) + " AS cat (READ_ONLY)"); err != nil {
		return err
	}
	var dsID int64
	if err := r.conn.QueryRowContext(ctx, "SELECT id FROM cat.datasets WHERE env = ? AND slug = ?", env, dataset).Scan(&dsID); err != nil {
		return fmt.Errorf("find dataset %q in the catalog: %w", dataset, err)
	}
	names := map[int64]string{}
	rows, err := r.conn.QueryContext(ctx, "SELECT id, name FROM cat.columns WHERE dataset = ?", dsID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return err
		}
		names[id] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	files, err := filepath.Glob(filepath.Join(dataDir, "parts", "*.duckdb"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	table := "e" + strconv.FormatInt(dsID, 10)
	var froms []string
	cols := map[string]string{}
	var all []string
	for _, f := range files {
		alias := "p" + strings.TrimSuffix(filepath.Base(f), ".duckdb")
		if _, err := os.Stat(f); err != nil {
			return err
		}
		if err := exec("ATTACH " + sqlString(f) + " AS " + quoteIdent(alias) + " (READ_ONLY)"); err != nil {
			return err
		}
		rows, err := r.conn.QueryContext(ctx,
			"SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND table_name = ? ORDER BY column_index", alias, table)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			n++
			if len(froms) == 0 {
				all = append(all, c)
			}
			m := physRe.FindStringSubmatch(c)
			if m == nil {
				continue
			}
			id, _ := strconv.ParseInt(m[1], 10, 64)
			name, ok := names[id]
			if !ok {
				continue
			}
			if prev, dup := cols[name]; dup && prev != c {
				rows.Close()
				return fmt.Errorf("column %q has two physical columns (%s, %s); the baseline SQL assumes one", name, prev, c)
			}
			cols[name] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n > 0 {
			froms = append(froms, quoteIdent(alias)+"."+quoteIdent(table))
		}
	}
	switch len(froms) {
	case 0:
		return fmt.Errorf("dataset %q has no day table", dataset)
	case 1:
		r.t = &rawTable{from: froms[0], cols: cols}
	default:
		r.t = &rawTable{from: "(SELECT * FROM " + strings.Join(froms, " UNION ALL BY NAME SELECT * FROM ") + ")", cols: cols}
	}
	r.t.all = strings.Join(all, ", ")
	return nil
}

// query runs a query and reads every row.
func (r *rawDB) query(ctx context.Context, q string, args ...any) ([][]any, error) {
	rows, err := r.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return scanAll(rows)
}
