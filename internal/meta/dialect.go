package meta

import (
	"errors"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// dialect holds what differs between the SQL engines meta runs on. The
// statements themselves are shared; a PostgreSQL dialect will add a
// SQLSTATE 23505 check here.
type dialect interface {
	// name is the engine's name for messages.
	name() string
	// isUniqueViolation reports whether err is a unique or primary key
	// constraint violation.
	isUniqueViolation(err error) bool
}

// duckDBDialect is the embedded default.
type duckDBDialect struct{}

func (duckDBDialect) name() string { return "duckdb" }

func (duckDBDialect) isUniqueViolation(err error) bool {
	var de *duckdb.Error
	if !errors.As(err, &de) || de.Type != duckdb.ErrorTypeConstraint {
		return false
	}
	msg := strings.ToLower(de.Msg)
	return strings.Contains(msg, "duplicate key") || strings.Contains(msg, "unique")
}

// conflict maps a unique violation to ErrConflict and wraps any error with
// context.
func (db *DB) conflict(err error, what string) error {
	if db.dialect.isUniqueViolation(err) {
		return fmt.Errorf("meta: %s: %w (%w)", what, ErrConflict, err)
	}
	return fmt.Errorf("meta: %s: %w", what, err)
}
