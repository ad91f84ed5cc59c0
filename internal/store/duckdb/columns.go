package duckdb

import (
	"context"
	"errors"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
)

var errNotImplemented = errors.New("not implemented yet")

// CreateColumn creates a column ahead of its first value.
func (s *Store) CreateColumn(ctx context.Context, env event.EnvID, name string, spec store.ColumnSpec) (store.Column, bool, error) {
	return store.Column{}, false, errNotImplemented
}

// DeleteColumn removes a column and its values.
func (s *Store) DeleteColumn(ctx context.Context, env event.EnvID, name, col string) error {
	return errNotImplemented
}
