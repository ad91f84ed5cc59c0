package meta

import (
	"database/sql"
	"fmt"
)

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(s interface{ Scan(...any) error }) (T, error), what string) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("meta: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("meta: %s: %w", what, err)
	}
	return out, nil
}

// affected returns ErrNotFound (with context) when res changed no row.
func affected(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("meta: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("meta: %s: %w", what, ErrNotFound)
	}
	return nil
}
