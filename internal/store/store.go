// Package store defines the narrow interface between waggle and the engines
// that keep events (embedded DuckDB, ClickHouse). Protocols never see a store;
// they hand events to the ingest pipeline, which calls Write. The query engine
// hands a validated query.Plan to Execute.
//
// Every method is scoped to one environment: a store never returns or changes
// data of another environment than the one it is asked about.
//
// Every backend passes the conformance suite in package storetest.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

// Errors a store returns; wrapped with context, test them with errors.Is.
var (
	// ErrNotFound means the dataset or column does not exist in the environment.
	ErrNotFound = errors.New("not found")
	// ErrTooManyColumns means a dataset would exceed MaxColumns.
	ErrTooManyColumns = errors.New("dataset has too many columns")
)

// MaxColumns is the most columns a dataset may have.
const MaxColumns = 10000

// DefaultRetention is a dataset's storage window unless set otherwise.
const DefaultRetention = 60 * 24 * time.Hour

// Store keeps events and answers queries over them. Implementations are safe
// for concurrent use.
type Store interface {
	// Write stores a batch durably: when it returns nil, the events survive a
	// crash of the process. Datasets and columns that do not exist yet are
	// created. A value whose type differs from its column's type is kept (see
	// docs/ARCHITECTURE.md, "Column types").
	Write(ctx context.Context, b event.Batch) error

	// CreateDataset creates a dataset if it does not exist; created reports
	// whether it did.
	CreateDataset(ctx context.Context, env event.EnvID, d DatasetInfo) (ds Dataset, created bool, err error)
	// Dataset returns one dataset by name or slug (case-insensitive).
	Dataset(ctx context.Context, env event.EnvID, name string) (Dataset, error)
	// Datasets lists the environment's datasets ordered by slug.
	Datasets(ctx context.Context, env event.EnvID) ([]Dataset, error)
	// UpdateDataset changes description and retention.
	UpdateDataset(ctx context.Context, env event.EnvID, slug string, d DatasetInfo) (Dataset, error)
	// DeleteDataset removes a dataset and all its events.
	DeleteDataset(ctx context.Context, env event.EnvID, slug string) error

	// Columns lists a dataset's columns ordered by name.
	Columns(ctx context.Context, env event.EnvID, dataset string) ([]Column, error)
	// UpdateColumn changes a column's description and hidden flag.
	UpdateColumn(ctx context.Context, env event.EnvID, dataset, column string, u ColumnUpdate) (Column, error)
	// CreateColumn creates a column in an existing dataset (ErrNotFound if
	// the dataset does not exist) before any event has it; created reports
	// whether it did. When a column of that name exists it is returned
	// unchanged with created false. A new column counts against MaxColumns
	// (ErrTooManyColumns). Type is the column's declared logical type: until
	// values arrive it is what Columns reports; values of other types are
	// still kept (see "Column types").
	CreateColumn(ctx context.Context, env event.EnvID, dataset string, c ColumnSpec) (col Column, created bool, err error)
	// DeleteColumn removes a column and its values from every event of the
	// dataset (ErrNotFound if the dataset or column does not exist). Events
	// written afterwards with that name create a new column with a new ID.
	DeleteColumn(ctx context.Context, env event.EnvID, dataset, column string) error

	// Execute runs a plan whose datasets belong to env.
	Execute(ctx context.Context, env event.EnvID, p *query.Plan) (*query.Result, error)

	// Trace returns every event of the environment whose trace.trace_id is
	// traceID, ordered by time, from every dataset.
	Trace(ctx context.Context, env event.EnvID, traceID string) ([]query.RawEvent, error)

	// EnforceRetention deletes events older than their dataset's retention as
	// of now and frees the disk they used.
	EnforceRetention(ctx context.Context, now time.Time) error

	// Close flushes and releases everything.
	Close() error
}

// DatasetInfo is the part of a dataset a user sets.
type DatasetInfo struct {
	Name        string
	Description string
	// Retention is the storage window; zero means DefaultRetention.
	Retention time.Duration
}

// Dataset describes a dataset.
type Dataset struct {
	Env         event.EnvID
	Slug        string
	Name        string
	Description string
	Retention   time.Duration
	CreatedAt   time.Time
	// LastWrittenAt is zero until the first event.
	LastWrittenAt time.Time
	Columns       int
}

// Column describes one column of a dataset.
type Column struct {
	// ID is stable for the column's life and unique within the environment.
	ID   string
	Name string
	// Type is the column's logical type: the first value's type, widened to
	// float when integers and floats mix and to string when a string mixes
	// with anything else.
	Type        event.Type
	Description string
	Hidden      bool
	CreatedAt   time.Time
	LastWritten time.Time
}

// ColumnSpec is a column a user creates ahead of its first value.
type ColumnSpec struct {
	Name string
	// Type is the declared logical type; the zero value means string.
	Type        event.Type
	Description string
	Hidden      bool
}

// ColumnUpdate is the part of a column a user sets.
type ColumnUpdate struct {
	Description *string
	Hidden      *bool
}
