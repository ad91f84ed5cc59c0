package query

import (
	"context"

	"github.com/waggle-hq/waggle/internal/event"
)

// ColumnInfo is what the engine needs to know about a column to validate a
// spec: its logical type.
type ColumnInfo struct {
	Type event.Type
	// Derived is set for a derived column (derived.go): Type is then its
	// expression's type.
	Derived *DerivedColumn
}

// Catalog describes the columns of datasets. The engine validates every spec
// against it before building a Plan.
type Catalog interface {
	// Columns returns the union of the columns of the named datasets (names
	// as the client wrote them, case-insensitive), keyed by column name; an
	// empty datasets means every dataset of env. A column whose type differs
	// between datasets has the widened type (see event.Widen). An unknown
	// dataset is reported with an error wrapping ErrUnknownDataset.
	Columns(ctx context.Context, env event.EnvID, datasets []string) (map[string]ColumnInfo, error)
}

// Executor runs plans. store.Store satisfies it.
type Executor interface {
	Execute(ctx context.Context, env event.EnvID, p *Plan) (*Result, error)
}

// AggregateFilterer is implemented by executors that honour Aggregate.Where
// (per-calculation filters). The engine rejects specs with calculation
// filters when its executor does not implement it or returns false, rather
// than return numbers that ignore them.
type AggregateFilterer interface {
	AggregateFilters() bool
}
