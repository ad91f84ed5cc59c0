// Package query is waggle's query engine. It parses and validates Honeycomb
// query specifications, lowers them to a Plan that any store executes, and
// shapes the store's Result into Honeycomb's query results. It knows nothing
// of any ingest protocol nor of any storage dialect.
//
// The flow is ParseSpec (structure), then Engine.Run, which checks the spec
// against the datasets' columns (Catalog), lowers it to one or two Plans
// (Executor), and shapes the results into an Output. Queries with no
// calculations and no breakdowns return raw events.
package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Engine runs query specifications against a store. It is safe for
// concurrent use.
type Engine struct {
	exec Executor
	cat  Catalog
	repo Repository
	log  *slog.Logger
	// derived supplies derived column definitions (derived.go); nil: none.
	derived DerivedSource
}

// EngineOption configures an Engine.
type EngineOption func(*Engine)

// WithRepository makes the engine keep saved queries in r instead of memory.
func WithRepository(r Repository) EngineOption { return func(e *Engine) { e.repo = r } }

// WithLogger sets the engine's logger.
func WithLogger(l *slog.Logger) EngineOption { return func(e *Engine) { e.log = l } }

// NewEngine returns an engine that validates specs against cat and runs plans
// on exec. Saved queries are kept in a MemoryRepository unless
// WithRepository says otherwise.
func NewEngine(exec Executor, cat Catalog, opts ...EngineOption) *Engine {
	e := &Engine{exec: exec, cat: cat}
	for _, o := range opts {
		o(e)
	}
	if e.repo == nil {
		e.repo = NewMemoryRepository()
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	return e
}

// Run runs spec over datasets (names, case-insensitive; none or "__all__"
// means every dataset of env). A spec that is wrong for these datasets
// yields a *Error; an unknown dataset an error wrapping ErrUnknownDataset.
func (e *Engine) Run(ctx context.Context, env event.EnvID, datasets []string, spec *Spec, opts Options) (*Output, error) {
	c, err := e.compile(ctx, env, datasets, spec, opts)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	main, total, err := e.executeAll(ctx, env, c)
	if err != nil {
		return nil, err
	}
	out := c.shape(main, total, !opts.DisableTotalByAggregate)
	e.log.DebugContext(ctx, "query run", "env", env, "datasets", datasets,
		"groups", len(out.Results), "series", len(out.Series), "events", len(out.Events),
		"took", time.Since(began))
	return out, nil
}

// Plan returns the main plan Run would execute for spec, without running
// it; useful to explain a query.
func (e *Engine) Plan(ctx context.Context, env event.EnvID, datasets []string, spec *Spec, opts Options) (*Plan, error) {
	c, err := e.compile(ctx, env, datasets, spec, opts)
	if err != nil {
		return nil, err
	}
	return c.plan, nil
}

// Check validates spec against the datasets' columns without running it.
func (e *Engine) Check(ctx context.Context, env event.EnvID, datasets []string, spec *Spec) error {
	_, err := e.compile(ctx, env, datasets, spec, Options{})
	return err
}

// compile resolves datasets, loads their columns and compiles spec.
func (e *Engine) compile(ctx context.Context, env event.EnvID, datasets []string, spec *Spec, opts Options) (*compiled, error) {
	if spec == nil {
		return nil, errorf("", "query spec is empty")
	}
	names, slugs, err := resolveDatasets(datasets)
	if err != nil {
		return nil, err
	}
	cols, err := e.cat.Columns(ctx, env, names)
	if err != nil {
		return nil, fmt.Errorf("load columns: %w", err)
	}
	if af, ok := e.exec.(AggregateFilterer); ok {
		opts.aggregateWhere = af.AggregateFilters()
	}
	if cols, err = e.withDerived(ctx, env, slugs, datasets, cols); err != nil {
		return nil, err
	}
	c, err := compile(spec, cols, slugs, opts)
	if err != nil {
		return nil, err
	}
	attachDerived(c, cols)
	return c, nil
}

// TotalExecutor is optionally implemented by an Executor that computes a
// plan and its total plan together, cheaper than two Execute calls (one scan
// computing the groups and the total). total is the plan without
// breakdowns, havings and orders, with limit 1; the results must be those
// Execute returns for each.
type TotalExecutor interface {
	ExecuteWithTotal(ctx context.Context, env event.EnvID, main, total *Plan) (*Result, *Result, error)
}

// executeAll runs c's plan and its total plan (when it has one); the total
// result is nil without a total plan.
func (e *Engine) executeAll(ctx context.Context, env event.EnvID, c *compiled) (main, total *Result, err error) {
	if c.total != nil {
		if te, ok := e.exec.(TotalExecutor); ok {
			main, total, err = te.ExecuteWithTotal(ctx, env, c.plan, c.total)
			if err != nil {
				return nil, nil, fmt.Errorf("execute query: %w", err)
			}
			if main == nil {
				main = &Result{}
			}
			if total == nil {
				total = &Result{}
			}
			return main, total, nil
		}
	}
	if main, err = e.execute(ctx, env, c.plan); err != nil {
		return nil, nil, err
	}
	if c.total != nil {
		if total, err = e.execute(ctx, env, c.total); err != nil {
			return nil, nil, err
		}
	}
	return main, total, nil
}

// execute runs one plan, never returning a nil result without an error.
func (e *Engine) execute(ctx context.Context, env event.EnvID, p *Plan) (*Result, error) {
	r, err := e.exec.Execute(ctx, env, p)
	if err != nil {
		return nil, fmt.Errorf("execute query: %w", err)
	}
	if r == nil {
		r = &Result{}
	}
	return r, nil
}

// resolveDatasets drops "__all__" (every dataset) and computes slugs.
func resolveDatasets(datasets []string) (names, slugs []string, err error) {
	for _, d := range datasets {
		if d == event.AllDatasets {
			return nil, nil, nil
		}
		s, err := event.Slug(d)
		if err != nil {
			return nil, nil, fmt.Errorf("dataset %q: %w", truncate(d), ErrUnknownDataset)
		}
		names = append(names, d)
		slugs = append(slugs, s)
	}
	return names, slugs, nil
}

// Save validates spec against dataset's columns and keeps it as an immutable
// query whose ID derives from its canonical form. dataset may be "__all__".
func (e *Engine) Save(ctx context.Context, env event.EnvID, dataset string, spec *Spec) (SavedQuery, error) {
	key, err := datasetKey(dataset)
	if err != nil {
		return SavedQuery{}, err
	}
	if err := e.Check(ctx, env, []string{dataset}, spec); err != nil {
		return SavedQuery{}, err
	}
	canon, err := spec.Canonical()
	if err != nil {
		return SavedQuery{}, err
	}
	id, err := spec.ID()
	if err != nil {
		return SavedQuery{}, err
	}
	q, err := e.repo.SaveQuery(ctx, env, SavedQuery{ID: id, Dataset: key, Spec: canon, CreatedAt: time.Now().UTC()})
	if err != nil {
		return SavedQuery{}, fmt.Errorf("save query: %w", err)
	}
	return q, nil
}

// Saved returns a query saved for dataset (name or slug, or "__all__").
func (e *Engine) Saved(ctx context.Context, env event.EnvID, dataset, id string) (SavedQuery, error) {
	key, err := datasetKey(dataset)
	if err != nil {
		return SavedQuery{}, err
	}
	q, err := e.repo.LoadQuery(ctx, env, key, id)
	if err != nil {
		if errors.Is(err, ErrQueryNotFound) {
			return SavedQuery{}, err
		}
		return SavedQuery{}, fmt.Errorf("load query: %w", err)
	}
	return q, nil
}

// datasetKey is the slug a saved query is kept under.
func datasetKey(dataset string) (string, error) {
	if dataset == event.AllDatasets {
		return dataset, nil
	}
	s, err := event.Slug(dataset)
	if err != nil {
		return "", fmt.Errorf("dataset %q: %w", truncate(dataset), ErrUnknownDataset)
	}
	return s, nil
}

// CheckDatasets reports whether every named dataset exists in env: nil, or
// an error wrapping ErrUnknownDataset.
func (e *Engine) CheckDatasets(ctx context.Context, env event.EnvID, datasets []string) error {
	names, _, err := resolveDatasets(datasets)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	if _, err := e.cat.Columns(ctx, env, names); err != nil {
		return fmt.Errorf("load columns: %w", err)
	}
	return nil
}
