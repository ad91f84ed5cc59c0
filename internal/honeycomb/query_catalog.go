package honeycomb

import (
	"context"
	"errors"
	"fmt"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
)

// NewQueryCatalog returns a query.Catalog that reads column metadata from s.
func NewQueryCatalog(s store.Store) query.Catalog { return storeCatalog{s} }

// storeCatalog adapts a store.Store to query.Catalog.
type storeCatalog struct{ s store.Store }

// Columns implements query.Catalog: the union of the datasets' columns, with
// types widened where datasets disagree.
func (c storeCatalog) Columns(ctx context.Context, env event.EnvID, datasets []string) (map[string]query.ColumnInfo, error) {
	var slugs []string
	if len(datasets) == 0 {
		all, err := c.s.Datasets(ctx, env)
		if err != nil {
			return nil, fmt.Errorf("list datasets: %w", err)
		}
		for _, d := range all {
			slugs = append(slugs, d.Slug)
		}
	}
	for _, name := range datasets {
		d, err := c.s.Dataset(ctx, env, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("dataset %q: %w", name, query.ErrUnknownDataset)
		}
		if err != nil {
			return nil, fmt.Errorf("dataset %q: %w", name, err)
		}
		slugs = append(slugs, d.Slug)
	}
	out := make(map[string]query.ColumnInfo)
	for _, slug := range slugs {
		cols, err := c.s.Columns(ctx, env, slug)
		if errors.Is(err, store.ErrNotFound) {
			// Deleted between listing and reading: it has no columns.
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("columns of %q: %w", slug, err)
		}
		for _, col := range cols {
			info, seen := out[col.Name]
			if seen {
				info.Type = event.Widen(info.Type, col.Type)
			} else {
				info.Type = col.Type
			}
			out[col.Name] = info
		}
	}
	return out, nil
}
